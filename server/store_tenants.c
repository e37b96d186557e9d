/*
 * store_tenants.c: every SQL statement on companies, branches and users. Each
 * is a named statement prepared once per connection; the revoking ones send
 * their pg_notify on STORE_AUTH_CHANNEL in the same statement, so the
 * announcement goes out exactly when the revocation commits. Not here: HTTP or
 * the CLI (api_auth.c, admin.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"
#include "server/store_tenants.h"

static const struct db_stmt st_company_create = { "tenants_company_create",
	"INSERT INTO companies (name) VALUES ($1) RETURNING id", 1 };

static const struct db_stmt st_branch_create = { "tenants_branch_create",
	"INSERT INTO branches (company_id, name) "
	"SELECT id, $2 FROM companies WHERE id = $1 AND revoked_at IS NULL RETURNING id", 2 };

/*
 * Only into an active company (and branch of it): the row would be dead. One
 * row back: the new id (NULL when not made) and whether the company and
 * branch were fine, which tells "email taken" from "no such company".
 */
static const struct db_stmt st_user_create = { "tenants_user_create",
	"WITH src AS (SELECT co.id FROM companies co WHERE co.id = $1 "
	"  AND co.revoked_at IS NULL AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM "
	"  branches b WHERE b.id = $2 AND b.company_id = co.id AND b.revoked_at IS NULL))), "
	"ins AS (INSERT INTO users (company_id, branch_id, email, role, password_hash) "
	"  SELECT id, $2, $3, $4, $5 FROM src "
	"  ON CONFLICT ((lower(email))) DO NOTHING RETURNING id) "
	"SELECT (SELECT id FROM ins), EXISTS (SELECT 1 FROM src)", 5 };

static const struct db_stmt st_company_list = { "tenants_company_list",
	"SELECT id, name, '-', CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END "
	"FROM companies WHERE ($1::uuid IS NULL OR id = $1) ORDER BY created_at, id", 1 };

static const struct db_stmt st_branch_list = { "tenants_branch_list",
	"SELECT id, name, 'company:' || company_id, CASE WHEN revoked_at IS NULL THEN "
	"'active' ELSE 'revoked' END FROM branches WHERE ($1::uuid IS NULL OR "
	"company_id = $1) AND ($2::uuid IS NULL OR id = $2) ORDER BY company_id, created_at, id",
	2 };

static const struct db_stmt st_user_list = { "tenants_user_list",
	"SELECT id, email, role || CASE WHEN branch_id IS NULL THEN ' company:' || company_id "
	"ELSE ' branch:' || branch_id END, CASE WHEN revoked_at IS NULL THEN 'active' ELSE "
	"'revoked' END FROM users WHERE ($1::uuid IS NULL OR company_id = $1) AND "
	"($2::uuid IS NULL OR branch_id = $2) ORDER BY company_id, created_at, id", 2 };

static const struct db_stmt st_company_revoke = { "tenants_company_revoke",
	"WITH r AS (UPDATE companies SET revoked_at = now() WHERE id = $1 "
	"  AND revoked_at IS NULL RETURNING id) "
	"SELECT id, pg_notify('" STORE_AUTH_CHANNEL "', 'company:' || id) FROM r", 1 };

static const struct db_stmt st_branch_revoke = { "tenants_branch_revoke",
	"WITH r AS (UPDATE branches SET revoked_at = now() WHERE id = $1 "
	"  AND revoked_at IS NULL RETURNING id) "
	"SELECT id, pg_notify('" STORE_AUTH_CHANNEL "', 'branch:' || id) FROM r", 1 };

static const struct db_stmt st_user_revoke = { "tenants_user_revoke",
	"WITH r AS (UPDATE users SET revoked_at = now(), token_version = token_version + 1 "
	"  WHERE id = $1 AND revoked_at IS NULL RETURNING id) "
	"SELECT id, pg_notify('" STORE_AUTH_CHANNEL "', 'user:' || id) FROM r", 1 };

static const struct db_stmt st_company_exists = { "tenants_company_exists",
	"SELECT 1 FROM companies WHERE id = $1", 1 };

static const struct db_stmt st_branch_exists = { "tenants_branch_exists",
	"SELECT 1 FROM branches WHERE id = $1", 1 };

static const struct db_stmt st_user_exists = { "tenants_user_exists",
	"SELECT 1 FROM users WHERE id = $1", 1 };

static const struct db_stmt st_user_find_login = { "tenants_user_find_login",
	"SELECT u.id, u.company_id, coalesce(u.branch_id::text, ''), u.role, u.email, "
	"u.password_hash, u.token_version FROM users u "
	"JOIN companies co ON co.id = u.company_id "
	"LEFT JOIN branches b ON b.id = u.branch_id "
	"WHERE lower(u.email) = lower($1) AND u.revoked_at IS NULL "
	"AND co.revoked_at IS NULL AND b.revoked_at IS NULL", 1 };

/* Every token carries the version it was signed at: bumping it ends them all. */
static const struct db_stmt st_user_logout_all = { "tenants_user_logout_all",
	"WITH r AS (UPDATE users SET token_version = token_version + 1 "
	"  WHERE id = $1 AND company_id = $2 RETURNING id) "
	"SELECT pg_notify('" STORE_AUTH_CHANNEL "', 'user:' || id) FROM r", 2 };

