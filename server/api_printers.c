/*
 * api_printers.c: GET/PATCH/DELETE of single printers and the filtered list.
 * Bulk registration lives in api_bulk.c. Every query is scoped by company and,
 * for branch credentials, branch; another tenant's printer is simply not found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_bulk.h"
#include "common/printer.h"
#include "server/api_printers.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/events.h"
#include "server/scope.h"

#define LIST_DEFAULT 100
#define LIST_MAX 500

static const char *const printer_roles[] = { "receipt", "kitchen", "bar", "label",
	"other", NULL };

/* A query value is percent-decoded bytes; PostgreSQL refuses a text
 * parameter that is not UTF-8 (jansson checks it the same way). */
static int
printers_utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

static int
printers_list(struct http_req *r)
{
	const char *status = http_query(r, "status"), *q = http_query(r, "q");
	const char *after = http_query(r, "after"), *lim = http_query(r, "limit");
	char after_id[HTTP_ID_LEN + 1] = "", limbuf[16];
	struct scope sc;
	PGconn *c;
	PGresult *res;
	json_t *list, *body;
	long limit = LIST_DEFAULT;
	int rc, n;

	if (auth_require_role(r, AUTH_ALLOW_USERS, &rc) < 0)
		return rc;
	if (status && strcmp(status, "online") && strcmp(status, "offline") &&
	    strcmp(status, "error") && strcmp(status, "unknown"))
		return http_error(r, 400, "bad_request",
		    "status must be online, offline, error or unknown", NULL);
	if (lim) {
		char *end;

		limit = strtol(lim, &end, 10);
		if (*end || limit < 1 || limit > LIST_MAX)
			return http_error(r, 400, "bad_request", "limit must be 1 to 500", NULL);
	}
	if (after && !scope_uuid(after, after_id))
		return http_error(r, 400, "bad_request", "after must be a cursor from next",
		    NULL);
	if (q && strlen(q) > 200)
		return http_error(r, 400, "bad_request", "q is at most 200 bytes", NULL);
	if (q && !printers_utf8_ok(q))
		return http_error(r, 400, "bad_request", "q must be UTF-8 text", NULL);
	if ((c = db_conn()) == NULL)
		return scope_db_unavailable(r);
	if (scope_resolve(r, c, http_query(r, "companyId"), http_query(r, "branchId"), 0,
	    &sc, &rc) < 0)
		return rc;
	snprintf(limbuf, sizeof(limbuf), "%ld", limit + 1);
	{
		const char *p[6] = { sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL,
		    status, q && *q ? q : NULL, after_id[0] ? after_id : NULL, limbuf };

		res = db_exec(c, PGRES_TUPLES_OK,
		    "SELECT printer_json(p)::text, p.id FROM printers p "
		    "WHERE p.company_id = $1 AND ($2::uuid IS NULL OR p.branch_id = $2) "
		    "AND ($3::text IS NULL OR p.status = $3) "
		    "AND ($4::text IS NULL OR strpos(lower(concat_ws(' ', p.name, p.display_name, "
		    "p.make_and_model, p.address, p.location)), lower($4)) > 0) "
		    "AND ($5::uuid IS NULL OR p.id > $5) ORDER BY p.id LIMIT $6::int", 6, p);
	}
	if (!res) {
		return scope_db_failed(r, c);
	}
	list = json_array();
	n = PQntuples(res);
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(list, json_loads(PQgetvalue(res, i, 0), 0, NULL));
	body = json_pack("{s:o,s:o}", "printers", list, "next",
	    n > limit ? json_string(PQgetvalue(res, (int)limit - 1, 1)) : json_null());
	PQclear(res);
	return http_reply_json(r, 200, body);
}

