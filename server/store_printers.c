/*
 * store_printers.c: the SQL of the printers table: list, get, patch, delete,
 * and the bulk path (branch lock, candidate lookup, one-statement write).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"
#include "server/store_locks.h"
#include "server/store_printers.h"

#define STORE_PRINTERS_LARGE_S "64"

/*
 * The branch is checked in the same statement: a company-wide credential
 * naming another company's (or a revoked) branch is told apart from an empty
 * branch without a second round trip. Ordered by id over the (company,
 * branch, id) index, so a page costs the same in a branch of any size.
 */
#define STORE_PRINTERS_LIST_FILTER \
	"AND ($3::text IS NULL OR p.status = $3) " \
	"AND ($4::text IS NULL OR strpos(lower(concat_ws(' ', p.name, p.display_name, " \
	"p.make_and_model, p.address, p.location)), lower($4)) > 0) " \
	"AND p.id > coalesce($5::uuid, '00000000-0000-0000-0000-000000000000') " \
	"ORDER BY p.id LIMIT $6::int"

static const struct db_stmt st_list_branch = { "printers_list_branch",
	"SELECT b.ok, x.j, x.id FROM (SELECT EXISTS (SELECT 1 FROM branches WHERE "
	"company_id = $1 AND id = $2 AND revoked_at IS NULL) AS ok) b "
	"LEFT JOIN LATERAL (SELECT p.doc::text AS j, p.id FROM printers p "
	"WHERE b.ok AND p.company_id = $1 AND p.branch_id = $2 "
	STORE_PRINTERS_LIST_FILTER ") x ON true ORDER BY x.id", 6 };

static const struct db_stmt st_list_company = { "printers_list_company",
	"SELECT true, p.doc::text, p.id FROM printers p "
	"WHERE p.company_id = $1 AND $2::uuid IS NULL " STORE_PRINTERS_LIST_FILTER, 6 };

static const struct db_stmt st_get = { "printers_get",
	"SELECT p.doc::text FROM printers p WHERE p.company_id = $1 "
	"AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.id = $3", 3 };

static const struct db_stmt st_patch = { "printers_patch",
	"UPDATE printers p SET "
	"display_name = CASE WHEN $4::text IS NULL THEN display_name ELSE $5 END, "
	"role = CASE WHEN $6::text IS NULL THEN role ELSE $7 END, "
	"enabled = coalesce($8::boolean, enabled), updated_at = now() "
	"WHERE p.company_id = $1 AND ($2::uuid IS NULL OR p.branch_id = $2) "
	"AND p.id = $3 RETURNING p.doc::text", 8 };

static const struct db_stmt st_delete = { "printers_delete",
	"DELETE FROM printers p WHERE p.company_id = $1 "
	"AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.id = $3 "
	"RETURNING p.branch_id::text, p.name", 3 };

/*
 * Plans for the bulk transaction, by batch size. A branch that was just
 * filled has no statistics yet: the planner thinks it holds one row, and
 * would (a) look up a large batch's candidates by scanning the branch with a
 * linear `= ANY(param)` filter per row, and (b) join a large batch's rows
 * with a nested loop that rescans the JSON input once per printer, both
 * quadratic. So a large batch (more than STORE_PRINTERS_LARGE items) gets
 * custom plans (its arrays are constants then, and `= ANY` is hashed) and no
 * nested loops (hash joins are right at its size); a small batch keeps the
 * prepared generic plans and index nested loops, whose cost does not grow
 * with the branch. store_printers_analyze() refreshes the statistics after a
 * large fill.
 */
static const struct db_stmt st_lock = { "printers_branch_lock",
	"SELECT pg_advisory_xact_lock(hashtextextended($1, " STORE_LOCK_PRINTERS_BRANCH ")),"
	" set_config('enable_nestloop', CASE WHEN $2::int > " STORE_PRINTERS_LARGE_S
	" THEN 'off' ELSE 'on' END, true),"
	" set_config('plan_cache_mode', CASE WHEN $2::int > " STORE_PRINTERS_LARGE_S
	" THEN 'force_custom_plan' ELSE 'force_generic_plan' END, true)", 2 };

