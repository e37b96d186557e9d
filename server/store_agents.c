/*
 * store_agents.c: every SQL statement on agents, and the queries of the agents
 * API (which also count printers and sync batches). Named statements prepared
 * once per connection; revocation announces itself on STORE_AUTH_CHANNEL in
 * the same statement. Not here: presence rules (presence.c) or HTTP
 * (api_agents.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server/db.h"
#include "server/store_agents.h"

/* Agent `a` is online: an instance holds it and that instance is alive. */
#define AGENTS_ONLINE_SQL \
	"(a.online_instance IS NOT NULL AND a.last_seen > now() - interval '90 seconds')"

static const struct db_stmt st_create = { "agents_create",
	"INSERT INTO agents (company_id, branch_id, name, key_hash) "
	"SELECT b.company_id, b.id, $2, $3::bytea FROM branches b "
	"JOIN companies co ON co.id = b.company_id WHERE b.id = $1 "
	"AND b.revoked_at IS NULL AND co.revoked_at IS NULL RETURNING id", 3 };

static const struct db_stmt st_list_rows = { "agents_list_rows",
	"SELECT id, name, 'branch:' || branch_id, CASE WHEN revoked_at IS NULL THEN 'active' "
	"ELSE 'revoked' END FROM agents WHERE ($1::uuid IS NULL OR company_id = $1) AND "
	"($2::uuid IS NULL OR branch_id = $2) ORDER BY company_id, created_at, id", 2 };

/*
 * A revoked agent's sightings go with it: a printer's status is online while
 * any agent's sighting says so, and a revoked key will never report again, so
 * its last word must not outvote the agents that do (revocation is rare: the
 * branch's rows are looked at, not an index).
 */
static const struct db_stmt st_revoke = { "agents_revoke",
	"WITH r AS (UPDATE agents SET revoked_at = now() WHERE id = $1 "
	"  AND revoked_at IS NULL RETURNING id, company_id, branch_id), "
	"s AS (UPDATE printers p SET sources = p.sources #- ARRAY['agents', r.id::text] "
	"  FROM r WHERE p.company_id = r.company_id AND p.branch_id = r.branch_id "
	"  AND p.sources->'agents' ? r.id::text RETURNING 1) "
	"SELECT id, pg_notify('" STORE_AUTH_CHANNEL "', 'agent:' || id) FROM r", 1 };

static const struct db_stmt st_exists = { "agents_exists",
	"SELECT 1 FROM agents WHERE id = $1", 1 };

static const struct db_stmt st_name = { "agents_name",
	"SELECT name FROM agents WHERE id = $1 AND company_id = $2", 2 };

static const struct db_stmt st_list_json = { "agents_list_json",
	"SELECT json_build_object('agents', "
	"coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, "
	"'branchId', a.branch_id, 'hostname', a.hostname, 'version', a.version, "
	"'online', " AGENTS_ONLINE_SQL ", 'lastSeen', a.last_seen, "
	"'connectedAt', a.connected_at, 'offlineSince', a.offline_at, 'stats', a.stats) "
	"ORDER BY a.name, a.id), "
	"'[]'))::text FROM agents a WHERE a.company_id = $1 AND a.revoked_at IS NULL "
	"AND ($2::uuid IS NULL OR a.branch_id = $2)", 2 };

/* The recent window of the sync statistics, seconds; and one numeric
 * statistic an agent reported (agents.stats holds what it sent, as sent). */
#define AGENTS_STATS_WINDOW_S "300"
#define AGENTS_STAT(k) "CASE WHEN jsonb_typeof(a.stats -> '" k "') = 'number' " \
	"THEN (a.stats ->> '" k "')::numeric END"

