/*
 * gateway_worker.c: one thread with its own db_conn() doing the gateway's
 * database work in arrival order (so an agent's "connected" is always written
 * before its "disconnected"), plus the presence heartbeat every 30 s. Not here:
 * SQL (store_*.c, presence.c) or anything of lws (gateway.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "log.h"
#include "server/db.h"
#include "server/gateway_feed.h"
#include "server/gateway_worker.h"
#include "server/presence.h"
#include "server/store_credentials.h"
#include "server/store_events.h"

#define GW_WORKER_QUEUE_MAX 4096

static pthread_mutex_t wk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wk_cond = PTHREAD_COND_INITIALIZER;
static struct gw_job *wk_head, *wk_tail;
static int wk_len, wk_running, wk_stopping;
static pthread_t wk_thread;
static gateway_authenticator wk_auth;
static gateway_sync_fn wk_sync;

struct gw_job *
gw_job_new(enum gw_job_kind kind, uint64_t serial)
{
	struct gw_job *j = calloc(1, sizeof(*j));

	if (j) {
		j->kind = kind;
		j->serial = serial;
	}
	return j;
}

static void
wk_job_free(struct gw_job *j)
{
	if (!j)
		return;
	sodium_memzero(j->token, sizeof(j->token));
	json_decref(j->stats);
	free(j->body);
	free(j);
}

int
gw_worker_post(struct gw_job *j)
{
	pthread_mutex_lock(&wk_lock);
	if (!wk_running || wk_stopping ||
	    (wk_len >= GW_WORKER_QUEUE_MAX && j->kind != GW_JOB_OFFLINE)) {
		pthread_mutex_unlock(&wk_lock);
		wk_job_free(j);
		return -1;
	}
	if (wk_tail)
		wk_tail->next = j;
	else
		wk_head = j;
	wk_tail = j;
	wk_len++;
	pthread_cond_signal(&wk_cond);
	pthread_mutex_unlock(&wk_lock);
	return 0;
}

static struct gw_item *
wk_item(enum gw_item_kind kind, uint64_t serial)
{
	struct gw_item *it = calloc(1, sizeof(*it));

	if (it) {
		it->kind = kind;
		it->serial = serial;
	}
	return it;
}

static void
wk_do_auth(struct gw_job *j)
{
	struct gw_item *it = wk_item(GW_ITEM_AUTH, j->serial);

	if (!it)
		return;
	it->ok = wk_auth && wk_auth(j->token, &it->auth) == 0 &&
	    it->auth.kind != AUTH_NONE;
	if (it->ok) {
		/* The company's newest event: where its live stream starts for a
		 * gateway that has not yet seen an event of this company. */
		PGconn *c = db_conn();

		it->head = c ? store_events_head(c, it->auth.company_id) : -1;
		if (it->head < 0) {
			db_check_broken(c);
			it->ok = 0;
		}
	}
	if (it->ok && it->auth.kind == AUTH_AGENT) {
		PGconn *c = db_conn();

		/* Counted first: the matching OFFLINE job always follows. */
		presence_add(it->auth.principal_id);
		if (!c || presence_db_connected(c, it->auth.principal_id) < 0)
			log_warnx("[GATEWAY] agent %s: could not record presence",
			    it->auth.principal_id);
	}
	gateway_post(it);
}

static void
wk_do_subscribe(struct gw_job *j)
{
	const char *ids[GW_MAX_ROOMS];
	struct gw_item *it = wk_item(GW_ITEM_SUBSCRIBED, j->serial);
	PGconn *c = db_conn();
	int ok;

	if (!it)
		return;
	for (int i = 0; i < j->nbranches; i++)
		ids[i] = j->branches[i];
	if (j->nbranches == 0)
		it->ok = 1;
	else if (c && (ok = store_credentials_branches_in(c, j->auth.company_id, ids,
	    j->nbranches)) >= 0)
		it->ok = ok;
	else {
		db_check_broken(c);
		it->ok = -1;	/* could not check: "unavailable", not "forbidden" */
	}
	gateway_post(it);
}

static void
wk_do_replay(struct gw_job *j)
{
	const char *ids[GW_MAX_ROOMS];
	struct gw_item *it = wk_item(GW_ITEM_REPLAY, j->serial);
	struct store_event *rows = NULL;
	PGconn *c = db_conn();
	PGresult *r = NULL;
	int n = 0;

	if (!it)
		return;
	for (int i = 0; i < j->nbranches; i++)
		ids[i] = j->branches[i];
	/* The head and the rows come from one statement, so one snapshot. */
	if (!c || (r = store_events_replay(c, j->auth.company_id, j->since,
	    j->company_room ? NULL : ids, j->nbranches, j->limit + 1, &it->head)) == NULL)
		goto err;
	if ((rows = calloc((size_t)PQntuples(r) + 1, sizeof(*rows))) == NULL)
		goto err;
	for (int i = 0; i < PQntuples(r); i++) {
		store_events_row(r, i, &rows[n]);
		if (rows[n].id > 0)
			n++;
	}
	it->more = n > j->limit;
	if (it->more)
		n = j->limit;
	if (n > 0 && (it->events = gw_feed_events_from(rows, (size_t)n)) == NULL)
		goto err;
	it->nevents = (size_t)n;
	it->ok = 1;
	free(rows);
	PQclear(r);
	gateway_post(it);
	return;
err:
	free(rows);
	PQclear(r);
	db_check_broken(c);
	it->ok = 0;
	gateway_post(it);
}

