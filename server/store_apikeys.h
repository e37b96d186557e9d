/*
 * store_apikeys.h: the SQL of integration keys (pmi_): the admin CLI's
 * create/list/revoke and the credential lookup by the key's hash. A key
 * belongs to a company and optionally one branch; revocation is announced on
 * STORE_AUTH_CHANNEL as "apikey:<id>" so every instance drops what it cached.
 */
#ifndef PM_STORE_APIKEYS_H
#define PM_STORE_APIKEYS_H

#include <libpq-fe.h>

#include "server/http.h"
#include "server/store_tenants.h"

/* A key of the active `company` (and of its active `branch`, or NULL for a
 * company-wide key) with the key's stored hash. 1 and the id in `id`, 0 when
 * there is no such active company (or branch of it), -1 on failure. */
int store_apikeys_create(PGconn *c, const char *company, const char *branch,
    const char *name, const char *key_hash, char id[STORE_ID_LEN + 1]);
/* Rows of id, name, scope ("company:<id>" or "branch:<id>"), state; filters
 * or NULL. NULL on failure; caller PQclear()s. */
PGresult *store_apikeys_list_rows(PGconn *c, const char *company, const char *branch);
/* 1 revoked now, 0 no active key with that id, -1. */
int store_apikeys_revoke(PGconn *c, const char *id);
/* 1, 0 or -1, revoked or not. */
int store_apikeys_exists(PGconn *c, const char *id);

/* 1 found (*out filled, kind AUTH_INTEGRATION), 0 unknown or revoked (or its
 * company or branch is), -1 error. `hash` as auth_key_hash writes it. */
int store_apikeys_credential(PGconn *c, const char *hash, struct auth *out);

#endif
