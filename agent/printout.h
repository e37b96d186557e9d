/*
 * printout.h: putting bytes on paper. Raw: a TCP connection to the printer's
 * address and port (port 9100 ESC/POS, ZPL...); IPP: Print-Job through
 * libcups; a CUPS queue: a job through libcups. Blocking, bounded by a
 * timeout; the test page (testprint.c) and print jobs (jobs.c) use them.
 */
#ifndef PM_PRINTOUT_H
#define PM_PRINTOUT_H

#include <stddef.h>

/* Each returns 0 and a message for people (msg), or -1 and the reason. */
int printout_raw(const char *host, long port, const void *data, size_t len,
    long timeout_ms, char *msg, size_t msglen);
/* `format` a MIME type ("text/plain", "application/pdf"); `copies` >= 1. */
int printout_ipp(const char *uri, const char *title, const char *format,
    const void *data, size_t len, int copies, long timeout_ms, char *msg, size_t msglen);
int printout_cups(const char *queue, const char *title, const char *format,
    const void *data, size_t len, int copies, char *msg, size_t msglen);

#endif