static const struct db_stmt st_sync_stats_json = { "agents_sync_stats_json",
	"SELECT json_build_object("
	"'agents', (SELECT count(*) FROM agents a WHERE a.company_id = $1 AND "
	"  a.revoked_at IS NULL AND ($2::uuid IS NULL OR a.branch_id = $2)), "
	"'online', (SELECT count(*) FROM agents a WHERE a.company_id = $1 AND "
	"  a.revoked_at IS NULL AND ($2::uuid IS NULL OR a.branch_id = $2) AND "
	AGENTS_ONLINE_SQL "), "
	"'printers', (SELECT count(*) FROM printers p WHERE p.company_id = $1 AND "
	"  ($2::uuid IS NULL OR p.branch_id = $2)), "
	"'printersOnline', (SELECT count(*) FROM printers p WHERE p.company_id = $1 "
	"  AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.status = 'online'), "
	"'batches', b.n, 'lastBatchAt', b.last, 'printersSynced', b.synced, "
	"'itemsFailed', b.failed, 'avgDurationMs', b.avg_ms, "
	"'windowSeconds', " AGENTS_STATS_WINDOW_S ", "
	"'processingRate', round(w.ok * 60.0 / " AGENTS_STATS_WINDOW_S ", 1), "
	"'printersSyncedRecent', w.ok, 'itemsFailedRecent', w.items - w.ok, "
	"'successRate', CASE WHEN w.items > 0 THEN round(100.0 * w.ok / w.items, 1) END, "
	"'batchesRecent', w.n, 'responseMs', json_build_object('mean', w.mean, 'p95', w.p95), "
	"'queueSize', g.queue, 'retries', g.retries, 'activeBatches', g.active, "
	"'alerts', (SELECT coalesce(json_agg(json_build_object('branchId', x.id, 'reason', "
	"  x.alert_reason, 'since', x.alert_at) ORDER BY x.id), '[]') FROM branches x "
	"  WHERE x.company_id = $1 AND ($2::uuid IS NULL OR x.id = $2) "
	"  AND x.alert_reason IS NOT NULL))::text FROM "
	"(SELECT count(*) n, max(created_at) last, coalesce(sum(total - failed_count), "
	"0) synced, coalesce(sum(failed_count), 0) failed, round(avg(duration_ms)"
	"::numeric, 1) avg_ms FROM sync_batches WHERE company_id = $1 AND "
	"($2::uuid IS NULL OR branch_id = $2)) b, "
	"(SELECT count(*) n, coalesce(sum(total), 0) items, coalesce(sum(total - "
	"failed_count), 0) ok, round(avg(duration_ms)::numeric, 1) mean, "
	"round(percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)::numeric, 1) p95 "
	"FROM sync_batches WHERE company_id = $1 AND ($2::uuid IS NULL OR branch_id = $2) "
	"AND created_at > now() - make_interval(secs => " AGENTS_STATS_WINDOW_S ")) w, "
	"(SELECT coalesce(sum(" AGENTS_STAT("queueSize") "), 0) queue, "
	"coalesce(sum(" AGENTS_STAT("retries") "), 0) retries, "
	"coalesce(sum(" AGENTS_STAT("activeBatches") "), 0) active FROM agents a "
	"WHERE a.company_id = $1 AND a.revoked_at IS NULL AND "
	"($2::uuid IS NULL OR a.branch_id = $2)) g", 2 };

static const struct db_stmt st_printer_in_scope = { "agents_printer_in_scope",
	"SELECT 1 FROM printers p WHERE p.company_id = $1 "
	"AND ($2::uuid IS NULL OR p.branch_id = $2) AND p.id = $3", 3 };

static const struct db_stmt st_active_in_scope = { "agents_active_in_scope",
	"SELECT 1 FROM agents a WHERE a.company_id = $1 AND ($2::uuid IS NULL OR "
	"a.branch_id = $2) AND a.id = $3 AND a.revoked_at IS NULL", 3 };

/* Agents that report the printer first; any online one of its branch else. */
static const struct db_stmt st_online_for_printer = { "agents_online_for_printer",
	"WITH t AS (SELECT a.id, (p.sources -> 'agents') ? a.id::text AS sees "
	"FROM printers p JOIN agents a ON a.company_id = p.company_id AND "
	"a.branch_id = p.branch_id WHERE p.company_id = $1 AND p.id = $3 AND "
	"($2::uuid IS NULL OR p.branch_id = $2) AND a.revoked_at IS NULL AND "
	AGENTS_ONLINE_SQL ") SELECT id FROM t WHERE sees OR NOT EXISTS "
	"(SELECT 1 FROM t WHERE sees) ORDER BY id", 3 };

static const struct db_stmt st_online_one = { "agents_online_one",
	"SELECT a.id FROM agents a WHERE a.company_id = $1 AND ($2::uuid IS NULL OR "
	"a.branch_id = $2) AND a.id = $3 AND " AGENTS_ONLINE_SQL, 3 };

