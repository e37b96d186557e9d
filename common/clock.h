/*
 * clock.h: the monotonic clock every timeout, deadline and duration uses, and
 * the one wall-clock text form (UTC ISO 8601) the JSON we write carries.
 */
#ifndef PM_CLOCK_H
#define PM_CLOCK_H

#include <time.h>

#define CLOCK_ISO_LEN 21	/* "2026-11-28T12:00:00Z" + NUL */
#define CLOCK_ISO_MS_LEN 25	/* "2026-11-28T12:00:00.000Z" + NUL */

/* Milliseconds on the monotonic clock (not wall time); any thread. */
long long clock_ms(void);
/* The same with sub-millisecond precision, for measuring durations. */
double clock_ms_precise(void);
/* t as "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
void clock_iso8601(time_t t, char out[CLOCK_ISO_LEN]);
/* t plus ms (0-999) milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC): the
 * form of log lines and of event envelopes (the database writes the same). */
void clock_iso8601_ms(time_t t, int ms, char out[CLOCK_ISO_MS_LEN]);

#endif
