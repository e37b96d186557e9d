/*
 * api_agents.c: GET agents and sync stats, POST stats (agents), and the scan /
 * test-print commands. A command is published with NOTIFY on the commands
 * channel; every instance's listener delivers it to the agents it holds, so
 * the answer here depends only on who the database says is online.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "server/api_agents.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/listener.h"
#include "server/presence.h"
#include "server/scope.h"

#define AGENTS_MAX_TARGETS 64

/* Run a query whose one row, one column is a JSON text, and answer it. */
static int
agents_reply_query(struct http_req *r, PGconn *c, const char *sql, int n,
    const char *const *p)
{
	PGresult *res = db_exec(c, PGRES_TUPLES_OK, sql, n, p);
	json_t *body;

	if (!res) {
		db_check_broken(c);
		return scope_db_unavailable(r);
	}
	body = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return http_reply_json(r, 200, body);
}

static int
agents_list(struct http_req *r)
{
	struct scope sc;
	PGconn *c;
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_USERS, &rc) < 0)
		return rc;
	if ((c = db_conn()) == NULL)
		return scope_db_unavailable(r);
	if (scope_resolve(r, c, http_query(r, "companyId"), http_query(r, "branchId"), 0,
	    &sc, &rc) < 0)
		return rc;
	{
		const char *p[2] = { sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL };

		return agents_reply_query(r, c, "SELECT json_build_object('agents', "
		    "coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, "
		    "'branchId', a.branch_id, 'hostname', a.hostname, 'version', a.version, "
		    "'online', " PRESENCE_ONLINE_SQL ", 'lastSeen', a.last_seen, "
		    "'connectedAt', a.connected_at, 'stats', a.stats) ORDER BY a.name, a.id), "
		    "'[]'))::text FROM agents a WHERE a.company_id = $1 AND a.revoked_at IS NULL "
		    "AND ($2::uuid IS NULL OR a.branch_id = $2)", 2, p);
	}
}

static int
agents_sync_stats(struct http_req *r)
{
	struct scope sc;
	PGconn *c;
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_USERS, &rc) < 0)
		return rc;
	if ((c = db_conn()) == NULL)
		return scope_db_unavailable(r);
	if (scope_resolve(r, c, http_query(r, "companyId"), http_query(r, "branchId"), 0,
	    &sc, &rc) < 0)
		return rc;
	{
		const char *p[2] = { sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL };

		return agents_reply_query(r, c, "SELECT json_build_object("
		    "'agents', (SELECT count(*) FROM agents a WHERE a.company_id = $1 AND "
		    "  a.revoked_at IS NULL AND ($2::uuid IS NULL OR a.branch_id = $2)), "
		    "'online', (SELECT count(*) FROM agents a WHERE a.company_id = $1 AND "
		    "  a.revoked_at IS NULL AND ($2::uuid IS NULL OR a.branch_id = $2) AND "
		    PRESENCE_ONLINE_SQL "), "
		    "'printers', (SELECT count(*) FROM printers p WHERE p.company_id = $1 AND "
		    "  ($2::uuid IS NULL OR p.branch_id = $2)), "
		    "'printersOnline', (SELECT count(*) FROM printers p WHERE p.company_id = $1 "
		    "  AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.status = 'online'), "
		    "'batches', b.n, 'lastBatchAt', b.last, 'printersSynced', b.synced, "
		    "'itemsFailed', b.failed, 'avgDurationMs', b.avg_ms) FROM "
		    "(SELECT count(*) n, max(created_at) last, coalesce(sum(total - failed_count), "
		    "0) synced, coalesce(sum(failed_count), 0) failed, round(avg(duration_ms)"
		    "::numeric, 1) avg_ms FROM sync_batches WHERE company_id = $1 AND "
		    "($2::uuid IS NULL OR branch_id = $2)) b", 2, p);
	}
}

