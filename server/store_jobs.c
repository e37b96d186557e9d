/*
 * store_jobs.c: print_jobs (see store_jobs.h). Transitions return the same
 * columns (company, branch, printer, state, job json), from which the events
 * are made and appended in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server/db.h"
#include "server/store_events.h"
#include "server/store_jobs.h"
#include "server/store_sql.h"

/* What every transition returns, for its event. */
#define STORE_JOBS_ROW \
	"j.company_id::text, j.branch_id::text, j.printer_id::text, j.state, " \
	"print_job_json(j)::text"

/* The websocket message that hands job j (of printer p) to an agent. */
#define STORE_JOBS_DELIVERY \
	"json_build_object('type', 'job', 'job', json_build_object('id', j.id, " \
	"'title', j.title, 'contentType', j.content_type, 'copies', j.copies, " \
	"'content', translate(encode(j.content, 'base64'), E'\\n', ''), 'printer', " \
	"json_build_object('id', p.id, 'name', p.name, 'protocol', p.protocol, " \
	"'connectionType', p.connection_type, 'address', p.address, 'port', p.port, " \
	"'uri', p.uri, 'deviceKey', p.device_key)))::text"

/* An agent that may take work now, held by instance $1. */
#define STORE_JOBS_AGENT_HERE \
	"a.online_instance = $1 AND a.revoked_at IS NULL AND " \
	"a.last_seen > now() - interval '90 seconds'"

static const struct db_stmt st_printer = { "jobs_printer",
	"SELECT coalesce(protocol, ''), coalesce(connection_type, '') FROM printers "
	"WHERE company_id = $1 AND id = $3 AND ($2::uuid IS NULL OR branch_id = $2)", 3 };

static const struct db_stmt st_create = { "jobs_create",
	"WITH ins AS (INSERT INTO print_jobs (company_id, branch_id, printer_id, title, "
	"  content_type, content, copies, created_by, idempotency_key, request_hash, "
	"  expires_at) "
	"  SELECT p.company_id, p.branch_id, p.id, $4, $5, decode($6, 'base64'), $7::int, "
	"  $8::uuid, $9, $10, now() + make_interval(secs => $11::int) FROM printers p "
	"  WHERE p.company_id = $1 AND p.id = $3 AND ($2::uuid IS NULL OR p.branch_id = $2) "
	"  ON CONFLICT (company_id, coalesce(created_by, " STORE_UUID_NIL "), idempotency_key) "
	"  WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING *) "
	"SELECT j.company_id::text, j.branch_id::text, j.printer_id::text, j.state, "
	"print_job_json(j)::text, pg_notify('" STORE_JOBS_CHANNEL "', '') FROM ins j", 11 };

static const struct db_stmt st_by_key = { "jobs_by_key",
	"SELECT print_job_json(j)::text, j.request_hash FROM print_jobs j "
	"WHERE j.company_id = $1 AND coalesce(j.created_by, " STORE_UUID_NIL ") = $2::uuid "
	"AND j.idempotency_key = $3", 3 };

static const struct db_stmt st_get = { "jobs_get",
	"SELECT print_job_json(j)::text FROM print_jobs j WHERE j.company_id = $1 "
	"AND j.id = $3 AND ($2::uuid IS NULL OR j.branch_id = $2)", 3 };

/* The cursor is a range of the (company_id, id) index (STORE_AFTER). */
static const struct db_stmt st_list = { "jobs_list",
	"SELECT j.id, print_job_json(j)::text FROM print_jobs j WHERE j.company_id = $1 "
	"AND ($2::uuid IS NULL OR j.branch_id = $2) AND ($3::uuid IS NULL OR "
	"j.printer_id = $3) AND ($4::text IS NULL OR j.state = $4) "
	"AND " STORE_AFTER("j.id", "$5") " "
	"ORDER BY j.id LIMIT $6::int", 6 };

static const struct db_stmt st_cancel = { "jobs_cancel",
	"UPDATE print_jobs j SET state = 'cancelled', finished_at = now(), "
	"updated_at = now() WHERE j.company_id = $1 AND j.id = $3 AND ($2::uuid IS NULL "
	"OR j.branch_id = $2) AND j.state = 'queued' RETURNING " STORE_JOBS_ROW, 3 };

