/*
 * sweeper.c: one thread, one libpq connection of its own. Every second it
 * tries to become (or checks it still is) the holder of the sweeper's session
 * advisory lock; the holder sweeps agent leases and, every ten minutes, prunes
 * sync_batches. Each agent's change is its own transaction (the agent's row,
 * its printers, its events), so a sweep never holds one tenant's locks while
 * waiting for another's.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "server/bgthread.h"
#include "server/db.h"
#include "server/presence.h"
#include "server/store_agents.h"
#include "server/store_alerts.h"
#include "server/store_batches.h"
#include "server/store_events.h"
#include "server/store_sweep.h"
#include "server/sweeper.h"

#define SWEEPER_AGENTS_PER_ROUND 100
#define SWEEPER_PRUNE_EVERY_S 600
#define SWEEPER_PRUNE_FIRST_S 10
#define SWEEPER_PRUNE_BATCH 10000

static struct bgthread sw_bg = BGTHREAD_INIT("sweeper");
static atomic_int sw_leader;
static long sw_after, sw_retention, sw_threshold, sw_min_items, sw_alert_interval;
/* When every branch's success rate is judged next (sweeper thread only; 0:
 * at once, as after taking the lead). */
static long long sw_next_judge;
static atomic_ulong sw_swept, sw_renewed, sw_unknown, sw_pruned;
static atomic_long sw_alerts = -1;	/* branches in alert, as last read */

/* 1 when this connection holds the lock (now or from before), 0 when another
 * instance does, -1 on a database error. */
static int
sw_lead(PGconn *c)
{
	int got;

	if (atomic_load(&sw_leader))
		return 1;
	if ((got = store_sweep_try_lead(c)) <= 0)
		return got;
	atomic_store(&sw_leader, 1);
	log_info("[GATEWAY] this instance sweeps agent leases (agent_offline_after %ld s)",
	    sw_after);
	return 1;
}

/*
 * One silent agent: mark it swept (offline, if its websocket had not said so
 * already) and its printers unknown, with their events. 0 (done, or nothing
 * to do any more) or -1 on a database error.
 */
static int
sw_expire(PGconn *c, const char *agent)
{
	json_t *row = NULL, *ids = NULL, *ev = NULL, *id;
	const char *company, *branch;
	int was_offline = 0, found, rc = -1;
	size_t i;

	if (db_begin(c) < 0)
		return -1;
	if ((found = store_agents_lease_sweep(c, agent, sw_after, &row, &was_offline)) <= 0) {
		db_rollback(c);
		return found;
	}
	company = json_string_value(json_object_get(row, "companyId"));
	branch = json_string_value(json_object_get(row, "branchId"));
	if ((ids = store_sweep_printers(c, company, branch, agent)) == NULL ||
	    (!was_offline && presence_db_event(c, agent, row, "agent:offline") < 0) ||
	    (ev = json_array()) == NULL)
		goto out;
	json_array_foreach(ids, i, id)
		json_array_append_new(ev, json_pack("{s:s,s:s,s:O,s:b}", "type",
		    "printer:status", "branchId", branch, "printerId", id, "withPrinter", 1));
	if (store_events_append(c, company, ev) < 0 || db_commit(c) < 0)
		goto out;
	atomic_fetch_add(&sw_swept, 1);
	atomic_fetch_add(&sw_unknown, json_array_size(ids));
	log_info("[GATEWAY] agent %s: no contact for %ld s: offline; %zu printers only it "
	    "saw are unknown (agent-offline)", agent, sw_after, json_array_size(ids));
	rc = 0;
out:
	if (rc < 0)
		db_rollback(c);
	json_decref(row);
	json_decref(ids);
	json_decref(ev);
	return rc;
}