static int
agents_post_stats(struct http_req *r)
{
	json_t *body, *stats;
	PGconn *c;
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_AGENT, &rc) < 0)
		return rc;
	if ((body = http_body_json(r, &rc)) == NULL)
		return rc;
	stats = json_object_get(body, "stats");
	if (!presence_stats_valid(stats)) {
		json_decref(body);
		return http_error(r, 422, "validation_failed",
		    "stats must be a flat JSON object of at most 4 KB", NULL);
	}
	if ((c = db_conn()) == NULL || presence_db_stats(c, r->auth.principal_id, stats) < 0) {
		json_decref(body);
		return scope_db_unavailable(r);
	}
	json_decref(body);
	return http_reply_data(r, 204, "application/json", "", 0);
}

/*
 * Publish `command` to the online agents the query selects (first column: the
 * agent id) and answer 202, or 409 when there is none. `printer` is the
 * test-print target or NULL.
 */
static int
agents_command(struct http_req *r, PGconn *c, const struct scope *sc,
    const char *command, const char *printer, const char *sql, int n,
    const char *const *p)
{
	unsigned char rnd[16];
	char req[33];
	PGresult *res;
	json_t *ids, *msg;
	int count, rc;

	if ((res = db_exec(c, PGRES_TUPLES_OK, sql, n, p)) == NULL) {
		db_check_broken(c);
		return scope_db_unavailable(r);
	}
	count = PQntuples(res);
	if (count == 0) {
		PQclear(res);
		return http_error(r, 409, "no_agent",
		    "no agent of that branch is connected", NULL);
	}
	ids = json_array();
	for (int i = 0; i < count && i < AGENTS_MAX_TARGETS; i++)
		json_array_append_new(ids, json_string(PQgetvalue(res, i, 0)));
	PQclear(res);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(req, sizeof(req), rnd, sizeof(rnd));
	msg = json_pack("{s:o,s:s,s:s,s:s,s:s?}", "agents", ids, "command", command,
	    "requestId", req, "companyId", sc->company_id, "printerId", printer);
	rc = msg ? listener_publish_command(c, msg) : -1;
	json_decref(msg);
	if (rc < 0) {
		db_check_broken(c);
		return scope_db_unavailable(r);
	}
	return http_reply_json(r, 202, json_pack("{s:s,s:i}", "requestId", req, "agents",
	    count < AGENTS_MAX_TARGETS ? count : AGENTS_MAX_TARGETS));
}

/* Shared start of the command handlers: role, connection, scope. */
static int
agents_command_prepare(struct http_req *r, PGconn **c, const char *branch,
    int flags, struct scope *sc, int *rc)
{
	if (auth_require_role(r, AUTH_ALLOW_ADMIN | AUTH_ALLOW_AGENT, rc) < 0)
		return -1;
	if ((*c = db_conn()) == NULL) {
		*rc = scope_db_unavailable(r);
		return -1;
	}
	return scope_resolve(r, *c, http_query(r, "companyId"), branch, flags, sc, rc);
}

static int
agents_test_print(struct http_req *r)
{
	char id[HTTP_ID_LEN + 1];
	struct scope sc;
	PGconn *c;
	PGresult *res;
	int rc;

	if (!scope_uuid(r->params[0], id))
		return http_error(r, 404, "not_found", "no such printer", NULL);
	if (agents_command_prepare(r, &c, NULL, 0, &sc, &rc) < 0)
		return rc;
	{
		const char *p[3] = { sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL, id };

		res = db_exec(c, PGRES_TUPLES_OK, "SELECT 1 FROM printers p WHERE "
		    "p.company_id = $1 AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.id = $3",
		    3, p);
		if (!res) {
			db_check_broken(c);
			return scope_db_unavailable(r);
		}
		rc = PQntuples(res);
		PQclear(res);
		if (rc == 0)
			return http_error(r, 404, "not_found", "no such printer", NULL);
		/* Agents that report the printer first; any online one of its branch else. */
		return agents_command(r, c, &sc, "test-print", id,
		    "WITH t AS (SELECT a.id, (p.sources -> 'agents') ? a.id::text AS sees "
		    "FROM printers p JOIN agents a ON a.company_id = p.company_id AND "
		    "a.branch_id = p.branch_id WHERE p.company_id = $1 AND p.id = $3 AND "
		    "($2::uuid IS NULL OR p.branch_id = $2) AND a.revoked_at IS NULL AND "
		    PRESENCE_ONLINE_SQL ") SELECT id FROM t WHERE sees OR NOT EXISTS "
		    "(SELECT 1 FROM t WHERE sees) ORDER BY id", 3, p);
	}
}

