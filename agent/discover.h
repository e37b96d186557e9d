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

#endif
