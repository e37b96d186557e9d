/*
 * sync.c: the agent's sync loop (see sync.h). One thread does everything
 * that touches the spool and the snapshot; it sleeps in poll() on a wake pipe
 * that the signal handlers and the websocket thread write to, so a signal, a
 * command or a connection change is seen at once. Batches are sent by up to
 * sync_concurrency sender threads (HTTP, or the websocket while bulk POSTs
 * fail), whose outcomes the main thread applies.
 * A refused credential (401, 403) is a state of the agent, not of a batch:
 * everything stays spooled until a key is accepted (SIGHUP re-reads it).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "log.h"
#include "agent/backoff.h"
#include "agent/discover.h"
#include "agent/agent_config.h"
#include "agent/http_client.h"
#include "agent/snapshot.h"
#include "agent/spool.h"
#include "agent/stats.h"
#include "agent/sync.h"
#include "agent/testprint.h"
#include "agent/ws_client.h"
#include "agent/jobs.h"

#define SYNC_WS_GRACE_MS 3000	/* first stats wait this long for the websocket */
#define SYNC_BULK_PATH "/api/v1/printing/printers/bulk"
#define SYNC_STATS_PATH "/api/v1/printing/agents/me/stats"
#define SYNC_TESTPRINT_TIMEOUT_MS 10000
#define SYNC_SCAN_WAITERS_MAX 64
#define SYNC_CONCURRENCY_MAX 4	/* sync_concurrency's upper bound */

enum sync_send {
	SEND_OK,		/* the server confirmed the batch */
	SEND_REJECTED,		/* 400, 413, 422: set aside in rejected.jsonl */
	SEND_AUTH,		/* 401, 403: the credential; stays spooled */
	SEND_EXHAUSTED,		/* retries ran out; stays spooled for the next round */
	SEND_STOPPED,		/* a signal ended it; stays spooled */
};

/* In order of seriousness (sync_flush_worse). */
enum sync_flush {
	FLUSH_EMPTY,		/* nothing left to send */
	FLUSH_PENDING,		/* something is left for the next round */
	FLUSH_AUTH,		/* the credential was refused; retry with backoff */
	FLUSH_STOPPED,
};

struct sync;

/*
 * One batch in flight, sent by a thread of its own with its own HTTP client
 * (own connection, own retries and backoff). The main thread fills it
 * (sync_slot_start) and reads it back once `finished` (sync_slot_finish).
 */
struct sync_slot {
	struct sync *s;
	struct http_client *http;	/* slot 0 shares the main thread's */
	pthread_t thread;
	int busy;		/* main thread: a batch is assigned */
	int finished;		/* under s->mu: the thread is done */
	struct spool_batch b;	/* the batch: id and a copy of its printers */
	enum sync_send out;
	struct http_result res;	/* the last reply (status, body) */
	json_t *reply;		/* its body parsed, or NULL */
	char reason[512];
	int attempt, via_ws;
};

struct sync {
	const struct agent_config *cfg;
	char *key;		/* the agent key in use (SIGHUP may replace it); wiped */
	sync_reload_fn reload;
	void *reload_arg;
	enum sync_mode mode;
	struct spool *sp;
	struct http_client *http;
	struct stats st;
	struct snapshot snap;
	struct ws_client *ws;
	struct jobs *jobs;		/* print jobs (run mode with the websocket) */
	struct backoff bo;
	int wake[2];
	char hostname[256];
	long item_failures;	/* this process: items the server marked failed */
	long rejected;		/* this process: batches set aside */
	int scan_now;
	json_t *scan_waiters;	/* requestIds of scan commands to answer */
	struct snapshot_counts last_scan;
	int fallback_logged;
	struct sync_slot slots[SYNC_CONCURRENCY_MAX];
	int nslots;		/* sync_concurrency */
	pthread_mutex_t mu;	/* slots' `finished`, the fallback state below */
	pthread_cond_t cv;	/* a slot finished */
	int on_ws;		/* 1: batches go over the websocket (bulk POSTs failed) */
	long long http_probe_at;	/* while on_ws: when HTTP is tried again */
	int auth_refused;	/* 1 while the server refuses our credential */
	long auth_status;	/* with which status (401 or 403) */
	int auth_tries;		/* refused rounds in a row: the backoff's attempt */
};

static volatile sig_atomic_t sync_stop, sync_reload;
static int sync_wake_fd = -1;

static void
sync_on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig == SIGHUP)
		sync_reload = 1;
	else
		sync_stop = 1;
	if (sync_wake_fd >= 0 && write(sync_wake_fd, &c, 1) < 0) {
		/* The flag alone is enough: poll times out. */
	}
	errno = saved;
}

/* Sleep until `ms` passed, a signal, or (when `any_wake`) any wake byte. */
static void
sync_wait(struct sync *s, long long ms, int any_wake)
{
	long long end = clock_ms() + (ms > 0 ? ms : 0);
	struct pollfd pfd;
	char buf[64];
	long long left;

	while (!sync_stop && !sync_reload && (left = end - clock_ms()) > 0) {
		pfd.fd = s->wake[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left > 60000 ? 60000 : (int)left) > 0) {
			while (read(s->wake[0], buf, sizeof(buf)) > 0)
				;
			if (any_wake)
				return;
		}
	}
}

/* Main thread: the ids of the batches in flight into busy[]; their count. */
static size_t
sync_busy_ids(const struct sync *s, const char **busy)
{
	size_t n = 0;
	int i;

	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].busy)
			busy[n++] = s->slots[i].b.id;
	return n;
}

