/*
 * jobs_dispatch.c: the delivery thread (see jobs_dispatch.h). A pass runs on
 * every wake: a new job anywhere (NOTIFY), an agent's answer, or each second
 * (agents that connected, jobs that expire). Answers are handled in order of
 * arrival before the pass, so an agent's "accepted" is acknowledged as soon
 * as the row says so.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "log.h"
#include "server/bgthread.h"
#include "server/db.h"
#include "server/gateway_feed.h"
#include "server/jobs_dispatch.h"
#include "server/presence.h"
#include "common/uuid.h"
#include "server/store_jobs.h"

#define JOBS_BATCH 100			/* jobs per step of a pass */
#define JOBS_POLL_MS 1000
#define JOBS_QUEUE_MAX 10000		/* answers waiting */
#define JOBS_NBUCKETS 10

static const char *const jobs_states[] = { "queued", "sent", "printed", "failed",
	"cancelled", "expired" };
#define JOBS_NSTATES (sizeof(jobs_states) / sizeof(jobs_states[0]))

static const double jobs_buckets[JOBS_NBUCKETS] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};

struct jobs_answer {
	struct jobs_answer *next;
	char agent[UUID_TEXT_LEN + 1];
	char id[UUID_TEXT_LEN + 1];
	char state[16];
	char reason[JOBS_REASON_MAX + 1];
	int has_reason;
};

static struct bgthread jobs_bg = BGTHREAD_INIT("jobs");
static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct jobs_answer *jobs_head, *jobs_tail;
static size_t jobs_queued;
static atomic_int jobs_running;	/* answers are taken */

static atomic_ulong jobs_by_state[JOBS_NSTATES];
static atomic_ulong jobs_hist[JOBS_NBUCKETS], jobs_hist_count;
static _Atomic double jobs_hist_sum;

void
jobs_dispatch_count(const char *state)
{
	for (size_t i = 0; i < JOBS_NSTATES; i++)
		if (strcmp(state, jobs_states[i]) == 0)
			atomic_fetch_add(&jobs_by_state[i], 1);
}

static void
jobs_count_n(const char *state, int n)
{
	for (int i = 0; i < n; i++)
		jobs_dispatch_count(state);
}

static void
jobs_observe(double s)
{
	double old = atomic_load(&jobs_hist_sum);

	for (int i = 0; i < JOBS_NBUCKETS; i++)
		if (s <= jobs_buckets[i])
			atomic_fetch_add(&jobs_hist[i], 1);
	atomic_fetch_add(&jobs_hist_count, 1);
	while (!atomic_compare_exchange_weak(&jobs_hist_sum, &old, old + s))
		;
}

void
jobs_dispatch_metrics(struct metrics_buf *m)
{
	metrics_printf(m, "# HELP printmaster_jobs_total Print jobs that reached each state "
	    "on this instance.\n# TYPE printmaster_jobs_total counter\n");
	for (size_t i = 0; i < JOBS_NSTATES; i++)
		metrics_printf(m, "printmaster_jobs_total{state=\"%s\"} %lu\n", jobs_states[i],
		    atomic_load(&jobs_by_state[i]));
	metrics_printf(m, "# HELP printmaster_job_queued_to_printed_seconds Time from a "
	    "job's creation to its agent's printed answer.\n"
	    "# TYPE printmaster_job_queued_to_printed_seconds histogram\n");
	for (int i = 0; i < JOBS_NBUCKETS; i++)
		metrics_printf(m, "printmaster_job_queued_to_printed_seconds_bucket{le=\"%g\"} "
		    "%lu\n", jobs_buckets[i], atomic_load(&jobs_hist[i]));
	metrics_printf(m, "printmaster_job_queued_to_printed_seconds_bucket{le=\"+Inf\"} %lu\n"
	    "printmaster_job_queued_to_printed_seconds_sum %g\n"
	    "printmaster_job_queued_to_printed_seconds_count %lu\n",
	    atomic_load(&jobs_hist_count), atomic_load(&jobs_hist_sum),
	    atomic_load(&jobs_hist_count));
}

void
jobs_dispatch_wake(void)
{
	bgthread_wake(&jobs_bg);
}

