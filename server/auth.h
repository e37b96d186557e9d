/*
 * auth.h: credentials. The credential types every part of the server shares
 * (struct auth: who is asking, for the REST side, the gateway, presence, the
 * listener and the admin CLI alike); the HTTP authenticator (agent keys and
 * session tokens from "Authorization: Bearer" or the pm_session cookie), the
 * role checks the handlers call, the session signing key, agent keys and
 * password hashing. Not here: tenant resolution (scope.h), the credential
 * cache (auth_cache.h), SQL (store_credentials.h).
 */
#ifndef PM_AUTH_H
#define PM_AUTH_H

#include <stddef.h>
#include <sodium.h>

#include "common/uuid.h"
#include "server/config.h"

enum auth_kind {
	AUTH_NONE = 0,
	AUTH_AGENT,
	AUTH_USER,
	AUTH_INTEGRATION,	/* a pmi_ integration key */
};

enum auth_role {
	ROLE_NONE = 0,
	ROLE_VIEWER,
	ROLE_ADMIN,
	ROLE_AGENT,
	ROLE_INTEGRATION,
};

/* Who is asking: filled by the HTTP authenticator before a handler runs, and
 * by auth_from_token for a websocket. */
struct auth {
	enum auth_kind kind;
	enum auth_role role;
	char company_id[UUID_TEXT_LEN + 1];
	char branch_id[UUID_TEXT_LEN + 1];	/* "" = every branch of the company */
	char principal_id[UUID_TEXT_LEN + 1];	/* agent, user or integration key id */
	char email[256];			/* users only */
	long long expires;			/* session's end, Unix seconds; 0 = none */
};

struct http_req;

#define AUTH_COOKIE "pm_session"
#define AUTH_KEY_PREFIX "pmk_"
#define AUTH_INTEGRATION_PREFIX "pmi_"	/* integration keys: same length and hash */
#define AUTH_KEY_LEN 47			/* "pmk_" + base64url(32 random bytes) */
#define AUTH_KEY_HASH_LEN 66		/* "\\x" + hex BLAKE2b-256: a bytea parameter */
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 1024

/* Role masks for auth_require_role. */
#define AUTH_ALLOW_VIEWER (1 << ROLE_VIEWER)
#define AUTH_ALLOW_ADMIN (1 << ROLE_ADMIN)
#define AUTH_ALLOW_AGENT (1 << ROLE_AGENT)
#define AUTH_ALLOW_INTEGRATION (1 << ROLE_INTEGRATION)
#define AUTH_ALLOW_USERS (AUTH_ALLOW_VIEWER | AUTH_ALLOW_ADMIN)

/*
 * Load the session signing key (config session_secret, else data_dir/session.key,
 * generated with mode 0600 on first start) and prepare the dummy password hash.
 * Main thread, after sodium_init, before http_start. 0 or -1 (logged).
 */
int auth_init(const struct server_config *cfg);
/* Wipe the key. After the HTTP side has stopped. */
void auth_shutdown(void);

/* The http_authenticator installed by main (MHD worker threads). */
int auth_http(struct http_req *r, int *answered);

/*
 * Authenticate a bare token (a session token or a pmk_ key) into *out, using
 * the calling thread's db_conn(); for the /ws gateway, any thread. Integration
 * keys (pmi_) are REST-only: refused here.
 * 0 ok; -1 invalid, expired, revoked, or the database unreachable.
 */
int auth_from_token(const char *token, struct auth *out);

/*
 * Allow the request only when its credential's role is in roles_mask
 * (AUTH_ALLOW_*). Returns 0 when allowed; otherwise queues 401 (no credential)
 * or 403 (wrong role), stores the reply's result in *rc and returns -1.
 */
int auth_require_role(struct http_req *r, int roles_mask, int *rc);

/* Sign a session token for a user credential (kind AUTH_USER) at token
 * version `version`, valid for the configured session_ttl. Writes the token
 * and its expiry (Unix seconds). 0 or -1. */
int auth_session_issue(const struct auth *a, long long version, char *token,
    size_t len, long long *expires);
long auth_session_ttl(void);

/* A new key (prefix AUTH_KEY_PREFIX for agents, AUTH_INTEGRATION_PREFIX for
 * integrations) and its stored hash. 0 or -1. */
int auth_key_new(const char *prefix, char key[AUTH_KEY_LEN + 1],
    char hash[AUTH_KEY_HASH_LEN + 1]);
/* The stored form of a key of either kind; -1 when key is not shaped like one. */
int auth_key_hash(const char *key, char hash[AUTH_KEY_HASH_LEN + 1]);

/* Argon2id (interactive limits). 0 or -1 (out of memory). */
int auth_password_hash(const char *password, char out[crypto_pwhash_STRBYTES]);
/* 0 when password matches hash. With hash NULL a dummy hash is checked, so
 * an unknown user costs the same time as a wrong password; returns -1. */
int auth_password_verify(const char *hash, const char *password);

#endif
