/*
 * store_printers.c: the SQL of the printers table: list, get, patch, delete,
 * and the bulk path (branch lock, candidate lookup, the rows' writes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"
#include "server/store_locks.h"
#include "server/store_printers.h"
#include "server/store_sql.h"

/* STORE_PRINTERS_LARGE (store_printers.h) as SQL text. */
#define STORE_PRINTERS_STR_(n) #n
#define STORE_PRINTERS_STR(n) STORE_PRINTERS_STR_(n)
#define STORE_PRINTERS_LARGE_S STORE_PRINTERS_STR(STORE_PRINTERS_LARGE)

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
	"AND " STORE_AFTER("p.id", "$5") " " \
	"ORDER BY p.id LIMIT $6::int"

static const struct db_stmt st_list_branch = { "printers_list_branch",
	"SELECT b.ok, x.j, x.id FROM (SELECT EXISTS (SELECT 1 FROM branches WHERE "
	"company_id = $1 AND id = $2 AND revoked_at IS NULL) AS ok) b "
	"LEFT JOIN LATERAL (SELECT printer_doc(p) AS j, p.id FROM printers p "
	"WHERE b.ok AND p.company_id = $1 AND p.branch_id = $2 "
	STORE_PRINTERS_LIST_FILTER ") x ON true ORDER BY x.id", 6 };

static const struct db_stmt st_list_company = { "printers_list_company",
	"SELECT true, printer_doc(p), p.id FROM printers p "
	"WHERE p.company_id = $1 AND $2::uuid IS NULL " STORE_PRINTERS_LIST_FILTER, 6 };

static const struct db_stmt st_get = { "printers_get",
	"SELECT printer_doc(p) FROM printers p WHERE p.company_id = $1 "
	"AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.id = $3", 3 };

static const struct db_stmt st_patch = { "printers_patch",
	"UPDATE printers p SET "
	"display_name = CASE WHEN $4::text IS NULL THEN display_name ELSE $5 END, "
	"role = CASE WHEN $6::text IS NULL THEN role ELSE $7 END, "
	"enabled = coalesce($8::boolean, enabled), updated_at = now() "
	"WHERE p.company_id = $1 AND ($2::uuid IS NULL OR p.branch_id = $2) "
	"AND p.id = $3 RETURNING printer_doc(p)", 8 };

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
 * A candidate's columns, in the order of store_printers_cols after "op" (a
 * candidate is read as columns, not as its document: building the few fields
 * the decision needs from column text costs the server a fraction of parsing
 * the whole document).
 */
#define STORE_PRINTERS_CAND_COLS \
	"p.id, p.device_key, p.name, p.name_key, p.connection_type, p.protocol, p.address," \
	" p.addr_key, p.port, p.uri, p.manufacturer, p.model, p.make_and_model," \
	" p.serial_number, p.mac_address, p.uuid, p.status, array_to_json(p.state_reasons)," \
	" p.capabilities, p.location, p.sources"

/*
 * A superset of what identity_match() accepts; C makes the decision. Per
 * identity kind, the ids of the branch's printers having one of the values;
 * then the rows by primary key, locked as the UPDATE that follows locks them
 * (FOR NO KEY UPDATE): enough to keep two batches apart, while a print job
 * being created for one of them (its foreign key shares the printer's key)
 * neither waits nor is waited for.
 *
 * A small batch runs a generic plan, made once for every branch. Its probe is
 * one equality per value (LATERAL, kept from being flattened into a join by
 * OFFSET 0), so the plan is an index descent per value whatever the branch:
 * written `col = ANY($n)`, the generic plan estimates an average branch, and
 * where most branches are small it reads the branch's whole index range and
 * filters it (measured: a 5-printer batch into a 20,000-printer branch among
 * 20,000 small ones, 10 ms per identity kind instead of 0.1). A large batch
 * runs a custom plan (store_printers_lock_send()), which knows the branch and
 * hashes its arrays: there `= ANY` is right.
 */
#define STORE_PRINTERS_PROBE(col, n, also) \
	"SELECT x.id FROM unnest($" n "::text[]) k(v), LATERAL (SELECT id FROM printers " \
	"WHERE company_id = $1 AND branch_id = $2 AND " col " = k.v" also " OFFSET 0) x"
#define STORE_PRINTERS_BY(col, n, also) \
	"SELECT id FROM printers WHERE company_id = $1 AND branch_id = $2 AND " col \
	" = ANY($" n "::text[])" also