static void
sync_queue_stats(struct sync *s)
{
	long in_flight = 0, active = 0;
	int i;

	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].busy) {
			active++;
			in_flight += (long)json_array_size(s->slots[i].b.printers);
		}
	stats_set_queue(&s->st, (long)(spool_waiting(s->sp) + spool_in_batches(s->sp)),
	    in_flight, active);
}

static void
sync_write_state(struct sync *s)
{
	sync_queue_stats(s);
	if (stats_write_file(&s->st, s->cfg->spool_dir, s->cfg->server_url) < 0)
		log_warn("[AUTO-SYNC] cannot write %s/%s", s->cfg->spool_dir, STATS_FILE);
}

/* Queue every printer of `arr` in the spool, then make it durable. */
static int
sync_enqueue(struct sync *s, const json_t *arr)
{
	const json_t *p;
	size_t i;
	int rc = 0;

	json_array_foreach(arr, i, p) {
		if (spool_put(s->sp, p) < 0) {
			log_warnx("[AUTO-SYNC] dropping a discovered printer without deviceKey");
			continue;
		}
	}
	if (spool_flush(s->sp) < 0) {
		log_warn("[AUTO-SYNC] spool: cannot write the journal in %s", s->cfg->spool_dir);
		stats_error(&s->st, "spool write failed: %s", strerror(errno));
		rc = -1;
	}
	return rc;
}

static void
sync_scan(struct sync *s)
{
	json_t *found, *changes;
	double t0 = clock_ms_precise(), ms;

	if ((found = discover_run(s->cfg, NULL)) == NULL) {
		log_warnx("[AUTO-SYNC] discovery failed (out of memory)");
		return;
	}
	changes = snapshot_diff(&s->snap, found, s->cfg->lost_after_scans, &s->last_scan);
	json_decref(found);
	if (changes == NULL)
		return;
	/* The journal first: a crash after it and before the snapshot only
	 * repeats changes, never loses them. */
	if (sync_enqueue(s, changes) == 0)
		snapshot_save(&s->snap, s->cfg->spool_dir);
	ms = clock_ms_precise() - t0;
	log_info("[AUTO-SYNC] scan: %d found, %d new, %d changed, %d lost; %zu queued "
	    "(%.0f ms)", s->last_scan.found, s->last_scan.added, s->last_scan.changed,
	    s->last_scan.lost, spool_waiting(s->sp) + spool_in_batches(s->sp), ms);
	json_decref(changes);
}

static void
sync_heartbeat(struct sync *s)
{
	json_t *cur = snapshot_current(&s->snap);

	if (cur == NULL)
		return;
	/* Coalescing in the spool keeps this to one entry per printer even
	 * when the server has been away for many heartbeats. */
	if (json_array_size(cur) > 0 && sync_enqueue(s, cur) == 0)
		log_info("[AUTO-SYNC] heartbeat: %zu printers queued to refresh last_seen",
		    json_array_size(cur));
	json_decref(cur);
}

/* The whole request is malformed in the server's eyes: sending it again
 * cannot help, so it is set aside. Every other refusal is retried. */
static int
sync_malformed(long status)
{
	return status == 400 || status == 413 || status == 422;
}

/* The server refuses the credential itself, not this request. */
static int
sync_auth_status(long status)
{
	return status == 401 || status == 403;
}

/*
 * The server refused our credential. One log line when that starts (or its
 * status changes); a full resend is owed from now on (kept in the journal),
 * so nothing that happens before a key is accepted again can be missed.
 */
static void
sync_auth_refused(struct sync *s, long status, const char *reason)
{
	stats_error(&s->st, "credential refused: %s", reason);
	if (!s->auth_refused || s->auth_status != status)
		log_error("[AUTH] the server refuses the agent key (%s): %zu changes stay "
		    "spooled and are retried with backoff (at most %ld ms apart); set a valid "
		    "agent_key, then send SIGHUP or restart the agent",
		    reason, spool_waiting(s->sp) + spool_in_batches(s->sp),
		    s->cfg->max_retry_delay_ms);
	s->auth_refused = 1;
	s->auth_status = status;
	if (!spool_resync_pending(s->sp) &&
	    (spool_set_resync(s->sp, 1) < 0 || spool_flush(s->sp) < 0))
		log_warn("[AUTO-SYNC] spool: cannot write the journal in %s", s->cfg->spool_dir);
}

/*
 * Queue every printer seen at the last scan, like a heartbeat: after a
 * credential problem, so the server has the agent's whole current state (a
 * new key is a new agent to the server, with no sightings yet).
 */
static void
sync_resync(struct sync *s)
{
	json_t *cur = snapshot_current(&s->snap);
	const json_t *p;
	size_t i;

	if (cur == NULL)
		return;
	json_array_foreach(cur, i, p)
		if (spool_put(s->sp, p) < 0)
			log_warnx("[AUTO-SYNC] dropping a printer without deviceKey");
	if (spool_set_resync(s->sp, 0) < 0 || spool_flush(s->sp) < 0) {
		log_warn("[AUTO-SYNC] spool: cannot write the journal in %s", s->cfg->spool_dir);
		stats_error(&s->st, "spool write failed: %s", strerror(errno));
	} else
		log_info("[AUTH] full state queued after the credential problem: %zu printers",
		    json_array_size(cur));
	json_decref(cur);
}

/* A request was accepted: the credential is good (again). */
static void
sync_auth_accepted(struct sync *s)
{
	if (s->auth_refused) {
		log_info("[AUTH] the server accepts the agent key again");
		s->auth_refused = 0;
		s->auth_status = 0;
		s->auth_tries = 0;
	}
	if (spool_resync_pending(s->sp))
		sync_resync(s);
}

