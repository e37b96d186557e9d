/*
 * api_printers.c: GET, PATCH and removal of single printers and the filtered list.
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
#include "server/scope.h"
#include "server/store_events.h"
#include "server/store_printers.h"

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

/* Append s (len bytes) to a growing buffer; -1 without memory. */
static int
printers_buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 4096);
		char *nb;

		while (ncap < *len + n + 1)
			ncap *= 2;
		if ((nb = realloc(*buf, ncap)) == NULL)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/*
 * The page is built from the rows' JSON text as PostgreSQL wrote it: parsing
 * and re-serializing every printer would cost more than the query.
 */
static int
printers_list(struct http_req *r)
{
	const char *status = http_query(r, "status"), *q = http_query(r, "q");
	const char *after = http_query(r, "after"), *lim = http_query(r, "limit");
	char after_id[UUID_TEXT_LEN + 1] = "", *body = NULL;
	struct store_printer_filter f = { 0 };
	struct scope sc;
	PGconn *c;
	PGresult *res;
	long limit = LIST_DEFAULT;
	size_t len = 0, cap = 0;
	int rc, n, ok = 0, branch_ok;

	if (auth_require_role(r, AUTH_ALLOW_USERS | AUTH_ALLOW_INTEGRATION, &rc) < 0)
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
	if (after && uuid_norm(after, after_id, sizeof(after_id)) < 0)
		return http_error(r, 400, "bad_request", "after must be a cursor from next",
		    NULL);
	if (q && strlen(q) > 200)
		return http_error(r, 400, "bad_request", "q is at most 200 bytes", NULL);
	if (q && !printers_utf8_ok(q))
		return http_error(r, 400, "bad_request", "q must be UTF-8 text", NULL);
	if ((c = db_conn()) == NULL)
		return http_db_unavailable(r);
	/* The branch is checked by the list statement itself (SCOPE_NO_LOOKUP). */
	if (scope_resolve(r, c, http_query(r, "companyId"), http_query(r, "branchId"),
	    SCOPE_NO_LOOKUP, &sc, &rc) < 0)
		return rc;
	f.company_id = sc.company_id;
	f.branch_id = sc.branch_id[0] ? sc.branch_id : NULL;
	f.status = status;
	f.q = q && *q ? q : NULL;
	f.after = after_id[0] ? after_id : NULL;
	f.limit = limit;
	if ((res = store_printers_list(c, &f, &branch_ok)) == NULL)
		return http_db_failed(r, c);
	if (!branch_ok) {
		PQclear(res);
		return http_error(r, 403, "forbidden",
		    "the credential does not cover that company or branch", NULL);
	}
	n = PQntuples(res);
	if (printers_buf_add(&body, &len, &cap, "{\"printers\":[", 13) < 0)
		goto out;
	for (int i = 0; i < n && i < limit; i++)
		if ((i && printers_buf_add(&body, &len, &cap, ",", 1) < 0) ||
		    printers_buf_add(&body, &len, &cap, PQgetvalue(res, i, 1),
		    (size_t)PQgetlength(res, i, 1)) < 0)
			goto out;
	if (printers_buf_add(&body, &len, &cap, "],\"next\":", 9) < 0)
		goto out;
	if (n > limit) {
		if (printers_buf_add(&body, &len, &cap, "\"", 1) < 0 ||
		    printers_buf_add(&body, &len, &cap, PQgetvalue(res, (int)limit - 1, 2),
		    (size_t)PQgetlength(res, (int)limit - 1, 2)) < 0 ||
		    printers_buf_add(&body, &len, &cap, "\"}", 2) < 0)
			goto out;
	} else if (printers_buf_add(&body, &len, &cap, "null}", 5) < 0) {
		goto out;
	}
	ok = 1;
out:
	PQclear(res);
	if (!ok) {
		free(body);
		return http_error(r, 500, "internal", "out of memory", NULL);
	}
	rc = http_reply_data(r, 200, "application/json", body, len);
	free(body);
	return rc;
}

