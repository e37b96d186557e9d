/*
 * store_credentials.h: the statements that check a credential against the
 * database: an agent key by its hash, a session's user at its token version,
 * a company-wide credential's branch; all require that nothing on the way
 * (agent, user, branch, company) is revoked. auth.c caches what they answer.
 */
#ifndef PM_STORE_CREDENTIALS_H
#define PM_STORE_CREDENTIALS_H

#include <libpq-fe.h>

#include "server/auth.h"

/* 1 found (*out filled, kind AUTH_AGENT), 0 unknown or revoked, -1 error.
 * `hash` is the bytea text form (auth_key_hash). Refreshes the agent's
 * last_seen when it is older than a minute, in the same statement. */
int store_credentials_agent(PGconn *c, const char *hash, struct auth *out);
/* 1 found (*out filled, kind AUTH_USER), 0 unknown, revoked or another token
 * version, -1 error. */
int store_credentials_user(PGconn *c, const char *user_id, long long version,
    struct auth *out);
/* 1 when branch is a live branch of a live company, 0 not, -1 error. */
int store_credentials_branch_live(PGconn *c, const char *company_id, const char *branch_id);
/* The same as a pipelined pair (the bulk checks it in its first round trip). */
int store_credentials_branch_live_send(PGconn *c, const char *company_id,
    const char *branch_id);
int store_credentials_branch_live_recv(PGconn *c);

/* 1 when every one of the n branch ids is a branch of the company, 0 not,
 * -1 error (a websocket subscribe's rooms). */
int store_credentials_branches_in(PGconn *c, const char *company_id,
    const char *const *branch_ids, int n);

#endif
