/*
 * backoff.h: retry delays for the sync client. Exponential growth from a base
 * delay with a cap, and "full jitter" (a uniform draw between 0 and the
 * current ceiling) so many agents recovering from one outage do not retry in
 * lock step. Also the Retry-After header of a 429 or 503 reply.
 */
#ifndef PM_BACKOFF_H
#define PM_BACKOFF_H

#include <time.h>

#define BACKOFF_RETRY_AFTER_MAX_MS (3600L * 1000L)	/* a server asking for more is capped */

struct backoff {
	long base_ms;		/* retry_delay_ms: ceiling of the first retry */
	long multiplier;	/* backoff_multiplier, >= 1 */
	long max_ms;		/* max_retry_delay_ms: cap of every ceiling */
};

/*
 * Ceiling of the delay before retry number `attempt` (0 = first retry):
 * min(max_ms, base_ms * multiplier^attempt), computed without overflow.
 * Never below 0; a negative attempt counts as 0. Pure.
 */
long backoff_ceiling_ms(const struct backoff *b, int attempt);

/* A delay drawn uniformly from [0, backoff_ceiling_ms()] with libsodium's
 * randombytes_uniform (sodium_init must have run). */
long backoff_delay_ms(const struct backoff *b, int attempt);

/*
 * Parse a Retry-After header value: delta-seconds or an HTTP-date (relative to
 * `now`). Returns milliseconds to wait (0 for a date in the past, capped at
 * BACKOFF_RETRY_AFTER_MAX_MS), or -1 when the value is absent or not valid.
 */
long backoff_retry_after_ms(const char *value, time_t now);

#endif
