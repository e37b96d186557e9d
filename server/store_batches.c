/*
 * store_batches.c: the SQL of sync_batches (idempotent replay and the record).
 * Not here: the bulk decision (api_bulk.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/db.h"
#include "server/store_batches.h"
#include "server/store_sql.h"

static const struct db_stmt st_find = { "batches_find",
	"SELECT coalesce(response_text, response::text), request_hash FROM sync_batches"
	" WHERE company_id = $1"
	" AND branch_id = $2 AND coalesce(agent_id, " STORE_UUID_NIL ")"
	" = coalesce($3::uuid, " STORE_UUID_NIL ")"
	" AND idempotency_key = $4", 4 };

static const struct db_stmt st_record = { "batches_record",
	"INSERT INTO sync_batches (id, company_id, branch_id, agent_id, idempotency_key,"
	" request_hash, total, new_count, updated_count, unchanged_count, skipped_count,"
	" duplicate_count, failed_count, duration_ms, response_text)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
	15 };

/*
 * Bounded like the events' prune: a backlog goes over several rounds. Each
 * branch's oldest rows come from the (company, branch, created_at) index, so
 * sync_batches needs no index of its own for this (every bulk request writes
 * one row: an index fewer on the hot path).
 */
static const struct db_stmt st_prune = { "batches_prune",
	"WITH d AS (DELETE FROM sync_batches WHERE id IN (SELECT s.id FROM branches br "
	"CROSS JOIN LATERAL (SELECT x.id FROM sync_batches x WHERE x.company_id = "
	"br.company_id AND x.branch_id = br.id AND x.created_at < now() - "
	"make_interval(hours => $1::int) ORDER BY x.created_at LIMIT $2::int) s "
	"LIMIT $2::int) RETURNING 1) SELECT count(*) FROM d", 2 };

int
store_batches_find_send(PGconn *c, const char *company_id, const char *branch_id,
    const char *agent_id, const char *idem_key)
{
	const char *p[4] = { company_id, branch_id, agent_id, idem_key };

	return db_pipe_send(c, &st_find, p);
}

int
store_batches_find_recv(PGconn *c, char **response, char **request_hash)
{
	PGresult *r = db_pipe_recv(c, PGRES_TUPLES_OK);
	int found;

	*response = *request_hash = NULL;
	if (!r)
		return -1;
	if ((found = PQntuples(r) > 0)) {
		*response = strdup(PQgetvalue(r, 0, 0));
		*request_hash = strdup(PQgetvalue(r, 0, 1));
		if (!*response || !*request_hash) {
			free(*response);
			free(*request_hash);
			*response = *request_hash = NULL;
			found = -1;
		}
	}
	PQclear(r);
	return found;
}

int
store_batches_record_send(PGconn *c, const struct store_batch *b)
{
	char ms[32], total[24], cnt[6][16];
	const char *p[15];

	snprintf(ms, sizeof(ms), "%.3f", b->duration_ms);
	snprintf(total, sizeof(total), "%ld", b->total);
	for (int i = 0; i < 6; i++)
		snprintf(cnt[i], sizeof(cnt[i]), "%d", b->counts[i]);
	p[0] = b->id;
	p[1] = b->company_id;
	p[2] = b->branch_id;
	p[3] = b->agent_id;
	p[4] = b->idem_key;
	p[5] = b->request_hash;
	p[6] = total;
	for (int i = 0; i < 6; i++)
		p[7 + i] = cnt[i];
	p[13] = ms;
	p[14] = b->response;
	return db_pipe_send(c, &st_record, p);
}

int
store_batches_record_recv(PGconn *c)
{
	return db_pipe_done(c, PGRES_COMMAND_OK);
}

long
store_batches_prune(PGconn *c, long hours, long batch)
{
	char h[24], b[24], n[24];
	const char *p[2] = { h, b };

	snprintf(h, sizeof(h), "%ld", hours);
	snprintf(b, sizeof(b), "%ld", batch);
	if (db_first(db_run(c, &st_prune, PGRES_TUPLES_OK, p), n, sizeof(n)) < 0)
		return -1;
	return strtol(n, NULL, 10);
}
