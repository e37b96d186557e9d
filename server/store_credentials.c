/*
 * store_credentials.c: the SQL behind auth.c (agent keys, session users) and
 * scope.c (a named branch). Every lookup is by primary or unique key. Not here:
 * the checks themselves (auth.c, scope.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"
#include "server/store_credentials.h"

/*
 * The key's agent, and in the same statement its last_seen refreshed when it
 * is older than a minute (so not on every request, and no extra round trip).
 */
static const struct db_stmt st_agent = { "credentials_agent",
	"WITH a AS (SELECT a.id, a.company_id, a.branch_id, "
	" (a.last_seen IS NULL OR a.last_seen < now() - interval '60 seconds') AS stale "
	" FROM agents a JOIN companies co ON co.id = a.company_id "
	" JOIN branches b ON b.id = a.branch_id "
	" WHERE a.key_hash = $1::bytea AND a.revoked_at IS NULL "
	" AND co.revoked_at IS NULL AND b.revoked_at IS NULL), "
	"t AS (UPDATE agents SET last_seen = now() FROM a WHERE agents.id = a.id AND a.stale) "
	"SELECT id, company_id, branch_id FROM a", 1 };

/* users_pkey; the joins are on primary keys too. */
static const struct db_stmt st_user = { "credentials_user",
	"SELECT u.id, u.company_id, u.branch_id, u.role, u.email "
	"FROM users u JOIN companies co ON co.id = u.company_id "
	"LEFT JOIN branches b ON b.id = u.branch_id "
	"WHERE u.id = $1 AND u.token_version = $2::int AND u.revoked_at IS NULL "
	"AND co.revoked_at IS NULL AND b.revoked_at IS NULL", 2 };

static const struct db_stmt st_branch = { "credentials_branch_live",
	"SELECT 1 FROM companies co JOIN branches b ON b.company_id = co.id "
	"WHERE co.id = $1 AND b.id = $2 AND b.revoked_at IS NULL "
	"AND co.revoked_at IS NULL", 2 };

static const struct db_stmt st_branches_in = { "credentials_branches_in",
	"SELECT count(*) = $3::int FROM branches WHERE company_id = $1 "
	"AND id = ANY($2::uuid[])", 3 };

static void
store_credentials_copy(char *dst, size_t n, const PGresult *res, int col)
{
	snprintf(dst, n, "%s", PQgetisnull(res, 0, col) ? "" : PQgetvalue(res, 0, col));
}

/* A credential from a row whose first columns are id, company_id, branch_id. */
static void
store_credentials_fill(struct auth *out, enum auth_kind kind, enum auth_role role,
    const PGresult *res)
{
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->role = role;
	store_credentials_copy(out->principal_id, sizeof(out->principal_id), res, 0);
	store_credentials_copy(out->company_id, sizeof(out->company_id), res, 1);
	store_credentials_copy(out->branch_id, sizeof(out->branch_id), res, 2);
}

int
store_credentials_agent(PGconn *c, const char *hash, struct auth *out)
{
	const char *p[1] = { hash };
	PGresult *r = db_run(c, &st_agent, PGRES_TUPLES_OK, p);

	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	store_credentials_fill(out, AUTH_AGENT, ROLE_AGENT, r);
	PQclear(r);
	return 1;
}

int
store_credentials_user(PGconn *c, const char *user_id, long long version,
    struct auth *out)
{
	char ver[24];
	const char *p[2] = { user_id, ver };
	PGresult *r;

	snprintf(ver, sizeof(ver), "%lld", version);
	if ((r = db_run(c, &st_user, PGRES_TUPLES_OK, p)) == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	store_credentials_fill(out, AUTH_USER, strcmp(PQgetvalue(r, 0, 3), "admin") == 0 ?
	    ROLE_ADMIN : ROLE_VIEWER, r);
	store_credentials_copy(out->email, sizeof(out->email), r, 4);
	PQclear(r);
	return 1;
}

int
store_credentials_branch_live_send(PGconn *c, const char *company_id, const char *branch_id)
{
	const char *p[2] = { company_id, branch_id };

	return db_pipe_send(c, &st_branch, p);
}

int
store_credentials_branch_live_recv(PGconn *c)
{
	return db_first(db_pipe_recv(c, PGRES_TUPLES_OK), NULL, 0);
}

int
store_credentials_branch_live(PGconn *c, const char *company_id, const char *branch_id)
{
	const char *p[2] = { company_id, branch_id };

	return db_first(db_run(c, &st_branch, PGRES_TUPLES_OK, p), NULL, 0);
}

int
store_credentials_branches_in(PGconn *c, const char *company_id,
    const char *const *branch_ids, int n)
{
	char num[16], *arr = db_text_array_of(branch_ids, (size_t)n);
	const char *p[3] = { company_id, arr, num };
	PGresult *r;
	int ok;

	if (!arr)
		return -1;
	snprintf(num, sizeof(num), "%d", n);
	r = db_run(c, &st_branches_in, PGRES_TUPLES_OK, p);
	free(arr);
	if (!r)
		return -1;
	ok = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return ok;
}
