/*
 * store_events.c: every statement on printer_events: append (with the
 * company's ordering lock and the NOTIFY), read after an id for the listener,
 * replay for a connection, head, prune, and command notifications.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server/db.h"
#include "server/store_events.h"
#include "server/store_locks.h"
#include "server/store_sql.h"

/*
 * The columns of a printer_events row `e` the gateway needs: id, company,
 * branch, type, time (Unix microseconds: exact, where a double's milliseconds
 * could round down a millisecond) and payload as text. The envelopes
 * are put together by the gateway (gateway_feed.c): built here with
 * json_build_object, they were four fifths of a read's time.
 */
#define STORE_EVENT_NCOLS 6
#define STORE_EVENT_COLUMNS \
	"e.id, e.company_id::text, coalesce(e.branch_id::text, ''), e.type, " \
	"(date_part('epoch', e.created_at) * 1000000)::bigint, e.payload::text"

/*
 * The lock is taken before the first id is drawn (every output row needs lk's
 * one row), and held to commit: one company's ids commit in id order. Items
 * asking for the printer get it from the row the same transaction wrote, by
 * primary key per item (a join let a generic plan hash the company's whole
 * printers table for every append).
 */
static const struct db_stmt st_append = { "events_append",
	"WITH lk AS (SELECT pg_advisory_xact_lock(hashtextextended($1::text, "
	STORE_LOCK_EVENTS_ORDER "))), "
	"src AS (SELECT e.ord, e.type, e.\"branchId\", e.\"printerId\", "
	"  CASE WHEN e.\"withPrinter\" THEN jsonb_build_object('printer', "
	"    (SELECT printer_doc(p)::jsonb FROM printers p "
	"     WHERE p.id = e.\"printerId\" AND p.company_id = $1::uuid)) "
	"  ELSE coalesce(e.payload, '{}') END AS payload "
	"  FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (type text, \"branchId\" uuid, "
	"    \"printerId\" uuid, payload jsonb, \"withPrinter\" boolean)) WITH ORDINALITY "
	"    AS e(type, \"branchId\", \"printerId\", payload, \"withPrinter\", ord)), "
	"ins AS (INSERT INTO printer_events (company_id, branch_id, printer_id, type, payload) "
	"  SELECT $1::uuid, src.\"branchId\", src.\"printerId\", src.type, src.payload "
	"  FROM lk, src ORDER BY src.ord RETURNING id) "
	"SELECT pg_notify('" STORE_EVENTS_CHANNEL "', $1 || ':' || min(id) || ':' || max(id)), "
	"count(*) FROM ins", 2 };

/*
 * A company's (or a branch's) events are read as a range of the index that
 * leads with it (STORE_RANGE_OF), ordered by (company_id, id): the scan starts
 * at (company, cursor) and stops at the company's end (test: listener_quiet).
 */
#define STORE_EVENTS_OF(x, co) STORE_RANGE_OF(x ".company_id", co)
#define STORE_EVENTS_HEAD(co) \
	"coalesce((SELECT id FROM printer_events WHERE " STORE_EVENTS_OF("printer_events", co) \
	" ORDER BY company_id DESC, id DESC LIMIT 1), 0)"

/* Per company, after its cursor, up to the notice's last id. */
static const struct db_stmt st_read = { "events_read",
	"SELECT " STORE_EVENT_COLUMNS " FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) "
	"WITH ORDINALITY AS q(co, after, upto, ord) CROSS JOIN LATERAL "
	"(SELECT * FROM printer_events x WHERE " STORE_EVENTS_OF("x", "q.co")
	" AND x.id > q.after "
	" AND x.id <= CASE WHEN q.upto < 0 THEN 9223372036854775807 ELSE q.upto END "
	" ORDER BY x.company_id, x.id LIMIT $4::int) e ORDER BY q.ord, e.id", 4 };