/*
 * An agent's "sync": the bulk it stands for, run by the same handler as
 * POST /printers/bulk, and its answer as {"type":"sync-result",
 * "idempotencyKey","status","replayed","response"} to that connection only.
 * A batch that could not run at all is answered 503, as the HTTP side would.
 */
static void
wk_do_sync(struct gw_job *j)
{
	struct gw_item *it = wk_item(GW_ITEM_REPLY, j->serial);
	unsigned status = 0;
	int replayed = 0;
	char *resp = NULL;
	json_t *body = NULL, *m;

	if (!it)
		return;
	if (wk_sync && wk_sync(&j->auth, j->body, j->body_len, j->idem, &status, &replayed,
	    &resp) == 0 && status != 0)
		body = resp ? json_loads(resp, 0, NULL) : NULL;
	if (!body) {
		status = 503;
		body = json_pack("{s:{s:s,s:s}}", "error", "code", "unavailable", "message",
		    "the batch could not be run; retry later");
	}
	m = json_pack("{s:s,s:s,s:i,s:b,s:o}", "type", "sync-result", "idempotencyKey",
	    j->idem, "status", (int)status, "replayed", replayed, "response", body);
	free(resp);
	if (!m || (it->msg = gw_msg_json(m)) == NULL) {
		json_decref(m);
		gw_item_free(it);
		log_warnx("[GATEWAY] agent %s: sync-result not sent (out of memory)",
		    j->auth.principal_id);
		return;
	}
	json_decref(m);
	gateway_post(it);
}

static void
wk_run(struct gw_job *j)
{
	PGconn *c;

	if (j->kind == GW_JOB_AUTH) {
		wk_do_auth(j);
		return;
	}
	if (j->kind == GW_JOB_SUBSCRIBE) {
		wk_do_subscribe(j);
		return;
	}
	if (j->kind == GW_JOB_REPLAY) {
		wk_do_replay(j);
		return;
	}
	if (j->kind == GW_JOB_SYNC) {
		wk_do_sync(j);
		return;
	}
	c = db_conn();
	switch (j->kind) {
	case GW_JOB_HELLO:
		if (!c || presence_db_hello(c, j->auth.principal_id,
		    j->hostname[0] ? j->hostname : NULL,
		    j->version[0] ? j->version : NULL) < 0)
			log_warnx("[GATEWAY] agent %s: hello not recorded", j->auth.principal_id);
		break;
	case GW_JOB_STATS:
		if (!c || presence_db_stats(c, j->auth.principal_id, j->stats) < 0)
			log_warnx("[GATEWAY] agent %s: stats not recorded", j->auth.principal_id);
		break;
	case GW_JOB_OFFLINE:
		if (presence_remove(j->auth.principal_id) > 0)
			break;	/* another connection of the agent is still here */
		if (!c || presence_db_disconnected(c, j->auth.principal_id) < 0)
			log_warnx("[GATEWAY] agent %s: offline not recorded",
			    j->auth.principal_id);
		break;
	default:
		break;
	}
}

static void *
wk_main(void *arg)
{
	struct timespec next;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_sec += PRESENCE_HEARTBEAT_S;
	pthread_mutex_lock(&wk_lock);
	for (;;) {
		struct gw_job *j;

		while (!wk_head && !wk_stopping) {
			if (pthread_cond_timedwait(&wk_cond, &wk_lock, &next) == ETIMEDOUT) {
				PGconn *c;

				pthread_mutex_unlock(&wk_lock);
				if ((c = db_conn()) != NULL)
					presence_db_heartbeat(c);
				clock_gettime(CLOCK_REALTIME, &next);
				next.tv_sec += PRESENCE_HEARTBEAT_S;
				pthread_mutex_lock(&wk_lock);
			}
		}
		if (!wk_head)
			break;	/* stopping, and everything queued is done */
		j = wk_head;
		wk_head = j->next;
		if (!wk_head)
			wk_tail = NULL;
		wk_len--;
		pthread_mutex_unlock(&wk_lock);
		wk_run(j);
		wk_job_free(j);
		pthread_mutex_lock(&wk_lock);
	}
	pthread_mutex_unlock(&wk_lock);
	return NULL;
}

int
gw_worker_start(gateway_authenticator auth, gateway_sync_fn sync)
{
	wk_auth = auth;
	wk_sync = sync;
	wk_stopping = 0;
	if (pthread_create(&wk_thread, NULL, wk_main, NULL) != 0) {
		log_error("[GATEWAY] could not start the worker thread");
		return -1;
	}
	pthread_mutex_lock(&wk_lock);
	wk_running = 1;
	pthread_mutex_unlock(&wk_lock);
	return 0;
}

void
gw_worker_stop(void)
{
	pthread_mutex_lock(&wk_lock);
	if (!wk_running) {
		pthread_mutex_unlock(&wk_lock);
		return;
	}
	wk_stopping = 1;
	pthread_cond_signal(&wk_cond);
	pthread_mutex_unlock(&wk_lock);
	pthread_join(wk_thread, NULL);
	pthread_mutex_lock(&wk_lock);
	wk_running = 0;
	pthread_mutex_unlock(&wk_lock);
}