/* The uuid, MAC and serial indexes hold only values (sql/011): a lookup must
 * say IS NOT NULL for a generic plan to use them. */
#define STORE_PRINTERS_CANDIDATES(by) \
	"SELECT " STORE_PRINTERS_CAND_COLS " FROM printers p WHERE p.id = ANY(ARRAY(" \
	by("device_key", "3", "") \
	" UNION ALL " by("uuid", "4", " AND uuid IS NOT NULL") \
	" UNION ALL " by("serial_number", "5", " AND serial_number IS NOT NULL") \
	" UNION ALL " by("mac_address", "6", " AND mac_address IS NOT NULL") \
	" UNION ALL " by("addr_key", "7", "") \
	" UNION ALL " by("name_key", "8", "") "))" \
	" ORDER BY p.created_at, p.id FOR NO KEY UPDATE"
static const struct db_stmt st_candidates = { "printers_candidates",
	STORE_PRINTERS_CANDIDATES(STORE_PRINTERS_PROBE), 8 };
static const struct db_stmt st_candidates_large = { "printers_candidates_large",
	STORE_PRINTERS_CANDIDATES(STORE_PRINTERS_BY), 8 };

/*
 * The bulk's rows go as one array per column (unnest): PostgreSQL reads
 * 1,000 rows of array literals in about a third of the time json_to_recordset
 * takes for the same rows as JSON (measured: 10 against 30 ms), and the
 * server builds them without serializing a JSON tree. The rows to update
 * are also named by `p.id = ANY($4)`, a primary-key probe: joined on
 * `p.id = x.id` alone, a large batch (hash join, no nested loops) read the
 * whole table to find its branch's rows. An unchanged row (a sighting, most
 * of the everyday load) changes only its sightings and last_seen: it goes as
 * two arrays of its own ($25, $26), not as a row of every column, so neither
 * side writes, parses or assigns the 20 values that stay. The columns, in
 * parameter order from $3 (the SQL casts of st_write follow it): the row's
 * JSON field and how its value travels: as text, as a number, as a text[]
 * literal (written) that comes back as a JSON array (read), or as JSON.
 */
enum store_col { COL_TEXT, COL_INT, COL_TEXTS, COL_JSON };

static const struct {
	const char *field;
	enum store_col kind;
} store_printers_cols[] = {
	{ "op", COL_TEXT }, { "id", COL_TEXT }, { "deviceKey", COL_TEXT },
	{ "name", COL_TEXT }, { "nameKey", COL_TEXT }, { "connectionType", COL_TEXT },
	{ "protocol", COL_TEXT }, { "address", COL_TEXT }, { "addrKey", COL_TEXT },
	{ "port", COL_INT }, { "uri", COL_TEXT }, { "manufacturer", COL_TEXT },
	{ "model", COL_TEXT }, { "makeAndModel", COL_TEXT }, { "serialNumber", COL_TEXT },
	{ "macAddress", COL_TEXT }, { "uuid", COL_TEXT }, { "status", COL_TEXT },
	{ "stateReasons", COL_TEXTS }, { "capabilities", COL_JSON }, { "location", COL_TEXT },
	{ "sources", COL_JSON },
};
#define STORE_PRINTERS_NCOLS (sizeof(store_printers_cols) / sizeof(store_printers_cols[0]))

/*
 * The rows go as one statement per kind of write, each sent only when the
 * batch has rows of its kind: the everyday heartbeat (every row unchanged)
 * is then one narrow UPDATE, and the INSERT, with its statement trigger
 * (the branch check, sql/011), runs only for a batch that has new rows. As
 * one statement of three parts (a WITH of INSERT and two UPDATEs), every
 * batch paid for the empty parts' plan nodes and the statement trigger:
 * 5-printer batches, 8 connections, A/B in one run: PostgreSQL's CPU per
 * batch 1.56-1.87 ms instead of 1.79-2.00, 4-15% more batches a second.
 * New and updated rows share one set of column arrays ($3..$24, filtered by
 * `op`).
 */
#define STORE_PRINTERS_ROWS \
	"unnest($3::text[], $4::uuid[], $5::text[], $6::text[]," \
	" $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[]," \
	" $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[]," \
	" $19::text[], $20::text[], $21::text[], $22::jsonb[], $23::text[], $24::jsonb[])" \
	" AS x(op, id, \"deviceKey\", name, \"nameKey\", \"connectionType\", protocol," \
	" address, \"addrKey\", port, uri, manufacturer, model, \"makeAndModel\"," \
	" \"serialNumber\", \"macAddress\", uuid, status, \"stateReasons\", capabilities," \
	" location, sources)"