static const struct db_stmt st_analyze = { "printers_analyze", "ANALYZE printers", 0 };

/*
 * A superset of what identity_match() accepts; C makes the decision. One
 * index lookup per identity kind, their ids united, then the rows by primary
 * key: written as one OR over the branch, a generic plan takes an average
 * branch for small and scans it whole with the filter; written like this the
 * only plans are index probes, whose cost follows the request.
 */
#define STORE_PRINTERS_BY(col, n) \
	"SELECT id FROM printers WHERE company_id = $1 AND branch_id = $2 AND " col \
	" = ANY($" n "::text[])"
static const struct db_stmt st_candidates = { "printers_candidates",
	"SELECT p.doc::text FROM printers p WHERE p.id = ANY(ARRAY("
	STORE_PRINTERS_BY("device_key", "3") " UNION " STORE_PRINTERS_BY("uuid", "4")
	" UNION " STORE_PRINTERS_BY("serial_number", "5") " UNION "
	STORE_PRINTERS_BY("mac_address", "6") " UNION " STORE_PRINTERS_BY("addr_key", "7")
	" UNION " STORE_PRINTERS_BY("name_key", "8") "))"
	" ORDER BY p.created_at, p.id FOR UPDATE", 8 };

static const struct db_stmt st_write = { "printers_write",
	"WITH x AS (SELECT * FROM json_to_recordset($3::json) AS x("
	" op text, id uuid, \"deviceKey\" text, name text, \"nameKey\" text,"
	" \"connectionType\" text, protocol text, address text, \"addrKey\" text, port int,"
	" uri text, manufacturer text, model text, \"makeAndModel\" text,"
	" \"serialNumber\" text, \"macAddress\" text, uuid text, status text,"
	" \"stateReasons\" text[], capabilities jsonb, location text, sources jsonb)),"
	" ins AS (INSERT INTO printers (id, company_id, branch_id, device_key, name, name_key,"
	"  connection_type, protocol, address, addr_key, port, uri, manufacturer, model,"
	"  make_and_model, serial_number, mac_address, uuid, status, state_reasons,"
	"  capabilities, location, sources)"
	"  SELECT id, $1, $2, \"deviceKey\", name, \"nameKey\", \"connectionType\", protocol,"
	"  address, \"addrKey\", port, uri, manufacturer, model, \"makeAndModel\","
	"  \"serialNumber\", \"macAddress\", uuid, status, coalesce(\"stateReasons\", '{}'),"
	"  coalesce(capabilities, '{}'), location, coalesce(sources, '{}')"
	"  FROM x WHERE op = 'new' RETURNING 1),"
	" upd AS (UPDATE printers p SET device_key = x.\"deviceKey\", name = x.name,"
	"  name_key = x.\"nameKey\", connection_type = x.\"connectionType\","
	"  protocol = x.protocol, address = x.address, addr_key = x.\"addrKey\","
	"  port = x.port, uri = x.uri, manufacturer = x.manufacturer, model = x.model,"
	"  make_and_model = x.\"makeAndModel\", serial_number = x.\"serialNumber\","
	"  mac_address = x.\"macAddress\", uuid = x.uuid, status = x.status,"
	"  state_reasons = coalesce(x.\"stateReasons\", '{}'),"
	"  capabilities = coalesce(x.capabilities, '{}'), location = x.location,"
	"  sources = coalesce(x.sources, '{}'), last_seen = now(),"
	"  updated_at = CASE WHEN x.op = 'update' THEN now() ELSE p.updated_at END"
	"  FROM x WHERE x.op IN ('update', 'touch') AND p.id = x.id"
	"  AND p.company_id = $1 AND p.branch_id = $2 RETURNING 1)"
	" SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)", 3 };