static const struct db_stmt st_online_in_branch = { "agents_online_in_branch",
	"SELECT a.id FROM agents a WHERE a.company_id = $1 AND a.branch_id = $2 "
	"AND a.revoked_at IS NULL AND " AGENTS_ONLINE_SQL " ORDER BY a.id", 2 };

static const struct db_stmt st_connected = { "agents_connected",
	"UPDATE agents SET online_instance = $2, connected_at = now(), last_seen = now() "
	"WHERE id = $1", 2 };

static const struct db_stmt st_hello = { "agents_hello",
	"UPDATE agents SET online_instance = $2, offline_at = NULL, swept_at = NULL, "
	"hostname = coalesce($3, hostname), version = coalesce($4, version), "
	"last_seen = now(), connected_at = coalesce(connected_at, now()) "
	"WHERE id = $1 AND revoked_at IS NULL "
	"RETURNING company_id, branch_id, name, hostname, version", 4 };

static const struct db_stmt st_disconnected = { "agents_disconnected",
	"UPDATE agents SET online_instance = NULL, last_seen = now(), "
	"offline_at = coalesce(offline_at, now()) WHERE id = $1 AND online_instance = $2 "
	"RETURNING company_id, branch_id, name, hostname, version", 2 };

/* A revoked agent, branch or company writes nothing: the socket may outlive
 * the revocation until its instance hears of it. */
static const struct db_stmt st_stats = { "agents_stats",
	"UPDATE agents a SET stats = $2::jsonb, last_seen = now() "
	"FROM branches b, companies co WHERE a.id = $1 AND a.revoked_at IS NULL "
	"AND b.id = a.branch_id AND b.revoked_at IS NULL "
	"AND co.id = a.company_id AND co.revoked_at IS NULL "
	"RETURNING a.company_id, a.branch_id", 2 };

static const struct db_stmt st_heartbeat = { "agents_heartbeat",
	"UPDATE agents SET last_seen = now(), online_instance = $2 WHERE id IN "
	"(SELECT value::uuid FROM jsonb_array_elements_text($1::jsonb))", 2 };

/*
 * Leases. Agent `a` has contact while a live instance holds its websocket,
 * or it was heard from (last_seen: websocket, statistics) or sent a bulk
 * request (its sync_batches rows) within $1 seconds.
 */
#define AGENTS_CONTACT_SQL \
	"(" AGENTS_ONLINE_SQL " OR a.last_seen > now() - make_interval(secs => $1::int) " \
	"OR EXISTS (SELECT 1 FROM sync_batches b WHERE b.agent_id = a.id AND " \
	"b.created_at > now() - make_interval(secs => $1::int)))"

/* Agents heard from once and silent for longer than the lease, not yet swept. */
static const struct db_stmt st_lease_expired = { "agents_lease_expired",
	"SELECT a.id FROM agents a WHERE a.swept_at IS NULL AND a.revoked_at IS NULL "
	"AND NOT " AGENTS_CONTACT_SQL " AND (a.last_seen IS NOT NULL OR EXISTS "
	"(SELECT 1 FROM sync_batches b WHERE b.agent_id = a.id)) ORDER BY a.id LIMIT $2::int", 2 };

/* The same test again under the row lock; the last column: was it announced
 * offline already (by its websocket closing)? */
static const struct db_stmt st_lease_sweep = { "agents_lease_sweep",
	"UPDATE agents a SET swept_at = now(), offline_at = coalesce(o.offline_at, now()) "
	"FROM (SELECT id, offline_at FROM agents WHERE id = $2 FOR UPDATE) o "
	"WHERE a.id = o.id AND a.swept_at IS NULL AND a.revoked_at IS NULL AND NOT "
	AGENTS_CONTACT_SQL " RETURNING a.company_id, a.branch_id, a.name, a.hostname, "
	"a.version, o.offline_at IS NOT NULL", 2 };

/*
 * Swept (its lease ran out), no websocket held (hello announces those), and
 * heard from since: over HTTP, a bulk request or statistics. An agent whose
 * websocket closed and that goes on over HTTP was never swept: its lease held.
 */
#define AGENTS_BACK_SQL \
	"a.swept_at IS NOT NULL AND a.offline_at IS NOT NULL AND a.revoked_at IS NULL " \
	"AND a.online_instance IS NULL " \
	"AND (a.last_seen > a.offline_at OR EXISTS (SELECT 1 FROM sync_batches b " \
	"WHERE b.agent_id = a.id AND b.created_at > a.offline_at))"