static const struct db_stmt st_expire = { "jobs_expire",
	"UPDATE print_jobs j SET state = 'expired', finished_at = now(), updated_at = now(), "
	"reason = 'no agent took it within job_ttl' WHERE j.id IN (SELECT id FROM "
	"print_jobs WHERE state = 'queued' AND expires_at <= now() ORDER BY created_at "
	"LIMIT $1::int FOR UPDATE SKIP LOCKED) RETURNING " STORE_JOBS_ROW, 1 };

/* An agent that went away without accepting never spooled the job (it answers
 * only after its fsync), so the job may go to any agent again. */
static const struct db_stmt st_requeue = { "jobs_requeue",
	"UPDATE print_jobs j SET state = 'queued', agent_id = NULL, sent_at = NULL, "
	"offered_at = NULL, updated_at = now() WHERE j.id IN (SELECT x.id FROM print_jobs x "
	"LEFT JOIN agents a ON a.id = x.agent_id WHERE x.state = 'sent' AND "
	"x.accepted_at IS NULL AND NOT coalesce(a.online_instance IS NOT NULL AND "
	"a.revoked_at IS NULL AND a.last_seen > now() - interval '90 seconds', false) "
	"ORDER BY x.created_at LIMIT $1::int FOR UPDATE OF x SKIP LOCKED) "
	"RETURNING " STORE_JOBS_ROW, 1 };

/* Queued jobs to an agent held here that sees the printer (its sighting is
 * not "offline"), oldest first; one at random when several do. */
static const struct db_stmt st_claim = { "jobs_claim",
	"WITH c AS (SELECT j.id, ag.id AS agent FROM print_jobs j "
	"  JOIN printers p ON p.company_id = j.company_id AND p.id = j.printer_id "
	"  CROSS JOIN LATERAL (SELECT a.id FROM agents a WHERE a.company_id = j.company_id "
	"    AND a.branch_id = j.branch_id AND " STORE_JOBS_AGENT_HERE " AND "
	"    (p.sources -> 'agents') ? a.id::text AND "
	"    (p.sources -> 'agents' -> (a.id::text) ->> 'status') IS DISTINCT FROM 'offline' "
	"    ORDER BY random() LIMIT 1) ag "
	"  WHERE j.state = 'queued' AND j.expires_at > now() ORDER BY j.created_at "
	"  LIMIT $2::int FOR UPDATE OF j SKIP LOCKED) "
	"UPDATE print_jobs j SET state = 'sent', agent_id = c.agent, sent_at = now(), "
	"offered_at = now(), attempts = j.attempts + 1, updated_at = now() FROM c, printers p "
	"WHERE j.id = c.id AND p.company_id = j.company_id AND p.id = j.printer_id "
	"RETURNING " STORE_JOBS_ROW ", j.agent_id::text, " STORE_JOBS_DELIVERY, 2 };

/* Sent jobs offered again to their own agent (held here): it connected since
 * (it restarted, or the offer was lost with the connection), or it has not
 * accepted within 30 s. The agent looks in its spool and finished list first. */
static const struct db_stmt st_reoffer = { "jobs_reoffer",
	"UPDATE print_jobs j SET offered_at = now() FROM agents a, printers p "
	"WHERE j.id IN (SELECT id FROM print_jobs WHERE state = 'sent' ORDER BY created_at "
	"  LIMIT 1000 FOR UPDATE SKIP LOCKED) AND a.id = j.agent_id AND "
	STORE_JOBS_AGENT_HERE " AND p.company_id = j.company_id AND p.id = j.printer_id "
	"AND (a.connected_at > j.offered_at OR (j.accepted_at IS NULL AND "
	"j.offered_at < now() - interval '30 seconds')) AND $2::int > 0 "
	"RETURNING j.agent_id::text, " STORE_JOBS_DELIVERY, 2 };

static const struct db_stmt st_any_open = { "jobs_any_open",
	"SELECT 1 FROM print_jobs WHERE state IN ('queued', 'sent') LIMIT 1", 0 };

static const struct db_stmt st_accepted = { "jobs_accepted",
	"UPDATE print_jobs SET accepted_at = coalesce(accepted_at, now()), "
	"updated_at = now() WHERE id = $2 AND agent_id = $1 AND state = 'sent' RETURNING id",
	2 };

static const struct db_stmt st_finish = { "jobs_finish",
	"UPDATE print_jobs j SET state = $3, reason = $4, finished_at = now(), "
	"accepted_at = coalesce(accepted_at, now()), updated_at = now() "
	"WHERE j.id = $2 AND j.agent_id = $1 AND j.state = 'sent' RETURNING " STORE_JOBS_ROW
	", extract(epoch from now() - j.created_at)::text", 4 };

