/*
 * testprint.c: test pages (see testprint.h), sent with printout.c: IPP through
 * libcups; the raw path writes a few ESC/POS bytes to the printer's socket,
 * which is only done because a person asked for a test print. Not here:
 * receiving the command (ws_client.c), sending bytes (printout.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "log.h"
#include "agent/printout.h"
#include "agent/testprint.h"

/* Printable ASCII only: a receipt printer's code page is unknown. */
static void
testprint_ascii(const char *in, char *out, size_t len)
{
	size_t i = 0;

	for (; in && *in && i + 1 < len; in++)
		out[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[i] = '\0';
}

size_t
testprint_escpos_ticket(const char *name, const char *origin, char *buf, size_t len)
{
	char when[CLOCK_ISO_LEN], n[64], o[64];
	int w;

	clock_iso8601(time(NULL), when);
	testprint_ascii(name, n, sizeof(n));
	testprint_ascii(origin, o, sizeof(o));
	/* ESC @ (reset), ESC a 1 (centre), ESC E 1/0 (bold), text, ESC d 4 (feed),
	 * GS V 66 0 (feed and partial cut). */
	w = snprintf(buf, len, "\x1b@\x1b" "a\x01\x1b" "E\x01printmaster test print\n"
	    "\x1b" "E%c%s\n%s\nfrom %s\n\x1b" "d\x04\x1dV%c%c", 0, n, when, o, 66, 0);
	if (w < 0)
		return 0;
	/* snprintf stops at the embedded NULs in the format only for %s, not
	 * for %c, so the length it reports is the ticket's length. */
	return (size_t)w < len ? (size_t)w : len - 1;
}

static int
testprint_raw(const char *host, long port, const char *name, const char *origin,
    long timeout_ms, char *msg, size_t msglen)
{
	char ticket[512];
	size_t len = testprint_escpos_ticket(name, origin, ticket, sizeof(ticket));

	if (printout_raw(host, port, ticket, len, timeout_ms, msg, msglen) < 0)
		return -1;
	snprintf(msg, msglen, "ESC/POS test ticket sent to %s:%ld (%zu bytes)", host, port, len);
	return 0;
}

static int
testprint_ipp(const char *uri, const char *name, const char *origin, long timeout_ms,
    char *msg, size_t msglen)
{
	char when[CLOCK_ISO_LEN], page[1024];
	int plen;

	clock_iso8601(time(NULL), when);
	plen = snprintf(page, sizeof(page), "printmaster test print\n\nPrinter: %s\nTime: %s\n"
	    "From: %s\n", name ? name : "", when, origin);
	if (plen < 0 || (size_t)plen >= sizeof(page))
		plen = (int)strlen(page);
	return printout_ipp(uri, "printmaster test print", "text/plain", page, (size_t)plen, 1,
	    timeout_ms, msg, msglen);
}

int
testprint_send(const json_t *printer, const char *origin, long timeout_ms, char *msg,
    size_t msglen)
{
	const char *uri = json_string_value(json_object_get(printer, "uri"));
	const char *proto = json_string_value(json_object_get(printer, "protocol"));
	const char *addr = json_string_value(json_object_get(printer, "address"));
	const char *name = json_string_value(json_object_get(printer, "name"));
	long port = (long)json_integer_value(json_object_get(printer, "port"));
	char built[512];

	if (uri && (strncmp(uri, "ipp://", 6) == 0 || strncmp(uri, "ipps://", 7) == 0))
		return testprint_ipp(uri, name, origin, timeout_ms, msg, msglen);
	if (proto && (strcmp(proto, "ipp") == 0 || strcmp(proto, "ipps") == 0) && addr) {
		snprintf(built, sizeof(built), "%s://%s:%ld/ipp/print", proto, addr,
		    port > 0 ? port : 631);
		return testprint_ipp(built, name, origin, timeout_ms, msg, msglen);
	}
	if (addr && port > 0 && (proto == NULL || strcmp(proto, "raw") == 0))
		return testprint_raw(addr, port, name, origin, timeout_ms, msg, msglen);
	snprintf(msg, msglen, "test print is supported for IPP and raw (port 9100) printers");
	return -1;
}
