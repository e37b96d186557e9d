/*
 * ratelimit.h: fixed-window attempt counters in a bounded in-memory table,
 * guarded by a mutex (any thread). Keys are hashed on entry, so the table never
 * holds an address or an email in clear.
 */
#ifndef PM_RATELIMIT_H
#define PM_RATELIMIT_H

struct ratelimit;

/* `slots` entries at most; `limit` attempts per `window` seconds per key.
 * NULL on allocation failure. Free with ratelimit_free (NULL is a no-op). */
struct ratelimit *ratelimit_new(int slots, long limit, long window);
void ratelimit_free(struct ratelimit *rl);

/*
 * Count one attempt for key at time now (seconds, monotonic). Returns 0 when
 * allowed, or the seconds until the key's window ends (>= 1) when the key has
 * used up its limit; a refused attempt is not counted.
 */
long ratelimit_take(struct ratelimit *rl, const char *key, long long now);
/* Give back one attempt taken by ratelimit_take (a login that succeeded). */
void ratelimit_refund(struct ratelimit *rl, const char *key, long long now);

#endif