/* Load one printer in scope; 1 found (json in *out), 0 not found, -1 db error. */
static int
printers_load(PGconn *c, const struct scope *sc, const char *id, json_t **out)
{
	const char *p[3] = { sc->company_id, sc->branch_id[0] ? sc->branch_id : NULL, id };
	PGresult *res;

	res = db_exec(c, PGRES_TUPLES_OK,
	    "SELECT printer_json(p)::text FROM printers p WHERE p.company_id = $1 "
	    "AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.id = $3", 3, p);
	if (!res)
		return -1;
	*out = PQntuples(res) ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
	PQclear(res);
	return *out ? 1 : 0;
}

/* Common start of the {id} handlers: connection, scope, id check. */
static int
printers_prepare(struct http_req *r, PGconn **c, struct scope *sc, char *id, int *rc)
{
	if (!scope_uuid(r->params[0], id)) {
		*rc = http_error(r, 404, "not_found", "no such printer", NULL);
		return -1;
	}
	if ((*c = db_conn()) == NULL) {
		*rc = scope_db_unavailable(r);
		return -1;
	}
	return scope_resolve(r, *c, http_query(r, "companyId"), NULL, 0, sc, rc);
}

static int
printers_get(struct http_req *r)
{
	char id[HTTP_ID_LEN + 1];
	struct scope sc;
	json_t *p;
	PGconn *c;
	int rc, found;

	if (auth_require_role(r, AUTH_ALLOW_USERS, &rc) < 0)
		return rc;
	if (printers_prepare(r, &c, &sc, id, &rc) < 0)
		return rc;
	if ((found = printers_load(c, &sc, id, &p)) < 0) {
		return scope_db_failed(r, c);
	}
	if (!found)
		return http_error(r, 404, "not_found", "no such printer", NULL);
	return http_reply_json(r, 200, p);
}

static int
printers_role_ok(const char *s)
{
	for (const char *const *p = printer_roles; *p; p++)
		if (strcmp(*p, s) == 0)
			return 1;
	return 0;
}


static int
printers_patch(struct http_req *r)
{
	char id[HTTP_ID_LEN + 1];
	json_t *body, *v, *errs, *p = NULL, *ev;
	const char *dn = NULL, *role = NULL, *en = NULL;
	int set_dn = 0, set_role = 0, rc;
	struct scope sc;
	PGconn *c;
	PGresult *res;

	if (auth_require_role(r, AUTH_ALLOW_ADMIN, &rc) < 0)
		return rc;
	if ((body = http_body_json(r, &rc)) == NULL)
		return rc;
	errs = json_object();
	if ((v = json_object_get(body, "displayName")) != NULL) {
		set_dn = 1;
		/* The same rule as a printer's name: people read it on the page. */
		if (json_is_string(v) && printer_utf8_len(json_string_value(v)) <= 200 &&
		    !printer_has_ctl(json_string_value(v)))
			dn = json_string_value(v)[0] ? json_string_value(v) : NULL;
		else if (!json_is_null(v))
			json_object_set_new(errs, "displayName", json_string("must be a string "
			    "of at most 200 characters without control characters, or null"));
	}
	if ((v = json_object_get(body, "role")) != NULL) {
		set_role = 1;
		if (json_is_string(v) && printers_role_ok(json_string_value(v)))
			role = json_string_value(v);
		else if (!json_is_null(v))
			json_object_set_new(errs, "role", json_string(
			    "must be receipt, kitchen, bar, label, other or null"));
	}
	if ((v = json_object_get(body, "enabled")) != NULL) {
		if (json_is_boolean(v))
			en = json_is_true(v) ? "true" : "false";
		else
			json_object_set_new(errs, "enabled", json_string("must be true or false"));
	}
	if (json_object_size(errs) == 0 && !set_dn && !set_role && !en)
		json_object_set_new(errs, "body",
		    json_string("give at least one of displayName, role, enabled"));
	if (json_object_size(errs) > 0) {
		json_decref(body);
		return http_error(r, 422, "validation_failed", "invalid fields", errs);
	}
	json_decref(errs);
	if (printers_prepare(r, &c, &sc, id, &rc) < 0) {
		json_decref(body);
		return rc;
	}
	if (db_begin(c) < 0)
		goto dberr;
	{
		const char *prm[8] = { sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL, id,
		    set_dn ? "1" : NULL, dn, set_role ? "1" : NULL, role, en };

		res = db_exec(c, PGRES_TUPLES_OK,
		    "UPDATE printers p SET "
		    "display_name = CASE WHEN $4::text IS NULL THEN display_name ELSE $5 END, "
		    "role = CASE WHEN $6::text IS NULL THEN role ELSE $7 END, "
		    "enabled = coalesce($8::boolean, enabled), updated_at = now() "
		    "WHERE p.company_id = $1 AND ($2::uuid IS NULL OR p.branch_id = $2) "
		    "AND p.id = $3 RETURNING printer_json(p)::text", 8, prm);
	}
	if (!res)
		goto dberr;
	if (PQntuples(res) == 0) {
		PQclear(res);
		db_rollback(c);
		json_decref(body);
		return http_error(r, 404, "not_found", "no such printer", NULL);
	}
	p = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	ev = json_pack("[{s:s,s:O,s:s,s:{s:O}}]", "type", "printer:updated", "branchId",
	    json_object_get(p, "branchId"), "printerId", id, "payload", "printer", p);
	rc = events_append(c, sc.company_id, ev);
	json_decref(ev);
	if (rc < 0 || db_commit(c) < 0)
		goto dberr;
	json_decref(body);
	return http_reply_json(r, 200, p);
dberr:
	db_rollback(c);
	json_decref(body);
	json_decref(p);
	return scope_db_failed(r, c);
}