/* The stored part of the document comes with the row (sql/012: the row
 * trigger that would make it costs twice the rest of the insert); the
 * timestamps and `enabled` are given, not defaulted, so it holds the values
 * the row gets. */
static const struct db_stmt st_insert = { "printers_insert",
	"INSERT INTO printers (id, company_id, branch_id, device_key, name, name_key,"
	" connection_type, protocol, address, addr_key, port, uri, manufacturer, model,"
	" make_and_model, serial_number, mac_address, uuid, status, state_reasons,"
	" capabilities, location, sources, enabled, first_seen, created_at, updated_at,"
	" doc_head)"
	" SELECT id, $1::uuid, $2::uuid, \"deviceKey\", name, \"nameKey\", \"connectionType\","
	" protocol, address, \"addrKey\", port, uri, manufacturer, model, \"makeAndModel\","
	" \"serialNumber\", \"macAddress\", uuid, status, sr, cap, location,"
	" coalesce(sources, '{}'), true, now(), now(), now(),"
	" printer_doc_head_of(id, $1::uuid, $2::uuid, \"deviceKey\", name, NULL, NULL,"
	" \"connectionType\", protocol, address, port, uri, manufacturer, model,"
	" \"makeAndModel\", \"serialNumber\", \"macAddress\", uuid, status, sr, cap,"
	" location, true, now(), now(), now())"
	" FROM (SELECT *, coalesce(\"stateReasons\"::text[], '{}') AS sr,"
	" coalesce(capabilities, '{}') AS cap FROM " STORE_PRINTERS_ROWS
	" WHERE op = 'new') x",
	(int)STORE_PRINTERS_NCOLS + 2 };

static const struct db_stmt st_update = { "printers_update",
	"UPDATE printers p SET device_key = x.\"deviceKey\", name = x.name,"
	" name_key = x.\"nameKey\", connection_type = x.\"connectionType\","
	" protocol = x.protocol, address = x.address, addr_key = x.\"addrKey\","
	" port = x.port, uri = x.uri, manufacturer = x.manufacturer, model = x.model,"
	" make_and_model = x.\"makeAndModel\", serial_number = x.\"serialNumber\","
	" mac_address = x.\"macAddress\", uuid = x.uuid, status = x.status,"
	" state_reasons = coalesce(x.\"stateReasons\"::text[], '{}'),"
	" capabilities = coalesce(x.capabilities, '{}'), location = x.location,"
	" sources = coalesce(x.sources, '{}'), last_seen = now(), updated_at = now()"
	" FROM " STORE_PRINTERS_ROWS
	" WHERE x.op = 'update' AND p.id = x.id AND p.id = ANY($4::uuid[])"
	" AND p.company_id = $1 AND p.branch_id = $2",
	(int)STORE_PRINTERS_NCOLS + 2 };

/* An unchanged row: its id ($3) and sightings ($4). */
static const struct db_stmt st_touch = { "printers_touch",
	"UPDATE printers p SET sources = coalesce(t.sources, '{}'), last_seen = now()"
	" FROM unnest($3::uuid[], $4::jsonb[]) AS t(id, sources)"
	" WHERE p.id = t.id AND p.id = ANY($3::uuid[])"
	" AND p.company_id = $1 AND p.branch_id = $2", 4 };

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
store_printers_large(size_t items)
{
	return items > STORE_PRINTERS_LARGE;
}

int
store_printers_candidates_send(PGconn *c, const char *company_id, const char *branch_id,
    const json_t *lookup, size_t n)
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
	rc = db_pipe_send(c, store_printers_large(n) ? &st_candidates_large :
	    &st_candidates, p);
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
store_printers_cand_field(const char *field)
{
	for (int k = 1; k < (int)STORE_PRINTERS_NCOLS; k++)
		if (strcmp(store_printers_cols[k].field, field) == 0)
			return k - 1;
	return -1;
}