/* One line describing a reply that is not a success, for logs and stats. */
static void
sync_reply_reason(const struct http_result *res, const json_t *reply, char *out,
    size_t len)
{
	const json_t *err = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(err, "code"));
	const char *msg = json_string_value(json_object_get(err, "message"));

	if (res->transport_error)
		snprintf(out, len, "%s", res->error);
	else if (code)
		snprintf(out, len, "HTTP %ld %s: %s", res->status, code, msg ? msg : "");
	else
		snprintf(out, len, "HTTP %ld", res->status);
}

static long
sync_count(const json_t *summary, const char *k)
{
	return (long)json_integer_value(json_object_get(summary, k));
}

/* Log and count what the server said about each item of a confirmed batch. */
static void
sync_batch_result(struct sync *s, const struct spool_batch *b, const json_t *reply,
    const struct http_result *res, int attempt, int via_ws)
{
	const json_t *summary = json_object_get(reply, "summary"), *r;
	long total = (long)json_array_size(b->printers), failed = 0;
	char *err;
	size_t i;

	json_array_foreach(json_object_get(reply, "results"), i, r) {
		if (strcmp(json_string_value(json_object_get(r, "status")) ?
		    json_string_value(json_object_get(r, "status")) : "", "failed") != 0)
			continue;
		failed++;
		err = json_dumps(json_object_get(r, "error"), JSON_COMPACT | JSON_ENCODE_ANY);
		log_warnx("[AUTO-SYNC] batch %.8s item %zu (%s) refused, not retried: %.300s",
		    b->id, i, json_string_value(json_object_get(r, "name")) ?
		    json_string_value(json_object_get(r, "name")) : "?", err ? err : "?");
		free(err);
	}
	if (summary == NULL)
		log_warnx("[AUTO-SYNC] batch %.8s: HTTP %ld without a summary; taken as "
		    "confirmed", b->id, res->status);
	log_info("[AUTO-SYNC] batch %.8s: %ld printers: %ld new, %ld updated, %ld unchanged, "
	    "%ld skipped, %ld duplicate, %ld failed; HTTP %ld in %.1f ms (attempt %d%s)",
	    b->id, total, sync_count(summary, "new"), sync_count(summary, "updated"),
	    sync_count(summary, "unchanged"), sync_count(summary, "skipped"),
	    sync_count(summary, "duplicate"), failed, res->status, res->elapsed_ms, attempt,
	    via_ws ? ", over the websocket" : "");
	s->item_failures += failed;
	stats_batch_done(&s->st, total - failed, failed, res->elapsed_ms);
	if (failed > 0)
		stats_error(&s->st, "batch %.8s: %ld item(s) refused by the server", b->id,
		    failed);
}

/*
 * A bulk POST failed in a way the websocket does not share: no usable reply
 * (refused, reset, timed out) or a gateway's 502/503/504 (a proxy in front of
 * the REST path). A stop (SIGTERM) is none of these.
 */
static int
sync_http_unusable(const struct http_result *res)
{
	if (res->aborted)
		return 0;
	return res->transport_error || res->status == 502 || res->status == 503 ||
	    res->status == 504;
}

/*
 * Send batch `b` (its bulk body) as a "sync" message and wait, at most
 * http_timeout_ms, for the sync-result with its key; fill *out as a bulk POST
 * would (status, body = the result's response, elapsed_ms). No result in time,
 * the connection lost or the message not queued: a transport error, so the
 * caller retries as for HTTP. A stop sets out->aborted. Never two messages in
 * flight for one batch: the caller waits for this one to end. Sender threads.
 */
static void
sync_post_ws(struct sync *s, const struct spool_batch *b, const json_t *body,
    struct http_result *out)
{
	double t0 = clock_ms_precise();
	json_t *msg = json_copy((json_t *)body), *r = NULL;
	int why = WS_CLIENT_WAIT_DOWN;

	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	if (msg == NULL || json_object_set_new(msg, "type", json_string("sync")) < 0 ||
	    json_object_set_new(msg, "idempotencyKey", json_string(b->id)) < 0 ||
	    ws_client_send(s->ws, json_incref(msg)) < 0) {
		snprintf(out->error, sizeof(out->error), "websocket: the batch could not be "
		    "queued (connection down or queue full)");
		goto done;
	}
	r = ws_client_wait_sync_result(s->ws, b->id, s->cfg->http_timeout_ms, &sync_stop, &why);
	if (r != NULL) {
		out->status = (long)json_integer_value(json_object_get(r, "status"));
		out->body = json_dumps(json_object_get(r, "response"),
		    JSON_COMPACT | JSON_ENCODE_ANY);
		out->body_len = out->body ? strlen(out->body) : 0;
	} else if (why == WS_CLIENT_WAIT_STOPPED) {
		out->aborted = 1;
	} else if (why == WS_CLIENT_WAIT_TIMEOUT) {
		snprintf(out->error, sizeof(out->error), "no sync-result within %ld ms",
		    s->cfg->http_timeout_ms);
	} else {
		snprintf(out->error, sizeof(out->error), "websocket closed before the "
		    "sync-result came");
	}
done:
	out->transport_error = r == NULL;
	out->elapsed_ms = clock_ms_precise() - t0;
	json_decref(msg);
	json_decref(r);
}

/*
 * One attempt at batch `b`: over HTTP, or over the websocket while bulk POSTs
 * fail for a reason of their own (see sync_http_unusable) and the websocket is
 * up. HTTP is tried again fallback_probe_interval seconds after the switch
 * (and after every failed probe). Each switch is logged once. Returns 1 when
 * the attempt went over the websocket. Sender threads: the fallback state is
 * under s->mu.
 */
static int
sync_post(struct sync *s, struct sync_slot *sl, const json_t *body, const char *text,
    struct http_result *res)
{
	char reason[512];
	int use_ws;