/* An agent announced offline that was heard from again over HTTP. 0 or -1. */
static int
sw_renew(PGconn *c, const char *agent)
{
	json_t *row = NULL;
	int found, rc = -1;

	if (db_begin(c) < 0)
		return -1;
	if ((found = store_agents_lease_renew(c, agent, &row)) <= 0) {
		db_rollback(c);
		return found;
	}
	if (presence_db_event(c, agent, row, "agent:online") == 0 && db_commit(c) == 0) {
		atomic_fetch_add(&sw_renewed, 1);
		log_info("[GATEWAY] agent %s: heard from again over HTTP: online", agent);
		rc = 0;
	} else
		db_rollback(c);
	json_decref(row);
	return rc;
}

/* Run fn on each id of a list statement's answer (NULL: it failed). */
static int
sw_each(PGconn *c, json_t *ids, int (*fn)(PGconn *, const char *))
{
	json_t *id;
	size_t i;
	int rc = ids ? 0 : -1;

	json_array_foreach(ids, i, id) {
		if (bgthread_stopping(&sw_bg) || (rc = fn(c, json_string_value(id))) < 0)
			break;
	}
	json_decref(ids);
	return rc;
}

/*
 * Raise or clear one branch's alert (row i of store_alerts_due), with its
 * printer:sync:alert event. 0 or -1.
 */
static int
sw_alert(PGconn *c, PGresult *r, int i)
{
	const char *company = PQgetvalue(r, i, 0), *branch = PQgetvalue(r, i, 1);
	const char *cur = PQgetvalue(r, i, 2), *want = PQgetvalue(r, i, 3);
	long long items = strtoll(PQgetvalue(r, i, 4), NULL, 10);
	long long ok = strtoll(PQgetvalue(r, i, 5), NULL, 10);
	json_t *dark = NULL, *ev;
	int found, rc = -1;

	if (!PQgetisnull(r, i, 6))
		dark = json_loads(PQgetvalue(r, i, 6), 0, NULL);
	ev = json_pack("[{s:s,s:s,s:{s:b,s:s,s:o,s:I,s:o}}]", "type", "printer:sync:alert",
	    "branchId", branch, "payload", "active", *want != '\0', "reason", *want ? want : cur,
	    "successRate", items ? json_real((double)((long long)(1000.0 * (double)ok /
	    (double)items + 0.5)) / 10) : json_null(), "threshold", (json_int_t)sw_threshold,
	    "agentsOffline", dark ? dark : json_array());
	if (!ev || db_begin(c) < 0)
		goto out;
	if ((found = store_alerts_set(c, branch, cur, want)) <= 0) {
		db_rollback(c);
		rc = found;
		goto out;
	}
	if (store_events_append(c, company, ev) < 0 || db_commit(c) < 0) {
		db_rollback(c);
		goto out;
	}
	log_info("[GATEWAY] branch %s: sync alert %s %s", branch, *want ? "raised:" :
	    "cleared:", *want ? want : cur);
	rc = 0;
out:
	json_decref(ev);
	return rc;
}

static int
sw_round(PGconn *c, long long *next_prune)
{
	PGresult *r;
	long n;
	int judge;

	if (sw_each(c, store_agents_lease_expired(c, sw_after, SWEEPER_AGENTS_PER_ROUND),
	    sw_expire) < 0 ||
	    sw_each(c, store_agents_lease_back(c, SWEEPER_AGENTS_PER_ROUND), sw_renew) < 0)
		return -1;
	/* Reading every branch's window each second cost in proportion to the
	 * batches of the last 15 minutes; the rate is judged every
	 * alert_interval seconds instead, an agent going offline at once. */
	judge = clock_ms() >= sw_next_judge;
	if ((r = store_alerts_due(c, sw_threshold, sw_min_items, SWEEPER_AGENTS_PER_ROUND,
	    judge)) == NULL)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		if (sw_alert(c, r, i) < 0) {
			PQclear(r);
			return -1;	/* judged again next round */
		}
	if (judge)	/* a full round's rest comes next round */
		sw_next_judge = PQntuples(r) >= SWEEPER_AGENTS_PER_ROUND ? 0 :
		    clock_ms() + sw_alert_interval * 1000LL;
	PQclear(r);
	if (clock_ms() < *next_prune)
		return 0;
	*next_prune = clock_ms() + SWEEPER_PRUNE_EVERY_S * 1000LL;
	if ((n = store_batches_prune(c, sw_retention, SWEEPER_PRUNE_BATCH)) < 0)
		return -1;
	if (n > 0) {
		atomic_fetch_add(&sw_pruned, (unsigned long)n);
		log_info("[DB] pruned %ld sync batches older than %ld h", n, sw_retention);
	}
	return 0;
}

