/*
 * auth_cache.h: credentials checked recently, so a request costs no database
 * round trip to be authenticated. Entries live AUTH_CACHE_TTL_MS at most and
 * are dropped at once when a credential changes: every instance LISTENs for
 * the revocation notices (store_tenants.h, STORE_AUTH_CHANNEL) and calls
 * auth_cache_invalidate. Any thread; one mutex.
 */
#ifndef PM_AUTH_CACHE_H
#define PM_AUTH_CACHE_H

#include "server/auth.h"

#define AUTH_CACHE_TTL_MS 10000
#define AUTH_CACHE_KEY_MAX 96

/* A cached credential for key (not a secret: a hash, or a user id and token
 * version). 1 hit (*out filled), 0 miss. */
int auth_cache_get(const char *key, long long now_ms, struct auth *out);
/* Remember a credential just checked against the database. */
void auth_cache_put(const char *key, long long now_ms, const struct auth *a);
/* Pure: 1 when the change `what` ("user:<id>", ..., see below) affects the
 * credential a, 0 when not. A kind it does not know affects everything. */
int auth_cache_covers(const struct auth *a, const char *what);

/*
 * A credential changed: `what` is "user:<id>", "agent:<id>", "company:<id>" or
 * "branch:<id>"; every entry it covers is dropped. NULL drops everything (the
 * notices may have been missed). Returns the number of entries dropped.
 */
int auth_cache_invalidate(const char *what);

#endif
