/*
 * store_alerts.c: the statements behind printer:sync:alert. The evaluation
 * reads each active branch's swept agents and, when it is judged, its last 15
 * minutes of sync_batches over the (company, branch, created_at) index; only
 * the branches whose state must change come back.
 */
#include <stdio.h>
#include <stdlib.h>

#include "server/db.h"
#include "server/store_alerts.h"

/*
 * Judging (every alert_interval seconds) looks at every branch and reads its
 * window. In between, only the branches whose agent-offline state may change
 * are looked at: those in alert and those with a swept agent (found over the
 * partial indexes on both, so a round costs nothing per quiet branch), and a
 * branch's window is read only when that state does change (its success rate
 * decides what follows and goes into the event); `judge` is a parameter of
 * the window's subquery, so PostgreSQL skips the scan for the others (a
 * one-time filter). The others keep their success-rate state.
 */
#define STORE_ALERTS_DUE(judge, which) \
	"SELECT x.company_id, x.id, x.cur, x.want, x.items, x.ok, x.dark FROM (" \
	" SELECT y.company_id, y.id, y.cur, w.items, w.ok, y.dark," \
	"  CASE WHEN y.dark IS NOT NULL THEN 'agent-offline' WHEN NOT y.judge THEN y.cur" \
	"  WHEN w.items >= $3::int AND w.ok * 100 < $1::int * w.items THEN 'success-rate'" \
	"  ELSE '' END AS want FROM (" \
	"  SELECT br.company_id, br.id, coalesce(br.alert_reason, '') AS cur, d.ids AS dark," \
	"   " judge " AS judge FROM branches br" \
	"  CROSS JOIN LATERAL (SELECT json_agg(a.id ORDER BY a.id)::text AS ids FROM agents a" \
	"   WHERE a.company_id = br.company_id AND a.branch_id = br.id" \
	"   AND a.revoked_at IS NULL AND a.swept_at IS NOT NULL) d" \
	"  WHERE br.revoked_at IS NULL" which ") y" \
	" CROSS JOIN LATERAL (SELECT coalesce(sum(s.total), 0)::bigint AS items," \
	"  coalesce(sum(s.total - s.failed_count), 0)::bigint AS ok FROM sync_batches s" \
	"  WHERE y.judge AND s.company_id = y.company_id AND s.branch_id = y.id AND" \
	"  s.created_at > now() - interval '" STORE_ALERTS_WINDOW_MIN " minutes') w" \
	") x WHERE x.cur <> x.want ORDER BY x.id LIMIT $2::int"

static const struct db_stmt st_due_all = { "alerts_due_all",
	STORE_ALERTS_DUE("true", ""), 3 };

static const struct db_stmt st_due_changed = { "alerts_due_changed",
	STORE_ALERTS_DUE("(d.ids IS NULL) = (coalesce(br.alert_reason, '') = 'agent-offline')",
	" AND br.id = ANY(ARRAY(SELECT id FROM branches WHERE alert_reason IS NOT NULL"
	" UNION SELECT branch_id FROM agents WHERE swept_at IS NOT NULL"
	" AND revoked_at IS NULL))"), 3 };

static const struct db_stmt st_set = { "alerts_set",
	"UPDATE branches SET alert_reason = nullif($3, ''), alert_at = CASE WHEN $3 = '' "
	"THEN NULL ELSE now() END WHERE id = $1 AND coalesce(alert_reason, '') = $2 "
	"RETURNING id", 3 };

static const struct db_stmt st_count = { "alerts_count",
	"SELECT count(*) FROM branches WHERE alert_reason IS NOT NULL", 0 };

PGresult *
store_alerts_due(PGconn *c, long threshold, long min_items, long max, int judge)
{
	char t[24], m[24], n[24];
	const char *p[3] = { t, m, n };

	snprintf(t, sizeof(t), "%ld", threshold);
	snprintf(m, sizeof(m), "%ld", max);
	snprintf(n, sizeof(n), "%ld", min_items);
	return db_run(c, judge ? &st_due_all : &st_due_changed, PGRES_TUPLES_OK, p);
}

int
store_alerts_set(PGconn *c, const char *branch, const char *from, const char *to)
{
	const char *p[3] = { branch, from, to };

	return db_first(db_run(c, &st_set, PGRES_TUPLES_OK, p), NULL, 0);
}

long
store_alerts_count(PGconn *c)
{
	char n[24];

	if (db_first(db_run(c, &st_count, PGRES_TUPLES_OK, NULL), n, sizeof(n)) < 0)
		return -1;
	return strtol(n, NULL, 10);
}