static void *
sw_main(void *arg)
{
	PGconn *c = NULL;
	long long next_prune = 0;
	int lead;

	(void)arg;
	while (!bgthread_stopping(&sw_bg)) {
		if (!c && (c = db_connect_session()) != NULL)
			db_no_reset(c);	/* a new session would not hold the lock */
		if (c && (lead = sw_lead(c)) != 0) {
			if (lead > 0 && next_prune == 0) {
				next_prune = clock_ms() + SWEEPER_PRUNE_FIRST_S * 1000LL;
				sw_next_judge = 0;
			}
			if (lead < 0 || sw_round(c, &next_prune) < 0) {
				if (PQstatus(c) != CONNECTION_OK) {
					log_warnx("[GATEWAY] sweeper lost its database connection");
					PQfinish(c);
					c = NULL;
					atomic_store(&sw_leader, 0);
					next_prune = 0;
				}
			}
		}
		/* Every instance reads the count, so /metrics agrees on each. */
		if (c)
			atomic_store(&sw_alerts, store_alerts_count(c));
		bgthread_sleep(&sw_bg, SWEEPER_ROUND_MS);
	}
	PQfinish(c);	/* releases the lock */
	atomic_store(&sw_leader, 0);
	return NULL;
}

int
sweeper_start(const struct server_config *cfg)
{
	sw_after = cfg->agent_offline_after;
	sw_retention = cfg->batch_retention;
	sw_threshold = cfg->alert_success_rate;
	sw_min_items = cfg->alert_min_items;
	sw_alert_interval = cfg->alert_interval;
	return bgthread_start(&sw_bg, sw_main);
}

void
sweeper_stop(void)
{
	bgthread_stop(&sw_bg);
}

void
sweeper_metrics(struct metrics_buf *m)
{
	metrics_printf(m, "# HELP printmaster_sweeper_leader 1 on the instance that sweeps "
	    "agent leases.\n# TYPE printmaster_sweeper_leader gauge\n"
	    "printmaster_sweeper_leader %d\n"
	    "# HELP printmaster_agents_swept_total Agents found silent past "
	    "agent_offline_after.\n# TYPE printmaster_agents_swept_total counter\n"
	    "printmaster_agents_swept_total %lu\n"
	    "# HELP printmaster_printers_agent_offline_total Printers turned unknown "
	    "because every agent seeing them went silent.\n"
	    "# TYPE printmaster_printers_agent_offline_total counter\n"
	    "printmaster_printers_agent_offline_total %lu\n"
	    "# HELP printmaster_agents_renewed_total Offline agents heard from again over "
	    "HTTP.\n# TYPE printmaster_agents_renewed_total counter\n"
	    "printmaster_agents_renewed_total %lu\n"
	    "# HELP printmaster_sync_batches_pruned_total sync_batches rows deleted past "
	    "batch_retention.\n# TYPE printmaster_sync_batches_pruned_total counter\n"
	    "printmaster_sync_batches_pruned_total %lu\n", atomic_load(&sw_leader),
	    atomic_load(&sw_swept), atomic_load(&sw_unknown), atomic_load(&sw_renewed),
	    atomic_load(&sw_pruned));
	if (atomic_load(&sw_alerts) >= 0)
		metrics_printf(m, "# HELP printmaster_sync_alerts Branches in sync alert (success "
		    "rate under alert_success_rate over 15 minutes, or an agent offline).\n"
		    "# TYPE printmaster_sync_alerts gauge\nprintmaster_sync_alerts %ld\n",
		    atomic_load(&sw_alerts));
}