static int
agents_scan_one(struct http_req *r)
{
	char id[HTTP_ID_LEN + 1];
	struct scope sc;
	PGconn *c;
	PGresult *res;
	int rc, found;

	if (!scope_uuid(r->params[0], id))
		return http_error(r, 404, "not_found", "no such agent", NULL);
	if (agents_command_prepare(r, &c, NULL, 0, &sc, &rc) < 0)
		return rc;
	{
		const char *p[3] = { sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL, id };

		res = db_exec(c, PGRES_TUPLES_OK, "SELECT 1 FROM agents a WHERE "
		    "a.company_id = $1 AND ($2::uuid IS NULL OR a.branch_id = $2) AND "
		    "a.id = $3 AND a.revoked_at IS NULL", 3, p);
		if (!res) {
			db_check_broken(c);
			return scope_db_unavailable(r);
		}
		found = PQntuples(res);
		PQclear(res);
		if (!found)
			return http_error(r, 404, "not_found", "no such agent", NULL);
		return agents_command(r, c, &sc, "scan", NULL, "SELECT a.id FROM agents a "
		    "WHERE a.company_id = $1 AND ($2::uuid IS NULL OR a.branch_id = $2) AND "
		    "a.id = $3 AND " PRESENCE_ONLINE_SQL, 3, p);
	}
}

static int
agents_scan_branch(struct http_req *r)
{
	const char *branch = NULL;
	json_t *body = NULL;
	struct scope sc;
	PGconn *c;
	int rc;

	if (r->body_len > 0) {
		if ((body = http_body_json(r, &rc)) == NULL)
			return rc;
		branch = json_string_value(json_object_get(body, "branchId"));
		if (json_object_get(body, "branchId") && !branch &&
		    !json_is_null(json_object_get(body, "branchId"))) {
			json_decref(body);
			return http_error(r, 422, "validation_failed", "branchId must be a string",
			    NULL);
		}
	}
	if (agents_command_prepare(r, &c, branch, SCOPE_NEED_BRANCH, &sc, &rc) < 0) {
		json_decref(body);
		return rc;
	}
	json_decref(body);
	{
		const char *p[2] = { sc.company_id, sc.branch_id };

		return agents_command(r, c, &sc, "scan", NULL, "SELECT a.id FROM agents a "
		    "WHERE a.company_id = $1 AND a.branch_id = $2 AND a.revoked_at IS NULL "
		    "AND " PRESENCE_ONLINE_SQL " ORDER BY a.id", 2, p);
	}
}

const struct http_route api_agents_routes[] = {
	{ "GET", "/api/v1/printing/agents", agents_list, HTTP_AUTH, NULL },
	{ "POST", "/api/v1/printing/agents/me/stats", agents_post_stats, HTTP_AUTH, NULL },
	{ "POST", "/api/v1/printing/agents/{id}/scan", agents_scan_one, HTTP_AUTH, NULL },
	{ "POST", "/api/v1/printing/scan", agents_scan_branch, HTTP_AUTH, NULL },
	{ "GET", "/api/v1/printing/sync/stats", agents_sync_stats, HTTP_AUTH, NULL },
	{ "POST", "/api/v1/printing/printers/{id}/test-print", agents_test_print, HTTP_AUTH,
	  NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