/* Load one printer in scope; 1 found (json in *out), 0 not found, -1 db error. */
static int
printers_load(PGconn *c, const struct scope *sc, const char *id, json_t **out)
{
	return store_printers_get(c, sc->company_id, sc->branch_id[0] ? sc->branch_id : NULL,
	    id, out);
}

/* Common start of the {id} handlers: connection, scope, id check. */
static int
printers_prepare(struct http_req *r, PGconn **c, struct scope *sc,
    char id[UUID_TEXT_LEN + 1], int *rc)
{
	if (uuid_norm(r->params[0], id, UUID_TEXT_LEN + 1) < 0) {
		*rc = http_error(r, 404, "not_found", "no such printer", NULL);
		return -1;
	}
	if ((*c = db_conn()) == NULL) {
		*rc = http_db_unavailable(r);
		return -1;
	}
	return scope_resolve(r, *c, http_query(r, "companyId"), NULL, 0, sc, rc);
}

static int
printers_get(struct http_req *r)
{
	char id[UUID_TEXT_LEN + 1];
	struct scope sc;
	json_t *p;
	PGconn *c;
	int rc, found;

	if (auth_require_role(r, AUTH_ALLOW_USERS | AUTH_ALLOW_INTEGRATION, &rc) < 0)
		return rc;
	if (printers_prepare(r, &c, &sc, id, &rc) < 0)
		return rc;
	if ((found = printers_load(c, &sc, id, &p)) < 0) {
		return http_db_failed(r, c);
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
	char id[UUID_TEXT_LEN + 1];
	json_t *body, *v, *errs, *p = NULL, *ev;
	const char *dn = NULL, *role = NULL, *en = NULL;
	int set_dn = 0, set_role = 0, rc, found;
	struct scope sc;
	PGconn *c;

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
	found = store_printers_patch(c, sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL,
	    id, set_dn, dn, set_role, role, en, &p);
	if (found < 0)
		goto dberr;
	if (!found) {
		db_rollback(c);
		json_decref(body);
		return http_error(r, 404, "not_found", "no such printer", NULL);
	}
	ev = json_pack("[{s:s,s:O,s:s,s:{s:O}}]", "type", "printer:updated", "branchId",
	    json_object_get(p, "branchId"), "printerId", id, "payload", "printer", p);
	rc = store_events_append(c, sc.company_id, ev);
	json_decref(ev);
	if (rc < 0 || db_commit(c) < 0)
		goto dberr;
	json_decref(body);
	return http_reply_json(r, 200, p);
dberr:
	db_rollback(c);
	json_decref(body);
	json_decref(p);
	return http_db_failed(r, c);
}

static int
printers_delete(struct http_req *r)
{
	char id[UUID_TEXT_LEN + 1], branch[UUID_TEXT_LEN + 1];
	struct scope sc;
	PGconn *c;
	json_t *ev, *name;
	int rc, found;

	if (auth_require_role(r, AUTH_ALLOW_ADMIN, &rc) < 0)
		return rc;
	if (printers_prepare(r, &c, &sc, id, &rc) < 0)
		return rc;
	if (db_begin(c) < 0)
		goto dberr;
	found = store_printers_delete(c, sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL,
	    id, branch, &name);
	if (found < 0)
		goto dberr;
	if (!found) {
		db_rollback(c);
		return http_error(r, 404, "not_found", "no such printer", NULL);
	}
	ev = json_pack("[{s:s,s:s,s:s,s:{s:s,s:o}}]", "type", "printer:removed",
	    "branchId", branch, "printerId", id, "payload", "id", id, "name", name);
	rc = store_events_append(c, sc.company_id, ev);
	json_decref(ev);
	if (rc < 0 || db_commit(c) < 0)
		goto dberr;
	return http_reply_data(r, 204, "application/json", "", 0);
dberr:
	db_rollback(c);
	return http_db_failed(r, c);
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
	{ HTTP_METHOD_DEL, "/api/v1/printing/printers/{id}", printers_delete, HTTP_AUTH, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
