/*
 * discover_source.h: what the discovery sources share inside one pass. Each
 * source appends raw PrinterData-like items to the pass (discover_add) and may
 * hand IPP endpoints on to the ipp source (discover_add_ipp_target); the
 * driver in discover.c runs them in order and merges the items by identity.
 */
#ifndef PM_DISCOVER_SOURCE_H
#define PM_DISCOVER_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "agent/agent_config.h"

#define DISCOVER_MAX_ITEMS 1024		/* raw items in one pass, all sources */
#define DISCOVER_MAX_IPP_TARGETS 64	/* IPP endpoints queried in one pass */
#define DISCOVER_MAX_ALIASES 8		/* host:port aliases on one raw item */

enum discover_src {
	DISCOVER_SRC_CUPS = 1 << 0,
	DISCOVER_SRC_IPP = 1 << 1,
	DISCOVER_SRC_DNSSD = 1 << 2,
	DISCOVER_SRC_NETSCAN = 1 << 3,
	DISCOVER_SRC_USB = 1 << 4,
};

/* One pass. Sources run one after another on the calling thread. */
struct discover_ctx {
	const struct agent_config *cfg;
	unsigned sources;		/* DISCOVER_SRC_* bits */
	json_t *items;			/* raw items; see discover_add */
	json_t *ipp_targets;		/* [{"uri": "ipp://...", "via": "dnssd"}] */
	int64_t deadline_ms;		/* monotonic ms when the pass must end */
	char hostname[256];		/* this agent's host name, for local keys */
};

/* What is left before the pass's deadline (>= 0 ms); the deadline is on
 * clock_ms() (common/clock.h). */
long discover_remaining_ms(const struct discover_ctx *ctx);

/*
 * Add one raw item found by `source` (steals the reference). A raw item holds
 * PrinterData fields; it may carry "_aliases": ["host:port", ...], other
 * endpoints of the same device used only by the merge. Returns 0, or -1 when
 * the pass already holds DISCOVER_MAX_ITEMS (the item is dropped and freed).
 */
int discover_add(struct discover_ctx *ctx, json_t *item, const char *source);

/* Queue an ipp:// or ipps:// URI for the ipp source; duplicates are ignored. */
int discover_add_ipp_target(struct discover_ctx *ctx, const char *uri, const char *via);

/* Append "host:port" (host lower-cased) to the item's "_aliases". */
void discover_add_alias(json_t *item, const char *host, int port);

/* Append "svc:<instance>" (lower-cased): a DNS-SD service instance name, the
 * identity CUPS's dnssd:// URIs and the dnssd source share. */
void discover_add_svc_alias(json_t *item, const char *instance);

/*
 * Copy at most `len` bytes of untrusted text into out (size outlen) as
 * printable UTF-8: control characters dropped, invalid UTF-8 bytes become
 * '?', white space trimmed. Returns the length written.
 */
size_t discover_clean_text(const char *in, size_t len, char *out, size_t outlen);

/* The sources. Each returns 0, or -1 after logging one line saying why. */
int discover_cups(struct discover_ctx *ctx);
/* Pure: a queue's printer-state-reasons option (IPP keywords joined by commas)
 * as a new array of cleaned keywords, "none" and empty ones left out, at most
 * PRINTER_REASONS_MAX. NULL on allocation failure. */
json_t *discover_cups_reasons(const char *list);
int discover_ipp(struct discover_ctx *ctx);
int discover_dnssd(struct discover_ctx *ctx);
int discover_netscan(struct discover_ctx *ctx);
int discover_usb(struct discover_ctx *ctx);

#endif
