/*
 * escpos.h: the one ESC/POS exchange the agent may have with a raw printer
 * port, and only when escpos_status lists it: DLE EOT 1 (printer status) and
 * DLE EOT 4 (paper roll sensor), sent together on a short connection of its
 * own. The parser is pure.
 */
#ifndef PM_ESCPOS_H
#define PM_ESCPOS_H

#include <stddef.h>

#define ESCPOS_REASONS_MAX 4

struct escpos_status {
	const char *status;			/* "online", "offline", "error", "unknown" */
	const char *reasons[ESCPOS_REASONS_MAX];	/* IPP-style state reasons */
	int nreasons;
};

/*
 * Interpret the reply bytes: buf[0] answers DLE EOT 1, buf[1] (when len > 1)
 * DLE EOT 4. A byte without ESC/POS's fixed bits (bit 1 and 4 set, bits 0 and
 * 7 clear) is not a status reply. Returns 0, or -1 when buf[0] is not one
 * (out then says "unknown").
 */
int escpos_parse_status(const unsigned char *buf, size_t len, struct escpos_status *out);

/*
 * Send the status query to host:port (numeric IPv4) and parse the reply,
 * waiting at most timeout_ms in all. Returns 0, or -1 (out says "unknown").
 */
int escpos_query(const char *host, int port, long timeout_ms, struct escpos_status *out);

#endif