PGresult *
store_printers_list(PGconn *c, const struct store_printer_filter *f, int *branch_ok)
{
	char lim[24];
	const char *p[6] = { f->company_id, f->branch_id, f->status, f->q, f->after, lim };
	PGresult *r;

	snprintf(lim, sizeof(lim), "%ld", f->limit + 1);
	r = db_run(c, f->branch_id ? &st_list_branch : &st_list_company, PGRES_TUPLES_OK, p);
	if (!r)
		return NULL;
	*branch_ok = PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	/* The branch statement answers a lone all-NULL row for "no printers". */
	if (PQntuples(r) == 1 && PQgetisnull(r, 0, 1)) {
		PQclear(r);
		r = PQmakeEmptyPGresult(c, PGRES_TUPLES_OK);
	}
	return r;
}

/* The printer in the first row of r (taken), if any: 1, 0, or -1 (r NULL). */
static int
store_printers_one(PGresult *r, json_t **out)
{
	*out = NULL;
	if (!r)
		return -1;
	if (PQntuples(r))
		*out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
	PQclear(r);
	return *out ? 1 : 0;
}

int
store_printers_get(PGconn *c, const char *company_id, const char *branch_id,
    const char *id, json_t **out)
{
	const char *p[3] = { company_id, branch_id, id };

	return store_printers_one(db_run(c, &st_get, PGRES_TUPLES_OK, p), out);
}

int
store_printers_patch(PGconn *c, const char *company_id, const char *branch_id,
    const char *id, int set_display_name, const char *display_name, int set_role,
    const char *role, const char *enabled, json_t **out)
{
	const char *p[8] = { company_id, branch_id, id, set_display_name ? "1" : NULL,
	    display_name, set_role ? "1" : NULL, role, enabled };

	return store_printers_one(db_run(c, &st_patch, PGRES_TUPLES_OK, p), out);
}

int
store_printers_delete(PGconn *c, const char *company_id, const char *branch_id,
    const char *id, char branch_out[37], json_t **name_out)
{
	const char *p[3] = { company_id, branch_id, id };
	PGresult *r = db_run(c, &st_delete, PGRES_TUPLES_OK, p);
	int found;

	*name_out = NULL;
	if (!r)
		return -1;
	if ((found = PQntuples(r) > 0)) {
		snprintf(branch_out, 37, "%s", PQgetvalue(r, 0, 0));
		*name_out = json_string(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return found;
}

int
store_printers_lock_send(PGconn *c, const char *branch_id, size_t items)
{
	char n[24];
	const char *p[2] = { branch_id, n };

	snprintf(n, sizeof(n), "%zu", items);
	return db_pipe_send(c, &st_lock, p);
}

int
store_printers_lock_recv(PGconn *c)
{
	return db_pipe_done(c, PGRES_TUPLES_OK);
}

int
store_printers_candidates_send(PGconn *c, const char *company_id, const char *branch_id,
    const json_t *lookup)
{
	static const char *const fields[] = { "keys", "uuids", "serials", "macs", "addrs",
		"names" };
	char *arr[6] = { NULL };
	const char *p[8] = { company_id, branch_id };
	int rc = -1;

	for (int i = 0; i < 6; i++)
		if ((arr[i] = db_text_array(json_object_get(lookup, fields[i]))) == NULL)
			goto out;
	for (int i = 0; i < 6; i++)
		p[2 + i] = arr[i];
	rc = db_pipe_send(c, &st_candidates, p);
out:
	for (int i = 0; i < 6; i++)
		free(arr[i]);
	return rc;
}

PGresult *
store_printers_candidates_recv(PGconn *c)
{
	return db_pipe_recv(c, PGRES_TUPLES_OK);
}

int
store_printers_write_send(PGconn *c, const char *company_id, const char *branch_id,
    const json_t *rows)
{
	const char *p[3] = { company_id, branch_id, NULL };

	return db_pipe_send_json(c, &st_write, p, 2, rows);
}

int
store_printers_write_recv(PGconn *c)
{
	return db_pipe_done(c, PGRES_TUPLES_OK);
}

int
store_printers_analyze(PGconn *c)
{
	PGresult *r = db_run(c, &st_analyze, PGRES_COMMAND_OK, NULL);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}