const char *
store_printers_cand_text(const PGresult *r, int row, int col)
{
	return col < 0 || PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

json_t *
store_printers_cand_value(const PGresult *r, int row, int col)
{
	const char *s = store_printers_cand_text(r, row, col);

	if (col < 0)
		return NULL;
	if (!s)
		return json_null();
	switch (store_printers_cols[col + 1].kind) {
	case COL_TEXTS:
	case COL_JSON:
		return json_loads(s, JSON_DECODE_ANY, NULL);
	case COL_INT:
		return json_integer(strtoll(s, NULL, 10));
	default:	/* text from a UTF8 database: valid UTF-8 */
		return json_stringn_nocheck(s, (size_t)PQgetlength(r, row, col));
	}
}

json_t *
store_printers_candidate(const PGresult *r, int row)
{
	json_t *o = json_object(), *v;

	if (!o || PQnfields(r) != (int)STORE_PRINTERS_NCOLS - 1) {
		json_decref(o);
		return NULL;
	}
	for (int k = 1; k < (int)STORE_PRINTERS_NCOLS; k++) {
		if ((v = store_printers_cand_value(r, row, k - 1)) == NULL ||
		    json_object_set_new_nocheck(o, store_printers_cols[k].field, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* One row's value of a column as array element text (*out NULL for SQL
 * NULL); *tmp is set when it had to be made (caller frees). 0, or -1 when
 * out of memory. */
static int
store_printers_elem(const json_t *v, enum store_col kind, char num[24], const char **out,
    char **tmp)
{
	*tmp = NULL;
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = json_string_value(v);
		return 0;
	}
	if (json_is_integer(v)) {
		snprintf(num, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*out = num;
		return 0;
	}
	if (kind == COL_TEXTS)
		*tmp = db_text_array(v);
	else
		*tmp = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	*out = *tmp;
	return *tmp ? 0 : -1;
}

int
store_printers_write_send(PGconn *c, const char *company_id, const char *branch_id,
    const json_t *rows)
{
	/* The columns of new and updated rows, then an unchanged row's id and
	 * sources. */
	struct db_array col[STORE_PRINTERS_NCOLS + 2];
	const char *p[2 + STORE_PRINTERS_NCOLS] = { company_id, branch_id };
	const char *t[4] = { company_id, branch_id };
	const json_t *row;
	const char *e, *op;
	char num[24], *tmp;
	size_t i, k;
	int rc = 0, sent = 0, ins = 0, upd = 0, tch = 0;

	memset(col, 0, sizeof(col));
	json_array_foreach(rows, i, row) {
		op = json_string_value(json_object_get(row, "op"));
		if (op && strcmp(op, "touch") == 0) {
			tch = 1;
			db_array_add(&col[STORE_PRINTERS_NCOLS],
			    json_string_value(json_object_get(row, "id")));
			if (store_printers_elem(json_object_get(row, "sources"), COL_JSON, num, &e,
			    &tmp) < 0)
				col[STORE_PRINTERS_NCOLS + 1].failed = 1;
			db_array_add(&col[STORE_PRINTERS_NCOLS + 1], e);
			free(tmp);
			continue;
		}
		if (op && strcmp(op, "new") == 0)
			ins = 1;
		else
			upd = 1;
		for (k = 0; k < STORE_PRINTERS_NCOLS; k++) {
			if (store_printers_elem(json_object_get(row, store_printers_cols[k].field),
			    store_printers_cols[k].kind, num, &e, &tmp) < 0)
				col[k].failed = 1;
			db_array_add(&col[k], e);
			free(tmp);
		}
	}
	/* Only the arrays of statements that go (a heartbeat sends no columns). */
	for (k = 0; (ins || upd) && k < STORE_PRINTERS_NCOLS; k++)
		if ((p[2 + k] = db_array_finish(&col[k])) == NULL)
			rc = -1;
	for (k = 0; tch && k < 2; k++)
		if ((t[2 + k] = db_array_finish(&col[STORE_PRINTERS_NCOLS + k])) == NULL)
			rc = -1;
	if (rc == 0 && ins && (rc = db_pipe_send(c, &st_insert, p)) == 0)
		sent++;
	if (rc == 0 && upd && (rc = db_pipe_send(c, &st_update, p)) == 0)
		sent++;
	if (rc == 0 && tch && (rc = db_pipe_send(c, &st_touch, t)) == 0)
		sent++;
	for (k = 0; k < STORE_PRINTERS_NCOLS; k++)
		free((char *)p[2 + k]);
	for (k = 0; k < 2; k++)
		free((char *)t[2 + k]);
	return rc < 0 ? -1 : sent;
}

int
store_printers_write_recv(PGconn *c, int sent)
{
	while (sent-- > 0)
		if (db_pipe_done(c, PGRES_COMMAND_OK) < 0)
			return -1;	/* db_pipe_end() reads what is left */
	return 0;
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