static const struct db_stmt st_branches = { "tenants_branches",
	"SELECT id, name FROM branches WHERE company_id = $1 "
	"AND ($2::uuid IS NULL OR id = $2) AND revoked_at IS NULL ORDER BY name, id", 2 };

/* Run a statement that returns at most one id; 1 (id copied), 0 no row, -1. */
static int
st_one_id(PGconn *c, const struct db_stmt *s, const char *const *p,
    char id[STORE_ID_LEN + 1])
{
	return db_first(db_run(c, s, PGRES_TUPLES_OK, p), id, id ? STORE_ID_LEN + 1 : 0);
}

int
store_tenants_company_create(PGconn *c, const char *name, char id[STORE_ID_LEN + 1])
{
	const char *p[1] = { name };

	return st_one_id(c, &st_company_create, p, id);
}

int
store_tenants_branch_create(PGconn *c, const char *company, const char *name,
    char id[STORE_ID_LEN + 1])
{
	const char *p[2] = { company, name };

	return st_one_id(c, &st_branch_create, p, id);
}

int
store_tenants_user_create(PGconn *c, const char *company, const char *branch,
    const char *email, const char *role, const char *password_hash,
    char id[STORE_ID_LEN + 1])
{
	const char *p[5] = { company, branch, email, role, password_hash };
	PGresult *r = db_run(c, &st_user_create, PGRES_TUPLES_OK, p);
	int rc;

	if (!r)
		return -1;
	if (PQntuples(r) != 1)
		rc = -1;
	else if (!PQgetisnull(r, 0, 0)) {
		snprintf(id, STORE_ID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
		rc = 1;
	} else if (strcmp(PQgetvalue(r, 0, 1), "t") == 0)
		rc = STORE_TENANTS_DUPLICATE;
	else
		rc = 0;
	PQclear(r);
	return rc;
}

PGresult *
store_tenants_company_list(PGconn *c, const char *company)
{
	const char *p[1] = { company };

	return db_run(c, &st_company_list, PGRES_TUPLES_OK, p);
}

PGresult *
store_tenants_branch_list(PGconn *c, const char *company, const char *branch)
{
	const char *p[2] = { company, branch };

	return db_run(c, &st_branch_list, PGRES_TUPLES_OK, p);
}

PGresult *
store_tenants_user_list(PGconn *c, const char *company, const char *branch)
{
	const char *p[2] = { company, branch };

	return db_run(c, &st_user_list, PGRES_TUPLES_OK, p);
}

int
store_tenants_company_revoke(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return st_one_id(c, &st_company_revoke, p, NULL);
}

int
store_tenants_branch_revoke(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return st_one_id(c, &st_branch_revoke, p, NULL);
}

int
store_tenants_user_revoke(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return st_one_id(c, &st_user_revoke, p, NULL);
}

int
store_tenants_company_exists(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return st_one_id(c, &st_company_exists, p, NULL);
}

int
store_tenants_branch_exists(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return st_one_id(c, &st_branch_exists, p, NULL);
}

int
store_tenants_user_exists(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return st_one_id(c, &st_user_exists, p, NULL);
}

int
store_tenants_user_find_login(PGconn *c, const char *email, struct store_tenants_login *out)
{
	const char *p[1] = { email };
	PGresult *r = db_run(c, &st_user_find_login, PGRES_TUPLES_OK, p);
	int found;

	if (!r)
		return -1;
	found = PQntuples(r) == 1 && strlen(PQgetvalue(r, 0, 5)) < crypto_pwhash_STRBYTES;
	if (found) {
		memset(out, 0, sizeof(*out));
		snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(r, 0, 0));
		snprintf(out->company_id, sizeof(out->company_id), "%s", PQgetvalue(r, 0, 1));
		snprintf(out->branch_id, sizeof(out->branch_id), "%s", PQgetvalue(r, 0, 2));
		out->admin = strcmp(PQgetvalue(r, 0, 3), "admin") == 0;
		snprintf(out->email, sizeof(out->email), "%s", PQgetvalue(r, 0, 4));
		snprintf(out->password_hash, sizeof(out->password_hash), "%s",
		    PQgetvalue(r, 0, 5));
		out->token_version = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
	}
	PQclear(r);
	return found;
}

int
store_tenants_user_logout_all(PGconn *c, const char *id, const char *company)
{
	const char *p[2] = { id, company };

	return st_one_id(c, &st_user_logout_all, p, NULL) < 0 ? -1 : 0;
}

json_t *
store_tenants_branches(PGconn *c, const char *company, const char *branch)
{
	const char *p[2] = { company, branch };
	PGresult *r = db_run(c, &st_branches, PGRES_TUPLES_OK, p);
	json_t *list;

	if (!r)
		return NULL;
	list = json_array();
	for (int i = 0; list && i < PQntuples(r); i++)
		json_array_append_new(list, json_pack("{s:s,s:s}", "id", PQgetvalue(r, i, 0),
		    "name", PQgetvalue(r, i, 1)));
	PQclear(r);
	return list;
}