static const struct db_stmt st_lease_back = { "agents_lease_back",
	"SELECT a.id FROM agents a WHERE " AGENTS_BACK_SQL " ORDER BY a.id LIMIT $1::int", 1 };

static const struct db_stmt st_lease_renew = { "agents_lease_renew",
	"UPDATE agents a SET offline_at = NULL, swept_at = NULL "
	"FROM (SELECT id FROM agents WHERE id = $1 FOR UPDATE) o WHERE a.id = o.id AND "
	AGENTS_BACK_SQL " RETURNING a.company_id, a.branch_id, a.name, a.hostname, "
	"a.version", 1 };

/* Rows of a statement: 1 when there is one at least (first value to `out`
 * when given), 0 none, -1 on failure. */
static int
st_first(PGconn *c, const struct db_stmt *s, const char *const *p, char *out, size_t len)
{
	return db_first(db_run(c, s, PGRES_TUPLES_OK, p), out, len);
}

/* The one text value of a statement, parsed as JSON; NULL on failure. */
static json_t *
st_json(PGconn *c, const struct db_stmt *s, const char *const *p)
{
	PGresult *r = db_run(c, s, PGRES_TUPLES_OK, p);
	json_error_t err;
	json_t *j = NULL;

	if (!r)
		return NULL;
	if (PQntuples(r) == 1 &&
	    (j = json_loads(PQgetvalue(r, 0, 0), 0, &err)) == NULL)
		log_warnx("[DB] %s: unreadable JSON: %s", s->name, err.text);
	PQclear(r);
	return j;
}

/* The first column of every row, at most max, as an array of strings. */
static json_t *
st_ids(PGconn *c, const struct db_stmt *s, const char *const *p, size_t max)
{
	PGresult *r = db_run(c, s, PGRES_TUPLES_OK, p);
	json_t *ids;

	if (!r)
		return NULL;
	ids = json_array();
	for (int i = 0; ids && i < PQntuples(r) && (size_t)i < max; i++)
		json_array_append_new(ids, json_string(PQgetvalue(r, i, 0)));
	PQclear(r);
	return ids;
}

int
store_agents_create(PGconn *c, const char *branch, const char *name, const char *key_hash,
    char id[STORE_ID_LEN + 1])
{
	const char *p[3] = { branch, name, key_hash };

	return st_first(c, &st_create, p, id, STORE_ID_LEN + 1);
}

PGresult *
store_agents_list_rows(PGconn *c, const char *company, const char *branch)
{
	const char *p[2] = { company, branch };

	return db_run(c, &st_list_rows, PGRES_TUPLES_OK, p);
}

int
store_agents_revoke(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return st_first(c, &st_revoke, p, NULL, 0);
}

int
store_agents_exists(PGconn *c, const char *id)
{
	const char *p[1] = { id };

	return st_first(c, &st_exists, p, NULL, 0);
}

int
store_agents_name(PGconn *c, const char *id, const char *company, char *name, size_t len)
{
	const char *p[2] = { id, company };

	return st_first(c, &st_name, p, name, len);
}

json_t *
store_agents_list_json(PGconn *c, const char *company, const char *branch)
{
	const char *p[2] = { company, branch };

	return st_json(c, &st_list_json, p);
}

json_t *
store_agents_sync_stats_json(PGconn *c, const char *company, const char *branch)
{
	const char *p[2] = { company, branch };

	return st_json(c, &st_sync_stats_json, p);
}

int
store_agents_printer_in_scope(PGconn *c, const char *company, const char *branch,
    const char *printer)
{
	const char *p[3] = { company, branch, printer };

	return st_first(c, &st_printer_in_scope, p, NULL, 0);
}

int
store_agents_active_in_scope(PGconn *c, const char *company, const char *branch,
    const char *agent)
{
	const char *p[3] = { company, branch, agent };

	return st_first(c, &st_active_in_scope, p, NULL, 0);
}

json_t *
store_agents_online_for_printer(PGconn *c, const char *company, const char *branch,
    const char *printer, size_t max)
{
	const char *p[3] = { company, branch, printer };

	return st_ids(c, &st_online_for_printer, p, max);
}

json_t *
store_agents_online_one(PGconn *c, const char *company, const char *branch,
    const char *agent, size_t max)
{
	const char *p[3] = { company, branch, agent };

	return st_ids(c, &st_online_one, p, max);
}