/*
 * The events of a transition's rows (the STORE_JOBS_ROW columns first),
 * appended per company. 0 or -1.
 */
static int
store_jobs_events(PGconn *c, const PGresult *res)
{
	int n = PQntuples(res), rc = 0;

	for (int i = 0; i < n && rc == 0; i++) {
		const char *co = PQgetvalue(res, i, 0);
		json_t *evs;
		int k, seen = 0;

		/* Rows of one company are appended together, at its first row. */
		for (k = 0; k < i && !seen; k++)
			seen = strcmp(co, PQgetvalue(res, k, 0)) == 0;
		if (seen || (evs = json_array()) == NULL) {
			rc = seen ? 0 : -1;
			continue;
		}
		for (k = i; k < n && rc == 0; k++) {
			char type[32];
			json_t *job;

			if (strcmp(PQgetvalue(res, k, 0), co) != 0)
				continue;
			job = json_loads(PQgetvalue(res, k, 4), 0, NULL);
			snprintf(type, sizeof(type), "job:%s", PQgetvalue(res, k, 3));
			if (!job || json_array_append_new(evs, json_pack("{s:s,s:s,s:s,s:{s:o}}",
			    "type", type, "branchId", PQgetvalue(res, k, 1), "printerId",
			    PQgetvalue(res, k, 2), "payload", "job", job)) < 0)
				rc = -1;
		}
		if (rc == 0 && store_events_append(c, co, evs) < 0)
			rc = -1;
		json_decref(evs);
	}
	return rc;
}

/*
 * Run a transition statement inside an open transaction and append its
 * events. The result (rows) is returned for the caller to read; NULL on
 * failure (the caller rolls back).
 */
