/*
 * discover.h: one discovery pass over the configured sources (cups, ipp,
 * dnssd, netscan, usb), merged by device identity (DESIGN 2.2). Used by
 * `printmaster-agent discover` and by the sync loop.
 */
#ifndef PM_DISCOVER_H
#define PM_DISCOVER_H

#include <jansson.h>

#include "agent/agent_config.h"

/*
 * Run every configured source once (a failing source logs one line and the
 * others go on) and return a new JSON array of printers in the bulk API's
 * PrinterData form, each normalised by printer_normalize() and carrying its
 * deviceKey and "sources" (the methods that saw it), merged so one device is
 * one entry. `sources` overrides cfg->sources when not NULL. Never NULL except
 * on allocation failure. Caller owns the result.
 */
json_t *discover_run(const struct agent_config *cfg, const char *sources);

/*
 * Fold raw items (PrinterData-like objects, each with "sources" and optional
 * "_aliases": ["host:port"]) into one normalised entry per device: two items
 * are one device when the strongest identity both carry agrees (uuid,
 * manufacturer + serial, MAC, a shared host:port, then an agent-local
 * deviceKey); a disagreeing stronger identity keeps them apart. Items are
 * taken in source order ipp, dnssd, cups, usb, netscan, and the first to
 * give a field keeps it. Pure; returns a new array (NULL only on allocation
 * failure); items that fail printer_normalize() are logged and dropped.
 */
json_t *discover_merge(const json_t *raw);

/*
 * Parse a comma list of source names into DISCOVER_SRC_* bits. Returns 0, or
 * -1 with the bad name in err.
 */
int discover_parse_sources(const char *list, unsigned *bits, char *err, size_t errlen);

/*
 * `printmaster-agent discover [--json] [--sources LIST] [--timeout S]`:
 * argv[0] is "discover". Prints a table (or the JSON array) on stdout and
 * returns the process exit code (0, or 2 on a usage error).
 */
int discover_main(const struct agent_config *cfg, int argc, char **argv);

#endif
