/*
 * api_agents.c: GET agents and sync stats, POST stats (agents), and the scan /
 * test-print commands. A command is published with NOTIFY on the commands
 * channel; every instance's listener delivers it to the agents it holds, so
 * the answer here depends only on who the database says is online. Not here:
 * SQL (store_agents.c, store_events.c) or delivery to the agent (gateway).
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
#include "server/store_agents.h"

#define AGENTS_MAX_TARGETS 64

/* A store query of the agents API: scope ids in, a new JSON body out. */
typedef json_t *(*agents_query_fn)(PGconn *c, const char *company, const char *branch);

/*
 * For a user credential: run `query` for the company and the branch (NULL for
 * all of the company's) from the credential and the query's
 * companyId/branchId, and answer its JSON.
 */
static int
agents_scoped_json(struct http_req *r, agents_query_fn query)
{
	struct scope sc;
	PGconn *c;
	json_t *body;
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_USERS, &rc) < 0)
		return rc;
	if ((c = db_conn()) == NULL)
		return http_db_unavailable(r);
	if (scope_resolve(r, c, http_query(r, "companyId"), http_query(r, "branchId"), 0,
	    &sc, &rc) < 0)
		return rc;
	if ((body = query(c, sc.company_id, sc.branch_id[0] ? sc.branch_id : NULL)) == NULL)
		return http_db_failed(r, c);
	return http_reply_json(r, 200, body);
}

static int
agents_list(struct http_req *r)
{
	return agents_scoped_json(r, store_agents_list_json);
}

static int
agents_sync_stats(struct http_req *r)
{
	return agents_scoped_json(r, store_agents_sync_stats_json);
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
	if ((c = db_conn()) == NULL) {
		json_decref(body);
		return http_db_unavailable(r);
	}
	rc = presence_db_stats(c, r->auth.principal_id, stats);
	json_decref(body);
	if (rc < 0)
		return http_db_failed(r, c);
	if (rc > 0)	/* revoked since the credential was checked */
		return http_error(r, 401, "unauthorized", "the credential was revoked", NULL);
	return http_reply_data(r, 204, "application/json", "", 0);
}

/*
 * Publish `command` to the online agents `ids` (a new array the store made,
 * NULL when that failed; taken over here) and answer 202, or 409 when there
 * is none. `printer` is the test-print target or NULL.
 */
static int
agents_command(struct http_req *r, PGconn *c, const struct scope *sc,
    const char *command, const char *printer, json_t *ids)
{
	unsigned char rnd[16];
	char req[33];
	json_t *msg;
	size_t count;
	int rc;

	if (!ids)
		return http_db_failed(r, c);
	if ((count = json_array_size(ids)) == 0) {
		json_decref(ids);
		return http_error(r, 409, "no_agent",
		    "no agent of that branch is connected", NULL);
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(req, sizeof(req), rnd, sizeof(rnd));
	msg = json_pack("{s:o,s:s,s:s,s:s,s:s?}", "agents", ids, "command", command,
	    "requestId", req, "companyId", sc->company_id, "printerId", printer);
	rc = msg ? listener_publish_command(c, msg) : -1;
	json_decref(msg);
	if (rc < 0)
		return http_db_failed(r, c);
	return http_reply_json(r, 202, json_pack("{s:s,s:i}", "requestId", req, "agents",
	    (int)count));
}

/* Shared start of the command handlers: role, connection, scope. */
static int
agents_command_prepare(struct http_req *r, PGconn **c, const char *branch,
    int flags, struct scope *sc, int *rc)
{
	if (auth_require_role(r, AUTH_ALLOW_ADMIN | AUTH_ALLOW_AGENT, rc) < 0)
		return -1;
	if ((*c = db_conn()) == NULL) {
		*rc = http_db_unavailable(r);
		return -1;
	}
	return scope_resolve(r, *c, http_query(r, "companyId"), branch, flags, sc, rc);
}

static int
agents_test_print(struct http_req *r)
{
	char id[UUID_TEXT_LEN + 1];
	const char *branch;
	struct scope sc;
	PGconn *c;
	int rc;

	if (uuid_norm(r->params[0], id, sizeof(id)) < 0)
		return http_error(r, 404, "not_found", "no such printer", NULL);
	if (agents_command_prepare(r, &c, NULL, 0, &sc, &rc) < 0)
		return rc;
	branch = sc.branch_id[0] ? sc.branch_id : NULL;
	if ((rc = store_agents_printer_in_scope(c, sc.company_id, branch, id)) < 0)
		return http_db_failed(r, c);
	if (rc == 0)
		return http_error(r, 404, "not_found", "no such printer", NULL);
	return agents_command(r, c, &sc, "test-print", id,
	    store_agents_online_for_printer(c, sc.company_id, branch, id,
	    AGENTS_MAX_TARGETS));
}

static int
agents_scan_one(struct http_req *r)
{
	char id[UUID_TEXT_LEN + 1];
	const char *branch;
	struct scope sc;
	PGconn *c;
	int rc;

	if (uuid_norm(r->params[0], id, sizeof(id)) < 0)
		return http_error(r, 404, "not_found", "no such agent", NULL);
	if (agents_command_prepare(r, &c, NULL, 0, &sc, &rc) < 0)
		return rc;
	branch = sc.branch_id[0] ? sc.branch_id : NULL;
	if ((rc = store_agents_active_in_scope(c, sc.company_id, branch, id)) < 0)
		return http_db_failed(r, c);
	if (rc == 0)
		return http_error(r, 404, "not_found", "no such agent", NULL);
	return agents_command(r, c, &sc, "scan", NULL,
	    store_agents_online_one(c, sc.company_id, branch, id, AGENTS_MAX_TARGETS));
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
	return agents_command(r, c, &sc, "scan", NULL,
	    store_agents_online_in_branch(c, sc.company_id, sc.branch_id,
	    AGENTS_MAX_TARGETS));
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