	pthread_mutex_lock(&s->mu);
	use_ws = s->on_ws && ws_client_connected(s->ws) && clock_ms() < s->http_probe_at;
	pthread_mutex_unlock(&s->mu);
	if (use_ws) {
		sync_post_ws(s, &sl->b, body, res);
		return 1;
	}
	http_client_post_json(sl->http, SYNC_BULK_PATH, sl->b.id, text, res);
	if (sync_stop || !sync_http_unusable(res)) {
		pthread_mutex_lock(&s->mu);
		if (s->on_ws && !res->aborted && !sync_stop) {
			log_info("[FALLBACK] bulk POSTs work again (HTTP %ld): batches go over "
			    "HTTP from now on", res->status);
			s->on_ws = 0;
		}
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	if (!ws_client_connected(s->ws))
		return 0;
	sync_reply_reason(res, NULL, reason, sizeof(reason));
	pthread_mutex_lock(&s->mu);
	if (!s->on_ws)
		log_warnx("[FALLBACK] bulk POST of batch %.8s failed (%s) while the websocket is "
		    "up: batches go over the websocket; HTTP is tried again in %ld s", sl->b.id,
		    reason, s->cfg->fallback_probe_interval);
	else
		log_debug("[FALLBACK] HTTP probe with batch %.8s failed (%s); staying on the "
		    "websocket for %ld s", sl->b.id, reason, s->cfg->fallback_probe_interval);
	s->on_ws = 1;
	s->http_probe_at = clock_ms() + s->cfg->fallback_probe_interval * 1000LL;
	pthread_mutex_unlock(&s->mu);
	http_result_free(res);
	sync_post_ws(s, &sl->b, body, res);
	return 1;
}

/* Sender threads: sleep `ms`, less when a signal asks to stop or reload. */
static void
sync_sleep(long ms)
{
	long long end = clock_ms() + ms, left;

	while (!sync_stop && !sync_reload && (left = end - clock_ms()) > 0)
		poll(NULL, 0, left > 100 ? 100 : (int)left);
}

/*
 * A sender thread: send the slot's batch with retries and backoff until the
 * server answers it for good, the retries run out, or a signal ends the round
 * (a SIGHUP too: the main loop applies it and sends again). It touches no
 * spool and no agent state: the outcome (sl->out, with the reply kept) is
 * applied by the main thread in sync_slot_finish.
 */
static void *
sync_slot_run(void *arg)
{
	struct sync_slot *sl = arg;
	struct sync *s = sl->s;
	struct http_result *res = &sl->res;
	json_t *body;
	char *text = NULL;
	long delay;
	int attempt;

	sl->out = SEND_EXHAUSTED;
	body = json_pack("{s:O, s:s}", "printers", sl->b.printers, "duplicateHandling",
	    s->cfg->duplicate_handling);
	/* Sorted keys: a resend after a restart is the same bytes, which the
	 * server's idempotency check compares. */
	if (body == NULL || (text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto done;
	for (attempt = 0; attempt <= s->cfg->retry_attempts && !sync_stop && !sync_reload;
	    attempt++) {
		sl->via_ws = sync_post(s, sl, body, text, res);
		sl->attempt = attempt + 1;
		if (res->aborted || sync_stop) {
			log_info("[AUTO-SYNC] batch %.8s abandoned on shutdown; it stays spooled",
			    sl->b.id);
			sl->out = SEND_STOPPED;
			break;
		}
		sl->reply = res->body ? json_loads(res->body, 0, NULL) : NULL;
		if (!res->transport_error && res->status >= 200 && res->status < 300) {
			sl->out = SEND_OK;
			break;
		}
		sync_reply_reason(res, sl->reply, sl->reason, sizeof(sl->reason));
		if (!res->transport_error && sync_auth_status(res->status)) {
			/* Retrying at once cannot help: the round ends, the main
			 * loop tries again with backoff (or at once after SIGHUP). */
			log_debug("[AUTH] batch %.8s (%zu printers) refused: %s; it stays spooled",
			    sl->b.id, json_array_size(sl->b.printers), sl->reason);
			sl->out = SEND_AUTH;
			break;
		}
		if (!res->transport_error && sync_malformed(res->status)) {
			sl->out = SEND_REJECTED;
			break;
		}
		stats_error(&s->st, "batch %.8s: %s", sl->b.id, sl->reason);
		if (attempt == s->cfg->retry_attempts) {
			log_warnx("[AUTO-SYNC] batch %.8s (%zu printers): %s; %ld retries used, "
			    "it stays spooled for the next round", sl->b.id,
			    json_array_size(sl->b.printers), sl->reason, s->cfg->retry_attempts);
			break;
		}
		delay = res->retry_after_ms >= 0 ? res->retry_after_ms :
		    backoff_delay_ms(&s->bo, attempt);
		stats_retry(&s->st, res->transport_error ? 0 : res->elapsed_ms);
		log_warnx("[AUTO-SYNC] batch %.8s: %s; retry %d/%ld in %ld ms%s", sl->b.id,
		    sl->reason, attempt + 1, s->cfg->retry_attempts, delay,
		    res->retry_after_ms >= 0 ? " (Retry-After)" : "");
		http_result_free(res);
		json_decref(sl->reply);
		sl->reply = NULL;
		sync_sleep(delay);
	}
	if (sync_stop && sl->out == SEND_EXHAUSTED)
		sl->out = SEND_STOPPED;
done:
	json_decref(body);
	free(text);
	pthread_mutex_lock(&s->mu);
	sl->finished = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Main thread: give batch `b` (copied) to slot `sl`'s sender thread. 0 or -1. */
static int
sync_slot_start(struct sync *s, struct sync_slot *sl, const struct spool_batch *b)
{
	sigset_t block, old;
	int rc;

	memset(&sl->res, 0, sizeof(sl->res));
	sl->reply = NULL;
	sl->reason[0] = '\0';
	sl->attempt = sl->via_ws = sl->finished = 0;
	sl->s = s;
	memcpy(sl->b.id, b->id, sizeof(sl->b.id));
	if ((sl->b.printers = json_deep_copy(b->printers)) == NULL)
		return -1;
	/* Signals stay with the main thread, which sets the flags we poll. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&sl->thread, NULL, sync_slot_run, sl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		json_decref(sl->b.printers);
		sl->b.printers = NULL;
		return -1;
	}
	sl->busy = 1;
	return 0;
}

/* Main thread: join slot `sl`'s finished sender and apply its outcome to the
 * spool and the agent's state. Returns the outcome. */
static enum sync_send
sync_slot_finish(struct sync *s, struct sync_slot *sl)
{
	enum sync_send out = sl->out;
	const struct spool_batch *b = &sl->b;

	pthread_join(sl->thread, NULL);
	switch (out) {
	case SEND_OK:
		sync_batch_result(s, b, sl->reply, &sl->res, sl->attempt, sl->via_ws);
		if (spool_batch_done(s->sp, b->id) < 0)
			out = SEND_EXHAUSTED;
		sync_auth_accepted(s);
		break;
	case SEND_AUTH:
		sync_auth_refused(s, sl->res.status, sl->reason);
		break;
	case SEND_REJECTED:
		log_error("[AUTO-SYNC] batch %.8s (%zu printers) refused as a whole: %s; "
		    "set aside in %s/%s, not retried", b->id, json_array_size(b->printers),
		    sl->reason, s->cfg->spool_dir, SPOOL_REJECTED);
		stats_error(&s->st, "batch %.8s refused: %s", b->id, sl->reason);
		stats_rejected(&s->st, (long)json_array_size(b->printers));
		s->rejected++;
		if (spool_batch_reject(s->sp, b->id, sl->res.status, sl->reason, sl->reply) < 0)
			log_warn("[AUTO-SYNC] cannot set batch %.8s aside", b->id);
		break;
	case SEND_EXHAUSTED:
	case SEND_STOPPED:
		break;
	}
	http_result_free(&sl->res);
	json_decref(sl->reply);
	sl->reply = NULL;
	json_decref(sl->b.printers);
	sl->b.printers = NULL;
	sl->busy = 0;
	return out;
}

/* The more serious of two ends of a round. */
static enum sync_flush
sync_flush_worse(enum sync_flush a, enum sync_flush b)
{
	return a > b ? a : b;
}

/*
 * Send what the spool holds, up to sync_concurrency batches at once, each by
 * a sender thread of its own; the main thread forms the batches (never two
 * with one printer) and applies their outcomes. A batch whose retries ran
 * out, a refused credential or a signal stops new batches; those in flight
 * finish first.
 */
static enum sync_flush
sync_flush(struct sync *s)
{
	const struct spool_batch *b;
	const char *busy[SYNC_CONCURRENCY_MAX];
	enum sync_flush end = FLUSH_EMPTY;
	struct sync_slot *sl;
	size_t nbusy;
	int i, forming = 1, any;

	for (;;) {
		for (i = 0; forming && !sync_stop && !sync_reload && i < s->nslots; i++) {
			sl = &s->slots[i];
			if (sl->busy)
				continue;
			nbusy = sync_busy_ids(s, busy);
			if (spool_next_free_batch(s->sp, (size_t)s->cfg->batch_size, busy, nbusy,
			    &b) < 0) {
				log_warn("[AUTO-SYNC] spool: cannot write the journal in %s",
				    s->cfg->spool_dir);
				stats_error(&s->st, "spool write failed");
				end = sync_flush_worse(end, FLUSH_PENDING);
				forming = 0;
			} else if (b == NULL) {
				break;
			} else if (sync_slot_start(s, sl, b) < 0) {
				log_warnx("[AUTO-SYNC] cannot start a sender thread; batch %.8s waits "
				    "for the next round", b->id);
				end = sync_flush_worse(end, FLUSH_PENDING);
				forming = 0;
			}
		}
		sync_queue_stats(s);
		if (sync_busy_ids(s, busy) == 0)
			break;
		pthread_mutex_lock(&s->mu);
		for (;;) {
			for (i = 0, any = 0; i < s->nslots; i++)
				any |= s->slots[i].busy && s->slots[i].finished;
			if (any)
				break;
			pthread_cond_wait(&s->cv, &s->mu);
		}
		pthread_mutex_unlock(&s->mu);
		for (i = 0; i < s->nslots; i++) {
			sl = &s->slots[i];
			if (!sl->busy || !sl->finished)
				continue;
			switch (sync_slot_finish(s, sl)) {
			case SEND_OK:
			case SEND_REJECTED:
				sync_write_state(s);
				break;
			case SEND_EXHAUSTED:
				end = sync_flush_worse(end, FLUSH_PENDING);
				forming = 0;
				break;
			case SEND_AUTH:
				end = sync_flush_worse(end, FLUSH_AUTH);
				forming = 0;
				break;
			case SEND_STOPPED:
				end = sync_flush_worse(end, FLUSH_STOPPED);
				forming = 0;
				break;
			}
		}
	}
	if (sync_stop)
		return FLUSH_STOPPED;
	/* A SIGHUP ended the round early: what is left is for the next one. */
	if (end == FLUSH_EMPTY && spool_waiting(s->sp) + spool_batches(s->sp) > 0)
		end = FLUSH_PENDING;
	return end;
}

static void
sync_send_stats(struct sync *s)
{
	struct http_result res;
	json_t *st = stats_json(&s->st), *body;
	char *text;

	if (st == NULL)
		return;
	if (ws_client_connected(s->ws) &&
	    ws_client_send(s->ws, json_pack("{s:s, s:O}", "type", "stats", "stats", st)) == 0) {
		s->fallback_logged = 0;
		json_decref(st);
		return;
	}
	body = json_pack("{s:o}", "stats", st);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		return;
	http_client_post_json(s->http, SYNC_STATS_PATH, NULL, text, &res);
	if (!res.transport_error && sync_auth_status(res.status)) {
		json_t *reply = res.body ? json_loads(res.body, 0, NULL) : NULL;
		char reason[512];

		/* The [AUTH] state logs this once, not every stats_interval. */
		sync_reply_reason(&res, reply, reason, sizeof(reason));
		json_decref(reply);
		sync_auth_refused(s, res.status, reason);
		log_debug("[FALLBACK] statistics refused: %s", reason);
	} else {
		if (!res.transport_error && res.status >= 200 && res.status < 300)
			sync_auth_accepted(s);
		if (!s->fallback_logged || res.transport_error || res.status >= 300)
			log_info("[FALLBACK] websocket down: statistics sent over HTTP: %s "
			    "(HTTP %ld)", res.transport_error ? res.error :
			    (res.status < 300 ? "ok" : "refused"), res.status);
		else
			log_debug("[FALLBACK] statistics sent over HTTP (HTTP %ld)", res.status);
	}
	s->fallback_logged = 1;
	http_result_free(&res);
	free(text);
}

static void
sync_reply(struct sync *s, const char *request_id, int ok, const char *message)
{
	if (ws_client_send(s->ws, json_pack("{s:s, s:s, s:b, s:s}", "type", "command-result",
	    "requestId", request_id, "ok", ok, "message", message)) < 0)
		log_warnx("[AUTO-SYNC] cannot answer command %s: websocket down", request_id);
}

static void
sync_test_print(struct sync *s, const char *rid, const json_t *printer)
{
	const json_t *p;
	char msg[512];
	int rc;

	p = snapshot_find(&s->snap, json_string_value(json_object_get(printer, "deviceKey")),
	    json_string_value(json_object_get(printer, "address")),
	    (long)json_integer_value(json_object_get(printer, "port")));
	/* Print only to what this agent itself discovered, at the address it
	 * found: the server cannot steer the agent to any other socket. */
	if (p == NULL) {
		log_warnx("[AUTO-SYNC] test print %s: printer not seen by this agent", rid);
		sync_reply(s, rid, 0, "this agent does not see that printer");
		return;
	}
	rc = testprint_send(p, s->hostname, SYNC_TESTPRINT_TIMEOUT_MS, msg, sizeof(msg));
	log_info("[AUTO-SYNC] test print %s on %s: %s", rid,
	    json_string_value(json_object_get(p, "name")), msg);
	sync_reply(s, rid, rc == 0, msg);
}

static void
sync_commands(struct sync *s)
{
	json_t *cmd;
	const char *name, *rid;

	while ((cmd = ws_client_next_command(s->ws)) != NULL) {
		name = json_string_value(json_object_get(cmd, "command"));
		rid = json_string_value(json_object_get(cmd, "requestId"));
		if (strcmp(name, "scan") == 0) {
			log_info("[AUTO-SYNC] scan requested by the server (%s)", rid);
			s->scan_now = 1;
			if (json_array_size(s->scan_waiters) < SYNC_SCAN_WAITERS_MAX)
				json_array_append_new(s->scan_waiters, json_string(rid));
		} else if (strcmp(name, "test-print") == 0) {
			sync_test_print(s, rid, json_object_get(cmd, "printer"));
		} else {
			log_warnx("[AUTO-SYNC] unknown command '%.64s' from the server", name);
			sync_reply(s, rid, 0, "unknown command");
		}
		json_decref(cmd);
	}
}

static void
sync_answer_scans(struct sync *s, enum sync_flush fl)
{
	const json_t *rid;
	char msg[256];
	size_t i;

	if (json_array_size(s->scan_waiters) == 0)
		return;
	snprintf(msg, sizeof(msg), "scan done: %d found, %d new, %d changed, %d lost; %s",
	    s->last_scan.found, s->last_scan.added, s->last_scan.changed, s->last_scan.lost,
	    fl == FLUSH_EMPTY ? "all synced" : "some changes wait in the spool");
	json_array_foreach(s->scan_waiters, i, rid)
		sync_reply(s, json_string_value(rid), 1, msg);
	json_array_clear(s->scan_waiters);
}

static long long
sync_min(long long a, long long b)
{
	return a < b ? a : b;
}

/* The live connection with the key in use (the websocket copies it). */
static struct ws_client *
sync_ws_start(struct sync *s)
{
	struct agent_config c = *s->cfg;

	c.agent_key = s->key;
	return ws_client_start(&c, &s->st, s->wake[1]);
}

/* The key for every HTTP client (the main thread's and the senders'), or
 * none changed: 0 or -1. Not while batches are in flight. */
static int
sync_set_key(struct sync *s, const char *key)
{
	int i, j;

	for (i = 0; i < s->nslots; i++)
		if (http_client_set_key(s->slots[i].http, key) < 0) {
			for (j = 0; j < i; j++)
				if (http_client_set_key(s->slots[j].http, s->key) < 0)
					log_error("[AUTH] SIGHUP: out of memory restoring the key "
					    "of sender %d", j);
			return -1;
		}
	return 0;
}

/*
 * SIGHUP: read the configuration again as at start and take a changed
 * agent_key into use at once (HTTP client and websocket). Other settings
 * take effect at the next restart.
 */
static void
sync_apply_reload(struct sync *s)
{
	struct agent_config nc;
	char err[512], *key;
	int changed;

	if (s->reload == NULL)
		return;
	/* First, so the lines below land in the new file (logrotate). */
	if (log_reopen() < 0)
		log_warn("[AUTO-SYNC] SIGHUP: cannot reopen log_file %s", s->cfg->log_file);
	memset(&nc, 0, sizeof(nc));
	if (s->reload(&nc, err, sizeof(err), s->reload_arg) < 0) {
		log_error("[AUTH] SIGHUP: cannot read the configuration again (%s); keeping "
		    "the current one", err);
		return;
	}
	changed = strcmp(nc.agent_key ? nc.agent_key : "", s->key) != 0;
	if (changed) {
		if ((key = strdup(nc.agent_key ? nc.agent_key : "")) == NULL ||
		    sync_set_key(s, key) < 0) {
			log_error("[AUTH] SIGHUP: out of memory; keeping the current agent_key");
			if (key)
				sodium_memzero(key, strlen(key));
			free(key);
			changed = -1;
		} else {
			sodium_memzero(s->key, strlen(s->key));
			free(s->key);
			s->key = key;
			if (s->ws) {
				jobs_set_ws(s->jobs, NULL);
				ws_client_stop(s->ws);
				s->ws = sync_ws_start(s);
				jobs_set_ws(s->jobs, s->ws);
			}
		}
	}
	if (changed >= 0)
		log_info("[AUTH] SIGHUP: configuration read again; agent_key %s (other settings "
		    "take effect at restart)", changed ? "changed, in use from now on" :
		    "unchanged");
	/* A new key starts a new backoff; either way the next round is now. */
	s->auth_tries = 0;
	if (nc.agent_key)
		sodium_memzero(nc.agent_key, strlen(nc.agent_key));
	cfg_free(agent_config_table, &nc);
}

static void
sync_loop(struct sync *s)
{
	const struct agent_config *cfg = s->cfg;
	long long now = clock_ms(), next_scan = now, retry_at = 0;
	/*
	 * At start the websocket is still connecting and sends the statistics
	 * itself once up; give it a moment before falling back to HTTP, so a
	 * healthy start is not logged as a [FALLBACK].
	 */
	long long next_stats = now + (s->ws ? SYNC_WS_GRACE_MS : 0);
	long long next_stats_log = now + cfg->stats_log_interval * 1000LL;
	char line[256];
	/*
	 * The first heartbeat right after the first scan: the server may have
	 * turned this agent's printers `unknown` while it was away (its lease,
	 * agent_offline_after), and only a report gives them their real status
	 * back; the same after the websocket comes back from an outage.
	 */
	long long next_hb = now, wake_at;
	enum sync_flush fl = FLUSH_EMPTY;
	int ws_up = 0, ws_was_up = 0, scanned, due;
	long delay;

	while (!sync_stop) {
		if (sync_reload) {
			sync_reload = 0;
			sync_apply_reload(s);
			retry_at = 0;
		}
		sync_commands(s);
		now = clock_ms();
		scanned = 0;
		if (s->scan_now || now >= next_scan) {
			s->scan_now = 0;
			sync_scan(s);
			next_scan = now + cfg->scan_interval * 1000LL;
			scanned = 1;
		}
		if (now >= next_hb && cfg->enabled) {
			sync_heartbeat(s);
			next_hb = now + cfg->heartbeat_interval * 1000LL;
			scanned = 1;
		}
		/* While the credential is refused only the backoff (or a
		 * SIGHUP) starts a round, not every scan. */
		due = s->auth_refused ? now >= retry_at : (scanned || now >= retry_at);
		due = due && cfg->enabled;
		if (!sync_stop && due && spool_waiting(s->sp) + spool_batches(s->sp) > 0) {
			fl = sync_flush(s);
			/* After retries ran out the next round is the next scan. */
			retry_at = fl == FLUSH_PENDING ? clock_ms() +
			    cfg->scan_interval * 1000LL : 0;
			if (fl == FLUSH_AUTH) {
				delay = backoff_delay_ms(&s->bo, s->auth_tries);
				if (s->auth_tries < 30)
					s->auth_tries++;
				log_debug("[AUTH] credential refused; next try in %ld ms", delay);
				retry_at = clock_ms() + delay;
			}
		} else if (spool_waiting(s->sp) + spool_batches(s->sp) == 0) {
			fl = FLUSH_EMPTY;
		}
		if (sync_stop)
			break;
		sync_answer_scans(s, fl);
		sync_write_state(s);
		now = clock_ms();
		if (now >= next_stats_log) {
			stats_log_line(&s->st, line, sizeof(line));
			log_info("%s", line);
			next_stats_log = now + cfg->stats_log_interval * 1000LL;
		}
		if (cfg->enabled && (ws_client_connected(s->ws) != ws_up || now >= next_stats)) {
			ws_up = ws_client_connected(s->ws);
			if (ws_up && ws_was_up)
				next_hb = now;
			ws_was_up |= ws_up;
			sync_send_stats(s);
			next_stats = now + cfg->stats_interval * 1000LL;
		}
		wake_at = sync_min(sync_min(next_scan, next_hb), sync_min(next_stats,
		    next_stats_log));
		if (retry_at > 0)
			wake_at = sync_min(wake_at, retry_at);
		sync_wait(s, wake_at - now, 1);
	}
}

static int
sync_setup_signals(struct sync *s)
{
	struct sigaction sa;
	int rc;

	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	sync_wake_fd = s->wake[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sync_on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll and curl's waits return at once on a signal. */
	sa.sa_flags = 0;
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -1;
	/* SIGHUP reads the configuration again; `sync --once` keeps the default. */
	rc = s->mode == SYNC_MODE_RUN ? sigaction(SIGHUP, &sa, NULL) : 0;
	return rc;
}

int
sync_main(const struct agent_config *cfg, enum sync_mode mode, sync_reload_fn reload,
    void *reload_arg)
{
	struct sync s;
	char err[512];
	enum sync_flush fl;
	int rc = 1, i;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.mode = mode;
	s.reload = reload;
	s.reload_arg = reload_arg;
	s.wake[0] = s.wake[1] = -1;
	s.bo.base_ms = cfg->retry_delay_ms;
	s.bo.multiplier = cfg->backoff_multiplier;
	s.bo.max_ms = cfg->max_retry_delay_ms;
	stats_init(&s.st);
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	if (gethostname(s.hostname, sizeof(s.hostname) - 1) < 0)
		snprintf(s.hostname, sizeof(s.hostname), "printmaster-agent");
	if (snapshot_init(&s.snap) < 0 || (s.scan_waiters = json_array()) == NULL ||
	    (s.key = strdup(cfg->agent_key ? cfg->agent_key : "")) == NULL)
		goto out;
	if (sync_setup_signals(&s) < 0) {
		log_warn("[AUTO-SYNC] cannot set up signal handling");
		goto out;
	}
	if (cfg->agent_key == NULL || *cfg->agent_key == '\0')
		log_warnx("[AUTO-SYNC] agent_key is not set: the server will refuse every batch");
	if (spool_open(cfg->spool_dir, &s.sp, err, sizeof(err)) < 0) {
		log_error("[AUTO-SYNC] %s", err);
		goto out;
	}
	if (spool_waiting(s.sp) + spool_in_batches(s.sp) > 0)
		log_info("[AUTO-SYNC] spool %s: %zu changes waiting from before (%zu in formed "
		    "batches)", cfg->spool_dir, spool_waiting(s.sp) + spool_in_batches(s.sp),
		    spool_in_batches(s.sp));
	snapshot_load(&s.snap, cfg->spool_dir);
	s.http = http_client_new(cfg->server_url, s.key, cfg->http_connect_timeout_ms,
	    cfg->http_timeout_ms, &sync_stop);
	if (s.http == NULL) {
		log_error("[AUTO-SYNC] cannot set up the HTTP client");
		goto out;
	}
	/* Slot 0 sends with the main thread's client: the main thread waits
	 * while batches are in flight. The others have their own connections. */
	s.slots[0].http = s.http;
	for (s.nslots = 1; s.nslots < (int)cfg->sync_concurrency; s.nslots++)
		if ((s.slots[s.nslots].http = http_client_new(cfg->server_url, s.key,
		    cfg->http_connect_timeout_ms, cfg->http_timeout_ms, &sync_stop)) == NULL) {
			log_error("[AUTO-SYNC] cannot set up the HTTP client of sender %d",
			    s.nslots);
			goto out;
		}
	log_info("[AUTO-SYNC] agent %s syncing to %s every %lds (batch %ld, %ld retries, "
	    "%d in flight, duplicateHandling %s, spool %s)", PM_VERSION, cfg->server_url,
	    cfg->scan_interval, cfg->batch_size, cfg->retry_attempts, s.nslots,
	    cfg->duplicate_handling, cfg->spool_dir);
	if (!cfg->enabled)
		log_info("[AUTO-SYNC] enabled = false: discovering and keeping the local state "
		    "in %s, sending nothing to the server (no bulk requests, no websocket)",
		    cfg->spool_dir);
	if (mode == SYNC_MODE_RUN) {
		if (cfg->websocket && cfg->enabled) {
			/* Without its spool the agent takes no jobs; it still syncs. */
			s.jobs = jobs_start(cfg);
			s.ws = sync_ws_start(&s);
			jobs_set_ws(s.jobs, s.ws);
		}
		sync_loop(&s);
		log_info("[AUTO-SYNC] stopping: %zu changes stay spooled",
		    spool_waiting(s.sp) + spool_in_batches(s.sp));
		rc = 0;
	} else {
		/* One shot: send everything seen, not only what changed since the
		 * last run, so a cron'd `sync --once` also refreshes last_seen. */
		sync_scan(&s);
		if (!cfg->enabled) {
			rc = 0;
			goto done;
		}
		sync_heartbeat(&s);
		fl = sync_flush(&s);
		rc = (fl == FLUSH_EMPTY && s.item_failures == 0 && s.rejected == 0) ? 0 : 1;
		log_info("[AUTO-SYNC] sync --once: %s (%ld item failures, %ld batches refused, "
		    "%zu changes spooled)", rc == 0 ? "all synced" : "NOT all synced",
		    s.item_failures, s.rejected, spool_waiting(s.sp) + spool_in_batches(s.sp));
	}
done:
	sync_write_state(&s);
out:
	jobs_set_ws(s.jobs, NULL);
	ws_client_stop(s.ws);
	jobs_stop(s.jobs);
	for (i = 1; i < s.nslots; i++)
		http_client_free(s.slots[i].http);
	http_client_free(s.http);
	spool_close(s.sp);
	snapshot_free(&s.snap);
	json_decref(s.scan_waiters);
	sync_wake_fd = -1;
	if (s.wake[0] >= 0)
		close(s.wake[0]);
	if (s.wake[1] >= 0)
		close(s.wake[1]);
	stats_destroy(&s.st);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
	if (s.key) {
		sodium_memzero(s.key, strlen(s.key));
		free(s.key);
	}
	return rc;
}

int
sync_status(const struct agent_config *cfg)
{
	return stats_print_file(cfg->spool_dir, stdout) == 0 ? 0 : 1;
}
