/*
 * store_apikeys.c: integration keys (see store_apikeys.h). Every lookup is by
 * primary or unique key; the key itself is never stored, only its hash.
 */
#include <stdio.h>
#include <string.h>

#include "server/db.h"
#include "server/store_apikeys.h"

static const struct db_stmt st_create = { "apikeys_create",
	"INSERT INTO integration_keys (company_id, branch_id, name, key_hash) "
	"SELECT co.id, b.id, $3, $4::bytea FROM companies co "
	"LEFT JOIN branches b ON b.company_id = co.id AND b.id = $2::uuid "
	"WHERE co.id = $1 AND co.revoked_at IS NULL AND ($2::uuid IS NULL OR "
	"(b.id IS NOT NULL AND b.revoked_at IS NULL)) RETURNING id", 4 };

static const struct db_stmt st_list_rows = { "apikeys_list_rows",
	"SELECT id, name, CASE WHEN branch_id IS NULL THEN 'company:' || company_id "
	"ELSE 'branch:' || branch_id END, CASE WHEN revoked_at IS NULL THEN 'active' "
	"ELSE 'revoked' END FROM integration_keys WHERE ($1::uuid IS NULL OR "
	"company_id = $1) AND ($2::uuid IS NULL OR branch_id = $2) "
	"ORDER BY company_id, created_at, id", 2 };

static const struct db_stmt st_revoke = { "apikeys_revoke",
	"WITH r AS (UPDATE integration_keys SET revoked_at = now() WHERE id = $1 "
	"  AND revoked_at IS NULL RETURNING id) "
	"SELECT id, pg_notify('" STORE_AUTH_CHANNEL "', 'apikey:' || id) FROM r", 1 };

static const struct db_stmt st_exists = { "apikeys_exists",
	"SELECT 1 FROM integration_keys WHERE id = $1", 1 };

static const struct db_stmt st_credential = { "apikeys_credential",
	"SELECT k.id, k.company_id, coalesce(k.branch_id::text, '') "
	"FROM integration_keys k JOIN companies co ON co.id = k.company_id "
	"LEFT JOIN branches b ON b.id = k.branch_id "
	"WHERE k.key_hash = $1::bytea AND k.revoked_at IS NULL "
	"AND co.revoked_at IS NULL AND b.revoked_at IS NULL", 1 };

int
store_apikeys_create(PGconn *c, const char *company, const char *branch,
    const char *name, const char *key_hash, char id[STORE_ID_LEN + 1])
{
	const char *p[4] = { company, branch, name, key_hash };

	return db_first(db_run(c, &st_create, PGRES_TUPLES_OK, p), id, STORE_ID_LEN + 1);
}

PGresult *
store_apikeys_list_rows(PGconn *c, const char *company, const char *branch)
{
	const char *p[2] = { company, branch };

	return db_run(c, &st_list_rows, PGRES_TUPLES_OK, p);
}

int
store_apikeys_revoke(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return db_first(db_run(c, &st_revoke, PGRES_TUPLES_OK, p), NULL, 0);
}

int
store_apikeys_exists(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return db_first(db_run(c, &st_exists, PGRES_TUPLES_OK, p), NULL, 0);
}

int
store_apikeys_credential(PGconn *c, const char *hash, struct auth *out)
{
	const char *p[1] = { hash };
	PGresult *r = db_run(c, &st_credential, PGRES_TUPLES_OK, p);

	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->kind = AUTH_INTEGRATION;
	out->role = ROLE_INTEGRATION;
	snprintf(out->principal_id, sizeof(out->principal_id), "%s", PQgetvalue(r, 0, 0));
	snprintf(out->company_id, sizeof(out->company_id), "%s", PQgetvalue(r, 0, 1));
	snprintf(out->branch_id, sizeof(out->branch_id), "%s", PQgetvalue(r, 0, 2));
	PQclear(r);
	return 1;
}