static PGresult *
store_jobs_transition(PGconn *c, const struct db_stmt *st, const char *const *p)
{
	PGresult *r = db_run(c, st, PGRES_TUPLES_OK, p);

	if (r && store_jobs_events(c, r) < 0) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* BEGIN, one transition, COMMIT: its result, or NULL (rolled back). */
static PGresult *
store_jobs_transition_tx(PGconn *c, const struct db_stmt *st, const char *const *p)
{
	PGresult *r;

	if (db_begin(c) < 0)
		return NULL;
	if ((r = store_jobs_transition(c, st, p)) == NULL || db_commit(c) < 0) {
		PQclear(r);
		db_rollback(c);
		return NULL;
	}
	return r;
}

int
store_jobs_printer(PGconn *c, const char *company, const char *branch,
    const char *printer, char protocol[16], char connection[16])
{
	const char *p[3] = { company, branch, printer };
	PGresult *r = db_run(c, &st_printer, PGRES_TUPLES_OK, p);

	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	snprintf(protocol, 16, "%s", PQgetvalue(r, 0, 0));
	snprintf(connection, 16, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	return 1;
}

/* The job an earlier request with the same key made: 2 (same request),
 * STORE_JOBS_KEY_REUSED, 0 none, -1. */
static int
store_jobs_replay(PGconn *c, const struct store_job_new *in, json_t **job)
{
	const char *p[3] = { in->company, in->created_by, in->idempotency_key };
	PGresult *r = db_run(c, &st_by_key, PGRES_TUPLES_OK, p);
	int rc;

	if (!r)
		return -1;
	if (PQntuples(r) != 1)
		rc = 0;
	else if (strcmp(PQgetvalue(r, 0, 1), in->request_hash ? in->request_hash : "") != 0)
		rc = STORE_JOBS_KEY_REUSED;
	else
		rc = (*job = json_loads(PQgetvalue(r, 0, 0), 0, NULL)) ? 2 : -1;
	PQclear(r);
	return rc;
}

int
store_jobs_create(PGconn *c, const struct store_job_new *in, json_t **job)
{
	char copies[16], ttl[24];
	const char *p[11] = { in->company, in->branch, in->printer, in->title,
	    in->content_type, in->content_b64, copies, in->created_by, in->idempotency_key,
	    in->request_hash, ttl };
	PGresult *r;
	int rc;

	*job = NULL;
	snprintf(copies, sizeof(copies), "%d", in->copies);
	snprintf(ttl, sizeof(ttl), "%ld", in->ttl_s);
	if (in->idempotency_key && (rc = store_jobs_replay(c, in, job)) != 0)
		return rc;
	if ((r = store_jobs_transition_tx(c, &st_create, p)) == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		rc = (*job = json_loads(PQgetvalue(r, 0, 4), 0, NULL)) ? 1 : -1;
		PQclear(r);
		return rc;
	}
	PQclear(r);
	/* A concurrent request with the same key won, or the printer is gone. */
	if (in->idempotency_key && (rc = store_jobs_replay(c, in, job)) != 0)
		return rc;
	return 0;
}

json_t *
store_jobs_get(PGconn *c, const char *company, const char *branch, const char *id,
    int *found)
{
	const char *p[3] = { company, branch, id };
	PGresult *r = db_run(c, &st_get, PGRES_TUPLES_OK, p);
	json_t *job = NULL;

	*found = r ? 0 : -1;
	if (r && PQntuples(r) == 1) {
		job = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
		*found = job ? 1 : -1;
	}
	PQclear(r);
	return job;
}

PGresult *
store_jobs_list(PGconn *c, const char *company, const char *branch, const char *printer,
    const char *status, const char *after, long limit)
{
	char lim[24];
	const char *p[6] = { company, branch, printer, status, after, lim };

	snprintf(lim, sizeof(lim), "%ld", limit + 1);
	return db_run(c, &st_list, PGRES_TUPLES_OK, p);
}

int
store_jobs_cancel(PGconn *c, const char *company, const char *branch, const char *id,
    json_t **job)
{
	const char *p[3] = { company, branch, id };
	PGresult *r = store_jobs_transition_tx(c, &st_cancel, p);
	int rc;

	*job = NULL;
	if (!r)
		return -1;
	rc = PQntuples(r) == 1;
	if (rc && (*job = json_loads(PQgetvalue(r, 0, 4), 0, NULL)) == NULL)
		rc = -1;
	PQclear(r);
	return rc;
}

/* Append {"agentId", "message"} for rows whose agent and message are in
 * columns `col` and `col` + 1. */
static void
store_jobs_deliveries(const PGresult *r, int col, json_t *out)
{
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *m = json_loads(PQgetvalue(r, i, col + 1), 0, NULL);

		if (m)
			json_array_append_new(out, json_pack("{s:s,s:o}", "agentId",
			    PQgetvalue(r, i, col), "message", m));
	}
}

int
store_jobs_maintain(PGconn *c, int limit, struct store_jobs_moves *moves)
{
	char lim[16];
	const char *one[1] = { lim };
	const struct db_stmt *const steps[2] = { &st_expire, &st_requeue };
	int *counts[2] = { &moves->expired, &moves->requeued };
	PGresult *r;

	snprintf(lim, sizeof(lim), "%d", limit);
	for (int i = 0; i < 2; i++) {
		if ((r = store_jobs_transition_tx(c, steps[i], one)) == NULL)
			return -1;
		*counts[i] = PQntuples(r);
		PQclear(r);
	}
	return 0;
}

int
store_jobs_hand_out(PGconn *c, const char *instance, int limit, json_t *out,
    struct store_jobs_moves *moves)
{
	char lim[16];
	const char *two[2] = { instance, lim };
	PGresult *r;

	snprintf(lim, sizeof(lim), "%d", limit);
	if ((r = store_jobs_transition_tx(c, &st_claim, two)) == NULL)
		return -1;
	moves->sent = PQntuples(r);
	store_jobs_deliveries(r, 5, out);
	PQclear(r);
	if ((r = db_run(c, &st_reoffer, PGRES_TUPLES_OK, two)) == NULL)
		return -1;
	store_jobs_deliveries(r, 0, out);
	PQclear(r);
	return 0;
}

int
store_jobs_any_open(PGconn *c)
{
	return db_first(db_run(c, &st_any_open, PGRES_TUPLES_OK, NULL), NULL, 0);
}

int
store_jobs_accepted(PGconn *c, const char *agent, const char *id)
{
	const char *p[2] = { agent, id };

	return db_first(db_run(c, &st_accepted, PGRES_TUPLES_OK, p), NULL, 0);
}

int
store_jobs_finish(PGconn *c, const char *agent, const char *id, const char *state,
    const char *reason, double *queued_s)
{
	const char *p[4] = { agent, id, state, reason };
	PGresult *r = store_jobs_transition_tx(c, &st_finish, p);
	int rc;

	if (!r)
		return -1;
	rc = PQntuples(r) == 1;
	if (rc)
		*queued_s = strtod(PQgetvalue(r, 0, 5), NULL);
	PQclear(r);
	return rc;
}