json_t *
store_agents_online_in_branch(PGconn *c, const char *company, const char *branch,
    size_t max)
{
	const char *p[2] = { company, branch };

	return st_ids(c, &st_online_in_branch, p, max);
}

int
store_agents_connected(PGconn *c, const char *agent, const char *instance)
{
	const char *p[2] = { agent, instance };
	PGresult *r = db_run(c, &st_connected, PGRES_COMMAND_OK, p);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

/* Run a presence UPDATE ... RETURNING company_id, branch_id, name, hostname,
 * version[, a boolean into *flag when given]; see store_agents_hello. */
static int
st_presence_flag(PGconn *c, const struct db_stmt *s, const char *const *p, json_t **row,
    int *flag)
{
	PGresult *r = db_run(c, s, PGRES_TUPLES_OK, p);
	int rc = 0;

	*row = NULL;
	if (!r)
		return -1;
	if (PQntuples(r) > 0) {
		*row = json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "companyId", PQgetvalue(r, 0, 0),
		    "branchId", PQgetvalue(r, 0, 1), "name", PQgetvalue(r, 0, 2),
		    "hostname", PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3),
		    "version", PQgetisnull(r, 0, 4) ? NULL : PQgetvalue(r, 0, 4));
		rc = *row ? 1 : -1;
		if (flag)
			*flag = strcmp(PQgetvalue(r, 0, 5), "t") == 0;
	}
	PQclear(r);
	return rc;
}

static int
st_presence(PGconn *c, const struct db_stmt *s, const char *const *p, json_t **row)
{
	return st_presence_flag(c, s, p, row, NULL);
}

int
store_agents_hello(PGconn *c, const char *agent, const char *instance,
    const char *hostname, const char *version, json_t **row)
{
	const char *p[4] = { agent, instance, hostname, version };

	return st_presence(c, &st_hello, p, row);
}

int
store_agents_disconnected(PGconn *c, const char *agent, const char *instance,
    json_t **row)
{
	const char *p[2] = { agent, instance };

	return st_presence(c, &st_disconnected, p, row);
}

int
store_agents_stats(PGconn *c, const char *agent, const json_t *stats,
    char company[STORE_ID_LEN + 1], char branch[STORE_ID_LEN + 1])
{
	char *s = json_dumps(stats, JSON_COMPACT);
	const char *p[2] = { agent, s };
	PGresult *r;
	int rc = 0;

	if (!s)
		return -1;
	r = db_run(c, &st_stats, PGRES_TUPLES_OK, p);
	free(s);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		snprintf(company, STORE_ID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
		snprintf(branch, STORE_ID_LEN + 1, "%s", PQgetvalue(r, 0, 1));
		rc = 1;
	}
	PQclear(r);
	return rc;
}

int
store_agents_heartbeat(PGconn *c, const json_t *ids, const char *instance)
{
	char *s = json_dumps(ids, JSON_COMPACT);
	const char *p[2] = { s, instance };
	PGresult *r;

	if (!s)
		return -1;
	r = db_run(c, &st_heartbeat, PGRES_COMMAND_OK, p);
	free(s);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

json_t *
store_agents_lease_expired(PGconn *c, long offline_after, size_t max)
{
	char secs[24], lim[24];
	const char *p[2] = { secs, lim };

	snprintf(secs, sizeof(secs), "%ld", offline_after);
	snprintf(lim, sizeof(lim), "%zu", max);
	return st_ids(c, &st_lease_expired, p, max);
}

int
store_agents_lease_sweep(PGconn *c, const char *agent, long offline_after, json_t **row,
    int *was_offline)
{
	char secs[24];
	const char *p[2] = { secs, agent };

	snprintf(secs, sizeof(secs), "%ld", offline_after);
	return st_presence_flag(c, &st_lease_sweep, p, row, was_offline);
}

json_t *
store_agents_lease_back(PGconn *c, size_t max)
{
	char lim[24];
	const char *p[1] = { lim };

	snprintf(lim, sizeof(lim), "%zu", max);
	return st_ids(c, &st_lease_back, p, max);
}

int
store_agents_lease_renew(PGconn *c, const char *agent, json_t **row)
{
	const char *p[1] = { agent };

	return st_presence(c, &st_lease_renew, p, row);
}
