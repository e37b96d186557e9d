/*
 * api_system.c: /healthz (process up), /readyz (database reachable),
 * /metrics (Prometheus text) and /api/v1/printing/test-public. Not here: the
 * metric sources (metrics.c and each module's own).
 */
#include <stdlib.h>

#include "server/api_system.h"
#include "server/db.h"
#include "server/metrics.h"
#include "server/store_schema.h"

static int
sys_healthz(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static int
sys_readyz(struct http_req *r)
{
	PGconn *c = db_conn();

	if (!c)
		return http_error(r, 503, "database_unavailable",
		    "the database cannot be reached", NULL);
	if (store_schema_ping(c) < 0) {
		db_check_broken(c);
		return http_error(r, 503, "database_unavailable",
		    "the database cannot be reached", NULL);
	}
	return http_reply_json(r, 200, json_pack("{s:s,s:s}", "status", "ready",
	    "database", "ok"));
}

static int
sys_test_public(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:b,s:s,s:s}", "success", 1,
	    "message", "printmaster server is running", "version", PM_VERSION));
}

static int
sys_metrics(struct http_req *r)
{
	struct metrics_buf m = { 0 };
	int rc;

	if (metrics_render(&m) < 0) {
		free(m.data);
		return http_error(r, 500, "internal", "could not render metrics", NULL);
	}
	rc = http_reply_data(r, 200, "text/plain; version=0.0.4", m.data, m.len);
	free(m.data);
	return rc;
}

const struct http_route api_system_routes[] = {
	{ "GET", "/healthz", sys_healthz, HTTP_PUBLIC, NULL },
	{ "GET", "/readyz", sys_readyz, HTTP_PUBLIC, NULL },
	{ "GET", "/metrics", sys_metrics, HTTP_PUBLIC, NULL },
	{ "GET", "/api/v1/printing/test-public", sys_test_public, HTTP_PUBLIC, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