static int
printers_delete(struct http_req *r)
{
	char id[HTTP_ID_LEN + 1];
	struct scope sc;
	PGconn *c;
	PGresult *res;
	json_t *ev;
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_ADMIN, &rc) < 0)
		return rc;
	if (printers_prepare(r, &c, &sc, id, &rc) < 0)
		return rc;
	if (db_begin(c) < 0)
		goto dberr;
	{
		const char *prm[3] = { sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL, id };

		res = db_exec(c, PGRES_TUPLES_OK,
		    "DELETE FROM printers p WHERE p.company_id = $1 "
		    "AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.id = $3 "
		    "RETURNING p.branch_id::text, p.name", 3, prm);
	}
	if (!res)
		goto dberr;
	if (PQntuples(res) == 0) {
		PQclear(res);
		db_rollback(c);
		return http_error(r, 404, "not_found", "no such printer", NULL);
	}
	ev = json_pack("[{s:s,s:s,s:s,s:{s:s,s:s}}]", "type", "printer:removed",
	    "branchId", PQgetvalue(res, 0, 0), "printerId", id, "payload", "id", id,
	    "name", PQgetvalue(res, 0, 1));
	PQclear(res);
	rc = events_append(c, sc.company_id, ev);
	json_decref(ev);
	if (rc < 0 || db_commit(c) < 0)
		goto dberr;
	return http_reply_data(r, 204, "application/json", "", 0);
dberr:
	db_rollback(c);
	return scope_db_failed(r, c);
}

/* Only admins and agents register printers; api_bulk.c does the rest. */
static int
printers_bulk(struct http_req *r)
{
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_ADMIN | AUTH_ALLOW_AGENT, &rc) < 0)
		return rc;
	return api_bulk_post(r);
}

const struct http_route api_printers_routes[] = {
	{ "POST", "/api/v1/printing/printers/bulk", printers_bulk, HTTP_AUTH, NULL },
	{ "GET", "/api/v1/printing/printers", printers_list, HTTP_AUTH, NULL },
	{ "GET", "/api/v1/printing/printers/{id}", printers_get, HTTP_AUTH, NULL },
	{ "PATCH", "/api/v1/printing/printers/{id}", printers_patch, HTTP_AUTH, NULL },
	{ "DELETE", "/api/v1/printing/printers/{id}", printers_delete, HTTP_AUTH, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
