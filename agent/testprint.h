/*
 * testprint.h: the "test-print" command: a small text/plain page by IPP
 * Print-Job (libcups) for IPP printers, a short ESC/POS ticket for raw 9100
 * printers. Blocking, bounded by a timeout; called from the sync loop.
 */
#ifndef PM_TESTPRINT_H
#define PM_TESTPRINT_H

#include <stddef.h>
#include <jansson.h>

/*
 * Print a test page on `printer` (PrinterData as the agent discovered it:
 * uri, protocol, address, port, name). `origin` names the sender on the page.
 * Returns 0 and a message for people ("IPP job 12 accepted"), or -1 and the
 * reason in msg.
 */
int testprint_send(const json_t *printer, const char *origin, long timeout_ms, char *msg,
    size_t msglen);

/* Pure: the ESC/POS ticket bytes into buf (up to len). Returns the length. */
size_t testprint_escpos_ticket(const char *name, const char *origin, char *buf, size_t len);

#endif
