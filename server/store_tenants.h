/*
 * store_tenants.h: the SQL of companies, branches and users (the admin CLI,
 * login, logout, the branch list). Each function runs named statements
 * prepared once per connection (db_run) on the caller's connection, from the
 * thread that owns it. Ids are canonical UUID text; NULL means "no filter"
 * where a parameter says "or NULL".
 */
#ifndef PM_STORE_TENANTS_H
#define PM_STORE_TENANTS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

/*
 * Every statement that revokes or invalidates a credential announces it on
 * this channel in the same statement, with the payload "<kind>:<uuid>", kind
 * one of user, agent, company, branch; every instance LISTENs and drops what
 * it cached for it.
 */
#define STORE_AUTH_CHANNEL "printmaster_auth"

#define STORE_ID_LEN 36			/* a UUID in text */
#define STORE_TENANTS_DUPLICATE (-2)	/* user_create: that email is taken */

/*
 * Creation. Each returns 1 and writes the new id to `id` when the row was
 * made, 0 when it was not because the company (or branch) it belongs to is
 * unknown or revoked, -1 on a database failure (logged).
 * user_create: `branch` or NULL for a company-wide user; `role` "admin" or
 * "viewer"; `password_hash` a crypto_pwhash_str string. STORE_TENANTS_DUPLICATE
 * when another user has the email (compared without case) and the company and
 * branch are fine.
 */
int store_tenants_company_create(PGconn *c, const char *name, char id[STORE_ID_LEN + 1]);
int store_tenants_branch_create(PGconn *c, const char *company, const char *name,
    char id[STORE_ID_LEN + 1]);
int store_tenants_user_create(PGconn *c, const char *company, const char *branch,
    const char *email, const char *role, const char *password_hash,
    char id[STORE_ID_LEN + 1]);

/*
 * Lists for the admin CLI, oldest first: rows of four text columns, id,
 * name (email for users), scope ("-", "company:<id>", "<role> company:<id>" or
 * "<role> branch:<id>") and state ("active" or "revoked"). `company`, `branch`
 * filter, each or NULL. NULL on failure. Caller PQclear()s.
 */
PGresult *store_tenants_company_list(PGconn *c, const char *company);
PGresult *store_tenants_branch_list(PGconn *c, const char *company, const char *branch);
PGresult *store_tenants_user_list(PGconn *c, const char *company, const char *branch);

/*
 * Revocation: 1 when the row was active and is revoked now (and announced
 * on STORE_AUTH_CHANNEL), 0 when there is no active row with that id, -1 on
 * failure. A company or branch ends every credential bound to it; a user's
 * token version is bumped too, so its sessions stay dead even if revoked_at
 * is ever cleared by hand. _exists: 1, 0 or -1, revoked or not.
 */
int store_tenants_company_revoke(PGconn *c, const char *id);
int store_tenants_branch_revoke(PGconn *c, const char *id);
int store_tenants_user_revoke(PGconn *c, const char *id);
int store_tenants_company_exists(PGconn *c, const char *id);
int store_tenants_branch_exists(PGconn *c, const char *id);
int store_tenants_user_exists(PGconn *c, const char *id);

/* A user as login needs it. */
struct store_tenants_login {
	char id[STORE_ID_LEN + 1];
	char company_id[STORE_ID_LEN + 1];
	char branch_id[STORE_ID_LEN + 1];	/* "" = company-wide */
	char email[256];
	int admin;				/* role admin, else viewer */
	char password_hash[crypto_pwhash_STRBYTES];
	long long token_version;
};

/*
 * The active user (user, company and branch not revoked) whose email is
 * `email`, without case. 1 found (*out filled; the caller sodium_memzero()s
 * the hash when done), 0 none, -1 on failure.
 */
int store_tenants_user_find_login(PGconn *c, const char *email,
    struct store_tenants_login *out);

/* Logout of every session: bump the token version of user `id` of `company`
 * and announce it. 0 (also when no such user) or -1. */
int store_tenants_user_logout_all(PGconn *c, const char *id, const char *company);

/* The active branches of `company` (only `branch` when not NULL), by name:
 * a new array of {"id","name"}; NULL on failure. Caller json_decref()s. */
json_t *store_tenants_branches(PGconn *c, const char *company, const char *branch);

#endif