/* One statement, one snapshot: "no more rows up to head" holds. */
static const struct db_stmt st_replay_company = { "events_replay_company",
	"SELECT h.head, " STORE_EVENT_COLUMNS " FROM (SELECT " STORE_EVENTS_HEAD("$1")
	" AS head) h LEFT JOIN LATERAL (SELECT * FROM printer_events x WHERE "
	STORE_EVENTS_OF("x", "$1") " AND x.id > $2 ORDER BY x.company_id, x.id "
	"LIMIT $3::int) e ON true ORDER BY e.id", 3 };

/*
 * Per branch, at most `limit` of its events after since, from its range of the
 * (branch_id, id) index (sql/016; branch ids are unique across companies, the
 * company is checked on the rows), merged by id: filtering the company's
 * events by branch read all of them since `since` to find a quiet branch's few
 * (test: events_replay_branch). The branch is a range, as the company above.
 */
static const struct db_stmt st_replay_branches = { "events_replay_branches",
	"SELECT h.head, " STORE_EVENT_COLUMNS " FROM (SELECT " STORE_EVENTS_HEAD("$1")
	" AS head) h LEFT JOIN LATERAL (SELECT y.* FROM unnest($4::uuid[]) b(id) CROSS JOIN "
	" LATERAL (SELECT * FROM printer_events x WHERE x.branch_id IS NOT NULL "
	"AND " STORE_RANGE_OF("x.branch_id", "b.id") " AND x.id > $2 AND x.company_id = $1 "
	"  ORDER BY x.branch_id, x.id LIMIT $3::int) y "
	" ORDER BY y.id LIMIT $3::int) e ON true ORDER BY e.id", 4 };

static const struct db_stmt st_head = { "events_head",
	"SELECT " STORE_EVENTS_HEAD("$1"), 1 };

/* Usually there is nothing to prune: look first, write only when needed. */
static const struct db_stmt st_prune_any = { "events_prune_any",
	"SELECT 1 FROM printer_events WHERE created_at < now() - "
	"make_interval(hours => $1::int) LIMIT 1", 1 };
/* Bounded: a backlog is worked off over several rounds, never one huge DELETE. */
static const struct db_stmt st_prune = { "events_prune",
	"DELETE FROM printer_events WHERE id IN (SELECT id FROM printer_events "
	"WHERE created_at < now() - make_interval(hours => $1::int) ORDER BY id "
	"LIMIT $2::int)", 2 };

static const struct db_stmt st_command = { "events_command",
	"SELECT pg_notify('" STORE_COMMANDS_CHANNEL "', $1)", 1 };

int
store_events_append_send(PGconn *c, const char *company_id, const json_t *events)
{
	const char *p[2] = { company_id, NULL };

	return db_pipe_send_json(c, &st_append, p, 1, events);
}

int
store_events_append_recv(PGconn *c)
{
	return db_pipe_done(c, PGRES_TUPLES_OK);
}