int
jobs_dispatch_result(const char *agent_id, const json_t *msg)
{
	const char *id = json_string_value(json_object_get(msg, "id"));
	const char *state = json_string_value(json_object_get(msg, "state"));
	const json_t *reason = json_object_get(msg, "reason");
	struct jobs_answer *a;

	if (!id || !state || (strcmp(state, "accepted") && strcmp(state, "printed") &&
	    strcmp(state, "failed")) || (reason && !json_is_null(reason) &&
	    (!json_is_string(reason) || json_string_length(reason) > JOBS_REASON_MAX)))
		return -1;
	if (!atomic_load(&jobs_running) || (a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	if (uuid_norm(id, a->id, UUID_TEXT_LEN + 1) < 0) {
		free(a);
		return -1;
	}
	snprintf(a->agent, sizeof(a->agent), "%s", agent_id);
	snprintf(a->state, sizeof(a->state), "%s", state);
	if (json_is_string(reason)) {
		snprintf(a->reason, sizeof(a->reason), "%s", json_string_value(reason));
		a->has_reason = 1;
	}
	pthread_mutex_lock(&jobs_mu);
	if (jobs_queued >= JOBS_QUEUE_MAX) {
		pthread_mutex_unlock(&jobs_mu);
		free(a);
		return -1;
	}
	if (jobs_tail)
		jobs_tail->next = a;
	else
		jobs_head = a;
	jobs_tail = a;
	jobs_queued++;
	pthread_mutex_unlock(&jobs_mu);
	jobs_dispatch_wake();
	return 0;
}

static void
jobs_ack(const char *agent, const char *id, int print)
{
	json_t *m = json_pack("{s:s,s:s,s:b}", "type", "job-ack", "id", id, "print", print);

	if (m)
		gateway_feed_command(agent, m);
	json_decref(m);
}

/* One answer. -1 when the database failed (the answer is dropped: the job's
 * re-offer brings it back). */
static int
jobs_answer(PGconn *c, const struct jobs_answer *a)
{
	double queued_s = 0;
	int rc;

	if (strcmp(a->state, "accepted") == 0) {
		if ((rc = store_jobs_accepted(c, a->agent, a->id)) < 0)
			return -1;
		jobs_ack(a->agent, a->id, rc);
		if (!rc)
			log_info("[GATEWAY] job %s: agent %s may not print it (not its job)",
			    a->id, a->agent);
		return 0;
	}
	rc = store_jobs_finish(c, a->agent, a->id, a->state, a->has_reason ? a->reason :
	    NULL, &queued_s);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		log_info("[GATEWAY] job %s: %s from agent %s ignored (not its sent job)",
		    a->id, a->state, a->agent);
		return 0;
	}
	jobs_dispatch_count(a->state);
	if (strcmp(a->state, "printed") == 0)
		jobs_observe(queued_s);
	log_info("[GATEWAY] job %s %s by agent %s%s%.200s", a->id, a->state, a->agent,
	    a->has_reason ? ": " : "", a->has_reason ? a->reason : "");
	return 0;
}

/* The answers queued so far; -1 when the connection failed. */
static int
jobs_answers(PGconn *c)
{
	struct jobs_answer *list, *a;
	int rc = 0;

	pthread_mutex_lock(&jobs_mu);
	list = jobs_head;
	jobs_head = jobs_tail = NULL;
	jobs_queued = 0;
	pthread_mutex_unlock(&jobs_mu);
	while ((a = list) != NULL) {
		list = a->next;
		if (rc == 0 && jobs_answer(c, a) < 0)
			rc = -1;
		free(a);
	}
	return rc;
}

/* One pass; 1 when a step was full (more may wait), 0, or -1. Expiry and
 * putting back run at most once a second; handing out on every wake. */
static int
jobs_pass(PGconn *c, long long *next_maint)
{
	struct store_jobs_moves mv = { 0, 0, 0 };
	json_t *out = json_array(), *d;
	long long now = clock_ms();
	size_t i;

	if (out && now >= *next_maint) {
		*next_maint = now + JOBS_POLL_MS;
		if (store_jobs_maintain(c, JOBS_BATCH, &mv) < 0) {
			json_decref(out);
			return -1;
		}
	}
	if (!out || store_jobs_hand_out(c, presence_instance(), JOBS_BATCH, out, &mv) < 0) {
		json_decref(out);
		return -1;
	}
	json_array_foreach(out, i, d)
		gateway_feed_command(json_string_value(json_object_get(d, "agentId")),
		    json_object_get(d, "message"));
	json_decref(out);
	jobs_count_n("expired", mv.expired);
	jobs_count_n("queued", mv.requeued);
	jobs_count_n("sent", mv.sent);
	return mv.expired == JOBS_BATCH || mv.requeued == JOBS_BATCH || mv.sent == JOBS_BATCH;
}

/*
 * While any job is open (queued or sent) the dispatcher looks on every wake
 * and at least once a second; when none is, it costs the database nothing
 * until a notification (a job created on any instance) or an agent's answer.
 */
static void *
jobs_main(void *arg)
{
	PGconn *c = NULL;
	long long next_maint = 0, next_check = 0;
	int more = 0, open = 1;

	(void)arg;
	while (!bgthread_stopping(&jobs_bg)) {
		long long now;

		if (!c) {
			if ((c = db_connect()) == NULL) {
				bgthread_sleep(&jobs_bg, 1000);
				continue;
			}
			open = 1;	/* jobs may have come while away */
		}
		if (jobs_answers(c) < 0)
			goto broken;
		more = 0;
		if (open && (more = jobs_pass(c, &next_maint)) < 0)
			goto broken;
		if (open && !more && (now = clock_ms()) >= next_check) {
			next_check = now + JOBS_POLL_MS;
			if ((open = store_jobs_any_open(c)) < 0)
				goto broken;
		}
		/* Woken by an agent's answer or by the listener (a job queued on
		 * any instance); otherwise each second while a job is open. */
		if (bgthread_sleep(&jobs_bg, more ? 0 : JOBS_POLL_MS))
			open = 1;
		continue;
broken:
		log_warnx("[GATEWAY] jobs: database error; reconnecting");
		PQfinish(c);
		c = NULL;
		bgthread_sleep(&jobs_bg, 250);
	}
	PQfinish(c);
	return NULL;
}

int
jobs_dispatch_start(const struct server_config *cfg)
{
	(void)cfg;
	atomic_store(&jobs_running, 1);
	if (bgthread_start(&jobs_bg, jobs_main) < 0) {
		atomic_store(&jobs_running, 0);
		return -1;
	}
	return 0;
}

void
jobs_dispatch_stop(void)
{
	struct jobs_answer *a;

	if (!atomic_exchange(&jobs_running, 0))
		return;
	bgthread_stop(&jobs_bg);
	while ((a = jobs_head) != NULL) {
		jobs_head = a->next;
		free(a);
	}
	jobs_tail = NULL;
}