int
store_events_append(PGconn *c, const char *company_id, const json_t *events)
{
	char *s;
	const char *p[2];
	PGresult *r;

	if (json_array_size(events) == 0)
		return 0;
	if ((s = json_dumps(events, JSON_COMPACT)) == NULL)
		return -1;
	p[0] = company_id;
	p[1] = s;
	r = db_run(c, &st_append, PGRES_TUPLES_OK, p);
	free(s);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

int
store_events_parse_notice(const char *payload, char company[37], long long *first,
    long long *last)
{
	const char *a = strchr(payload, ':'), *b;
	char *end;

	if (!a || a - payload != 36 || (b = strchr(a + 1, ':')) == NULL)
		return -1;
	memcpy(company, payload, 36);
	company[36] = '\0';
	*first = strtoll(a + 1, &end, 10);
	if (end != b || *first <= 0)
		return -1;
	*last = strtoll(b + 1, &end, 10);
	if (*end || *last < *first)
		return -1;
	return 0;
}

/* "{1,2,...}" for a bigint[] parameter. Caller frees. */
static char *
store_events_numbers(int n, const long long *v)
{
	size_t len = 3 + (size_t)n * 22, off = 0;
	char *buf = malloc(len);

	if (!buf)
		return NULL;
	buf[off++] = '{';
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%lld", i ? "," : "", v[i]);
	buf[off++] = '}';
	buf[off] = '\0';
	return buf;
}

PGresult *
store_events_read(PGconn *c, int n, const char *const *company, const long long *after,
    const long long *upto, int limit)
{
	char *a = db_text_array_of(company, (size_t)n);
	char *b = store_events_numbers(n, after);
	char *u = store_events_numbers(n, upto);
	char lim[16];
	const char *p[4] = { a, b, u, lim };
	PGresult *r = NULL;

	snprintf(lim, sizeof(lim), "%d", limit);
	if (a && b && u)
		r = db_run(c, &st_read, PGRES_TUPLES_OK, p);
	free(a);
	free(b);
	free(u);
	return r;
}

void
store_events_row(const PGresult *res, int i, struct store_event *ev)
{
	/* Replay results carry the head first: the event starts one column on. */
	int o = PQnfields(res) == STORE_EVENT_NCOLS + 1 ? 1 : 0;

	memset(ev, 0, sizeof(*ev));
	if (PQgetisnull(res, i, o))
		return;
	ev->id = strtoll(PQgetvalue(res, i, o), NULL, 10);
	ev->company_id = PQgetvalue(res, i, o + 1);
	ev->branch_id = PQgetvalue(res, i, o + 2);
	ev->type = PQgetvalue(res, i, o + 3);
	ev->ts_us = strtoll(PQgetvalue(res, i, o + 4), NULL, 10);
	ev->payload = PQgetvalue(res, i, o + 5);
	ev->payload_len = (size_t)PQgetlength(res, i, o + 5);
}

PGresult *
store_events_replay(PGconn *c, const char *company_id, long long since,
    const char *const *branches, int nbranches, int limit, long long *head)
{
	char sb[24], lim[16], *arr = NULL;
	const char *p[4] = { company_id, sb, lim, NULL };
	PGresult *r;

	snprintf(sb, sizeof(sb), "%lld", since);
	snprintf(lim, sizeof(lim), "%d", limit);
	if (branches) {
		if ((arr = db_text_array_of(branches, (size_t)nbranches)) == NULL)
			return NULL;
		p[3] = arr;
		r = db_run(c, &st_replay_branches, PGRES_TUPLES_OK, p);
	} else {
		r = db_run(c, &st_replay_company, PGRES_TUPLES_OK, p);
	}
	free(arr);
	if (r)
		*head = PQntuples(r) > 0 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	return r;
}

long long
store_events_head(PGconn *c, const char *company_id)
{
	const char *p[1] = { company_id };
	PGresult *r = db_run(c, &st_head, PGRES_TUPLES_OK, p);
	long long head;

	if (!r)
		return -1;
	head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return head;
}

long
store_events_prune(PGconn *c, long hours, long batch)
{
	char h[24], b[24];
	const char *p[2] = { h, b };
	PGresult *r;
	long n;

	snprintf(h, sizeof(h), "%ld", hours);
	snprintf(b, sizeof(b), "%ld", batch);
	if ((n = db_first(db_run(c, &st_prune_any, PGRES_TUPLES_OK, p), NULL, 0)) <= 0)
		return n;
	if ((r = db_run(c, &st_prune, PGRES_COMMAND_OK, p)) == NULL)
		return -1;
	n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

int
store_events_command(PGconn *c, const json_t *payload)
{
	char *s = json_dumps(payload, JSON_COMPACT);
	const char *p[1] = { s };
	PGresult *r;

	/* NOTIFY payloads stop at 8000 bytes: the command carries ids only. */
	if (!s || strlen(s) >= 7900) {
		free(s);
		return -1;
	}
	r = db_run(c, &st_command, PGRES_TUPLES_OK, p);
	free(s);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}
