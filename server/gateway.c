/*
 * gateway.c: the libwebsockets side of /ws. Only the lws service thread runs
 * this file's callback and touches connections; everything else arrives as a
 * gw_item in the inbox. Every outgoing frame goes through a connection's
 * bounded queue, so a client that does not read costs at most ws_queue_max
 * shared messages before it is told to refresh and is closed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <libwebsockets.h>
#include <sodium.h>

#include "common/clock.h"
#include "log.h"
#include "jsonlimit.h"
#include "server/acceptor.h"
#include "server/auth_cache.h"
#include "server/gateway.h"
#include "server/gateway_worker.h"
#include "server/jobs_dispatch.h"
#include "server/gw_queue.h"
#include "server/presence.h"
#include "server/scope.h"

#define GW_MAX_MSG 16384		/* largest client message, in bytes */
/* lws allocates rx_buffer_size (+ LWS_PRE) for every connection and hands a
 * longer frame over in pieces of that size, which gw_receive puts together.
 * Clients send little (ping, subscribe); a control frame (at most 125 bytes)
 * must fit whole. Sends are not limited by it: see GW_TX_PACKET. */
#define GW_RX_BUFFER 512
/* lws cuts every send at tx_packet_size (at rx_buffer_size when 0) and copies
 * the rest into a buffer of its own; events must go out in one send. */
#define GW_TX_PACKET 65536
/* Queued messages written with one send (see gw_writeable). A send the
 * socket cannot take whole is kept by lws until written: at most this much
 * per client that stopped reading. */
#define GW_WRITE_BATCH 16384
#define GW_MAX_DEPTH 8
#define GW_BACKLOG_MAX 1000		/* events not yet queued; the listener waits beyond */
#define GW_STALL_MS 3000		/* a full queue without progress this long overflows */
#define GW_HOLD_MS 1000			/* live events wait this long for a first subscribe */
#define GW_AUTH_TIMEOUT_S 10
#define GW_OVERFLOW_CLOSE_S 5
#define GW_PING_MS 30000		/* ping a client silent this long */
#define GW_HANGUP_MS 70000		/* drop a client silent this long */
#define GW_SWEEP_MS 1000		/* how often gw_sweep looks (session ends too) */
#define GW_CLOSE_UNAUTHORIZED 4401
#define GW_CLOSE_TRY_LATER 1013

enum gw_state {
	GW_PENDING = 0,		/* waiting for the credential check */
	GW_READY,		/* live events flow */
	GW_REPLAYING,		/* catching up from since; live events wait in the log */
	GW_CLOSING,		/* flush what is queued, then close */
};

/* What a connection keeps of its credential: struct auth without the e-mail,
 * which nothing here uses (and which is two thirds of struct auth). */
struct gw_ident {
	enum auth_kind kind;
	enum auth_role role;
	char company_id[HTTP_ID_LEN + 1];
	char branch_id[HTTP_ID_LEN + 1];	/* "" = every branch of the company */
	char principal_id[HTTP_ID_LEN + 1];
	long long expires;		/* a session's end, Unix seconds; 0 = none */
};

/*
 * Per-connection state, allocated by lws (per_session_data_size) for every
 * websocket, so it holds only what an idle connection needs: the credential
 * goes straight from the handshake headers into the worker's job, and room
 * lists, queue slots and receive buffers are allocated to their size.
 */
struct gw_conn {
	struct lws *wsi;
	uint64_t serial;
	struct gw_conn *prev, *next;
	struct gw_conn *hnext;	/* gw_find's hash chain */
	enum gw_state state;
	int close_code;
	const char *close_reason;
	struct gw_ident auth;
	int company_room, nbranches;
	char (*branches)[HTTP_ID_LEN + 1];	/* nbranches ids, owned */
	/* A subscribe waiting for the worker's room check; once answered, the
	 * rooms it replaced, for the replay that follows (see gw_on_subscribed). */
	int sub_pending, sub_company_room, sub_nbranches, sub_has_since;
	char (*sub_branches)[HTTP_ID_LEN + 1];	/* owned, GW_MAX_ROOMS while parsing */
	long long sub_since;
	long long last_sent;	/* highest event id queued (or skipped) for us */
	long long live_from;	/* every event in our rooms after this has been sent */
	long long skip_from, skip_to;	/* replay: sent live already (old rooms in sub_*) */
	long long stall_since;	/* ms: when its full queue held up the pump; 0 = not */
	int replay_budget, replay_wait;
	int held;		/* welcomed, waiting for its first message (see gw_release) */
	int ping_due;		/* gw_sweep wants a ping written */
	long long last_rx;	/* ms: the client's last data frame or pong */
	long long ping_at;	/* ms: our last ping to it */
	char *deferred;		/* a subscribe that came during a replay, run after it */
	struct gw_queue q;	/* grows on demand, at most ws_queue_max */
	char *rx;
	size_t rxlen;
};

static struct lws_context *gw_ctx;
static struct lws_vhost *gw_vhost;
static pthread_t gw_thread;
static int gw_thread_running;
static atomic_int gw_stopping;
static pthread_mutex_t gw_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gw_cond = PTHREAD_COND_INITIALIZER;
static struct gw_item *gw_in_head, *gw_in_tail;
static size_t gw_backlog;	/* events posted and not yet queued to clients */
/* Events taken from the inbox, queued to clients at the pace of the slowest
 * client still reading (lws thread only). */
static struct gw_item *gw_pend_head, *gw_pend_tail;
static size_t gw_pend_pos;
static lws_sorted_usec_list_t gw_pump_sul, gw_sweep_sul;
static int gw_accepting;
static int gw_events_closed;	/* shutting down: the listener must not wait */
static struct gw_conn *gw_conns;
static uint64_t gw_next_serial;
/* company id -> highest event id known to be committed (lws thread only).
 * Event order is per company (store_events.h), so the head is too. */
static json_t *gw_heads;
static const struct server_config *gw_cfg;
static gateway_authenticator gw_auth;
static atomic_long gw_nclients, gw_nqueued;
static atomic_ulong gw_overflows, gw_delivered, gw_refused;

static long long
gw_head_of(const char *company_id)
{
	return json_integer_value(json_object_get(gw_heads, company_id));
}

static void
gw_head_raise(const char *company_id, long long id)
{
	if (id > gw_head_of(company_id))
		json_object_set_new(gw_heads, company_id, json_integer(id));
}

void
gateway_set_authenticator(gateway_authenticator fn)
{
	gw_auth = fn;
}

gateway_authenticator
gateway_get_authenticator(void)
{
	return gw_auth;
}

int
gateway_post(struct gw_item *it)
{
	pthread_mutex_lock(&gw_lock);
	/* Back-pressure on the listener only: replies and fds never wait. */
	while (it->kind == GW_ITEM_EVENTS && gw_accepting && !gw_events_closed &&
	    gw_backlog >= GW_BACKLOG_MAX) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&gw_cond, &gw_lock, &ts);
	}
	if (!gw_accepting || (it->kind == GW_ITEM_EVENTS && gw_events_closed)) {
		pthread_mutex_unlock(&gw_lock);
		if (it->kind == GW_ITEM_ADOPT)
			close(it->fd);
		gw_item_free(it);
		return -1;
	}
	if (gw_in_tail)
		gw_in_tail->next = it;
	else
		gw_in_head = it;
	gw_in_tail = it;
	if (it->kind == GW_ITEM_EVENTS)
		gw_backlog += it->nevents;	/* replays are bounded by the queues */
	/* Under the lock: the context cannot be destroyed meanwhile. */
	lws_cancel_service(gw_ctx);
	pthread_mutex_unlock(&gw_lock);
	return 0;
}

/* The acceptor's hand-off (acceptor thread): fd ownership passes to us. */
static int
gw_handoff(int fd, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	struct gw_item *it = calloc(1, sizeof(*it));

	(void)sa;
	(void)salen;
	(void)arg;
	if (!it) {
		close(fd);
		return -1;
	}
	it->kind = GW_ITEM_ADOPT;
	it->fd = fd;
	return gateway_post(it);
}

/*
 * Worker answers name their connection by serial. With thousands of clients a
 * walk of gw_conns per answer made connecting quadratic, so connections are
 * also hashed by serial (sequential: the low bits spread them evenly). Without
 * a table (allocation failed) gw_find walks the list as before.
 */
static struct gw_conn **gw_htab;
static size_t gw_hsize, gw_hcount;	/* gw_hsize: 0 or a power of two */

static void
gw_hash_add(struct gw_conn *c)
{
	if (gw_hcount + 1 > gw_hsize) {
		size_t n = gw_hsize ? gw_hsize * 2 : 256;
		struct gw_conn **t = calloc(n, sizeof(*t));

		if (t) {
			for (size_t i = 0; i < gw_hsize; i++) {
				struct gw_conn *e, *next;

				for (e = gw_htab[i]; e; e = next) {
					next = e->hnext;
					e->hnext = t[e->serial & (n - 1)];
					t[e->serial & (n - 1)] = e;
				}
			}
			free(gw_htab);
			gw_htab = t;
			gw_hsize = n;
		}
	}
	gw_hcount++;
	if (!gw_htab)
		return;
	c->hnext = gw_htab[c->serial & (gw_hsize - 1)];
	gw_htab[c->serial & (gw_hsize - 1)] = c;
}

static void
gw_hash_del(struct gw_conn *c)
{
	gw_hcount--;
	if (!gw_htab)
		return;
	for (struct gw_conn **p = &gw_htab[c->serial & (gw_hsize - 1)]; *p; p = &(*p)->hnext)
		if (*p == c) {
			*p = c->hnext;
			break;
		}
	c->hnext = NULL;
}

static struct gw_conn *
gw_find(uint64_t serial)
{
	struct gw_conn *c;

	if (gw_htab) {
		for (c = gw_htab[serial & (gw_hsize - 1)]; c; c = c->hnext)
			if (c->serial == serial)
				return c;
		return NULL;
	}
	for (c = gw_conns; c; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

static void
gw_ident_set(struct gw_ident *id, const struct auth *a)
{
	id->kind = a->kind;
	id->role = a->role;
	memcpy(id->company_id, a->company_id, sizeof(id->company_id));
	memcpy(id->branch_id, a->branch_id, sizeof(id->branch_id));
	memcpy(id->principal_id, a->principal_id, sizeof(id->principal_id));
	id->expires = a->expires;
}

/* The credential back as a struct auth, its e-mail "". */
static void
gw_ident_get(const struct gw_ident *id, struct auth *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = id->kind;
	a->role = id->role;
	memcpy(a->company_id, id->company_id, sizeof(a->company_id));
	memcpy(a->branch_id, id->branch_id, sizeof(a->branch_id));
	memcpy(a->principal_id, id->principal_id, sizeof(a->principal_id));
}

static void
gw_job_auth(struct gw_job *j, const struct gw_conn *c)
{
	gw_ident_get(&c->auth, &j->auth);
}

/* auth_cache_covers for a connection's credential. */
static int
gw_covers(const struct gw_conn *c, const char *what)
{
	struct auth a;

	gw_ident_get(&c->auth, &a);
	return auth_cache_covers(&a, what);
}

/* Copy n room ids into a job's fixed array. */
static void
gw_job_branches(struct gw_job *j, int n, char (*branches)[HTTP_ID_LEN + 1])
{
	j->nbranches = n;
	if (n > 0)
		memcpy(j->branches, branches, (size_t)n * sizeof(*branches));
}

/* Forget the rooms of a subscribe (pending, refused, or replaced and no longer
 * needed by a replay). */
static void
gw_sub_clear(struct gw_conn *c)
{
	free(c->sub_branches);
	c->sub_branches = NULL;
	c->sub_company_room = c->sub_nbranches = 0;
}

static void
gw_drop_queue(struct gw_conn *c)
{
	struct gw_msg *m;

	while ((m = gw_queue_pop(&c->q)) != NULL) {
		gw_msg_unref(m);
		atomic_fetch_sub(&gw_nqueued, 1);
	}
}

static json_t *
gw_rooms_json(const struct gw_conn *c)
{
	json_t *a = json_array();
	char room[64];

	if (c->company_room) {
		snprintf(room, sizeof(room), "company:%s", c->auth.company_id);
		json_array_append_new(a, json_string(room));
	}
	for (int i = 0; i < c->nbranches; i++) {
		snprintf(room, sizeof(room), "branch:%s", c->branches[i]);
		json_array_append_new(a, json_string(room));
	}
	return a;
}

static void gw_enqueue(struct gw_conn *c, struct gw_msg *m);

/* A server-made event (no row in the log): printer:refresh-required. */
static void
gw_refresh_required(struct gw_conn *c, const char *reason, long long count,
    long long id)
{
	char ts[32], room[64];
	time_t now = time(NULL);
	struct tm tm;
	struct gw_msg *m;
	json_t *j;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	if (c->company_room || c->nbranches == 0)
		snprintf(room, sizeof(room), "company:%s", c->auth.company_id);
	else
		snprintf(room, sizeof(room), "branch:%s", c->branches[0]);
	j = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s?,s:s,s:{s:s,s:I}}", "type", "event",
	    "id", (json_int_t)id, "event", "printer:refresh-required", "room", room,
	    "companyId", c->auth.company_id,
	    "branchId", c->nbranches == 1 && !c->company_room ? c->branches[0] : NULL,
	    "ts", ts, "data", "reason", reason, "count", (json_int_t)count);
	m = gw_msg_json(j);
	json_decref(j);
	if (m) {
		m->is_event = 1;
		gw_enqueue(c, m);
		gw_msg_unref(m);
	}
}

static void
gw_close_after_flush(struct gw_conn *c, int code, const char *reason)
{
	c->state = GW_CLOSING;
	c->close_code = code;
	c->close_reason = reason;
	lws_callback_on_writable(c->wsi);
}

/* The queue is full: forget it, say so, and close once that is written (or
 * after GW_OVERFLOW_CLOSE_S when the client reads nothing at all). */
static void
gw_overflow(struct gw_conn *c)
{
	unsigned dropped = c->q.len;

	gw_drop_queue(c);
	atomic_fetch_add(&gw_overflows, 1);
	log_warnx("[GATEWAY] client %llu too slow: %u messages dropped, closing",
	    (unsigned long long)c->serial, dropped);
	gw_refresh_required(c, "slow-consumer", dropped, gw_head_of(c->auth.company_id));
	gw_close_after_flush(c, GW_CLOSE_TRY_LATER, "slow consumer");
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, GW_OVERFLOW_CLOSE_S);
}

static void
gw_enqueue(struct gw_conn *c, struct gw_msg *m)
{
	int rc;

	if (c->state == GW_CLOSING)
		return;		/* told already (or refused): nothing more is queued */
	rc = gw_queue_push(&c->q, m, (uint32_t)gw_cfg->ws_queue_max);
	if (rc == -2 && c->q.len == 0) {
		/* Not even one slot: there is nothing to flush and no way to say
		 * so (gw_overflow would come back here). */
		gw_close_after_flush(c, GW_CLOSE_TRY_LATER, "server busy");
		return;
	}
	if (rc < 0) {
		/* Full, or no memory to grow: the same remedy, a refresh. */
		gw_overflow(c);
		return;
	}
	m->refs++;
	atomic_fetch_add(&gw_nqueued, 1);
	/* Asked once per burst: gw_writeable asks again while any is left. */
	if (c->q.len == 1)
		lws_callback_on_writable(c->wsi);
}

static void
gw_send_json(struct gw_conn *c, json_t *j)
{
	struct gw_msg *m = gw_msg_json(j);

	json_decref(j);
	if (m) {
		gw_enqueue(c, m);
		gw_msg_unref(m);
	}
}

static void
gw_error(struct gw_conn *c, const char *code, const char *message)
{
	gw_send_json(c, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code,
	    "message", message));
}

static int
gw_in_branch(const struct gw_conn *c, const char *branch)
{
	for (int i = 0; i < c->nbranches; i++)
		if (strcmp(c->branches[i], branch) == 0)
			return 1;
	return 0;
}

/* Whether ev is in the room set (company_room, branches): the credential's
 * company and either the company room or the event's branch. */
static int
gw_rooms_cover(const struct gw_conn *c, int company_room, int n,
    char (*branches)[HTTP_ID_LEN + 1], const struct gw_event *ev)
{
	if (strcmp(c->auth.company_id, ev->company_id) != 0)
		return 0;
	if (company_room)
		return 1;
	for (int i = 0; i < n && ev->branch_id[0]; i++)
		if (strcmp(branches[i], ev->branch_id) == 0)
			return 1;
	return 0;
}

/* The envelope of ev for this connection (through the room it has it in), or
 * NULL when the event is not for it or was sent already. */
static struct gw_msg *
gw_pick(const struct gw_conn *c, const struct gw_event *ev)
{
	if (ev->id <= c->last_sent || strcmp(c->auth.company_id, ev->company_id) != 0)
		return NULL;
	if (ev->branch_id[0] && ev->as_branch && gw_in_branch(c, ev->branch_id))
		return ev->as_branch;
	return c->company_room ? ev->as_company : NULL;
}

static void
gw_deliver(struct gw_conn *c, const struct gw_event *ev)
{
	struct gw_msg *m = gw_pick(c, ev);

	if (m) {
		c->last_sent = ev->id;
		gw_enqueue(c, m);
	}
}

/* Ms to wait before ev may be queued: 0 when every ready client it is for has
 * room. A client whose full queue has made no progress for GW_STALL_MS is
 * overflowed here, so one stalled reader holds the others up only that long. */
static long long
gw_blocked(const struct gw_event *ev, long long now)
{
	unsigned limit = (unsigned)gw_cfg->ws_queue_max - 1;	/* one slot for replies */
	long long wait = 0;

	for (struct gw_conn *c = gw_conns; c; c = c->next) {
		if (c->q.len < limit)
			continue;
		/* A replay waiting on a client that reads nothing blocks no one, but
		 * is cut by the same rule. */
		if (c->state == GW_REPLAYING && c->replay_wait) {
			if (!c->stall_since)
				c->stall_since = now;
			else if (now - c->stall_since >= GW_STALL_MS)
				gw_overflow(c);
			continue;
		}
		if (c->state != GW_READY || !gw_pick(c, ev))
			continue;
		if (!c->stall_since)
			c->stall_since = now;
		if (now - c->stall_since >= GW_STALL_MS) {
			gw_overflow(c);
			continue;
		}
		if (!wait || c->stall_since + GW_STALL_MS - now < wait)
			wait = c->stall_since + GW_STALL_MS - now;
	}
	return wait;
}

static void gw_pump_cb(lws_sorted_usec_list_t *sul);

/* Queue pending events to the ready clients, in id order, while they have room. */
static void
gw_pump(void)
{
	long long now = clock_ms();
	size_t done = 0;

	while (gw_pend_head) {
		struct gw_item *it = gw_pend_head;

		if (gw_pend_pos < it->nevents) {
			struct gw_event *ev = &it->events[gw_pend_pos];
			long long wait = gw_blocked(ev, now);

			if (wait > 0) {
				lws_sul_schedule(gw_ctx, 0, &gw_pump_sul, gw_pump_cb,
				    (lws_usec_t)wait * 1000);
				break;
			}
			for (struct gw_conn *c = gw_conns; c; c = c->next)
				if (c->state == GW_READY)
					gw_deliver(c, ev);
			gw_head_raise(ev->company_id, ev->id);
			gw_pend_pos++;
			done++;
			continue;
		}
		gw_pend_head = it->next;
		if (!gw_pend_head)
			gw_pend_tail = NULL;
		gw_pend_pos = 0;
		gw_item_free(it);
	}
	if (done) {
		pthread_mutex_lock(&gw_lock);
		gw_backlog -= done;
		pthread_cond_broadcast(&gw_cond);
		pthread_mutex_unlock(&gw_lock);
	}
}

static void
gw_pump_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	gw_pump();
}

static void gw_subscribe(struct gw_conn *c, const json_t *msg);

/* Live again: run the subscribe that waited for the replay, if any. */
static void
gw_ready(struct gw_conn *c)
{
	json_t *msg;

	c->state = GW_READY;
	gw_sub_clear(c);	/* the replay that skipped by them is over */
	if (!c->deferred)
		return;
	msg = json_loads(c->deferred, 0, NULL);
	free(c->deferred);
	c->deferred = NULL;
	if (msg)
		gw_subscribe(c, msg);
	json_decref(msg);
}

static void
gw_replay_next(struct gw_conn *c)
{
	int room = (int)gw_cfg->ws_queue_max - (int)c->q.len - 1;
	int n = room < c->replay_budget ? room : c->replay_budget;
	struct gw_job *j;

	/* Rounds of at least half a queue: wait for the queue to drain first. */
	if (n <= 0 || (n < c->replay_budget && room < (int)gw_cfg->ws_queue_max / 2)) {
		c->replay_wait = 1;	/* resumed from WRITEABLE once the queue drains */
		return;
	}
	c->replay_wait = 0;
	log_debug("[GATEWAY] client %llu: replay after %lld, up to %d",
	    (unsigned long long)c->serial, c->last_sent, n);
	if ((j = gw_job_new(GW_JOB_REPLAY, c->serial)) == NULL)
		goto err;
	gw_job_auth(j, c);
	j->company_room = c->company_room;
	gw_job_branches(j, c->nbranches, c->branches);
	j->since = c->last_sent;
	j->limit = n;
	if (gw_worker_post(j) < 0)
		goto err;
	return;
err:
	if (gw_head_of(c->auth.company_id) > c->last_sent)
		c->last_sent = gw_head_of(c->auth.company_id);
	c->live_from = c->last_sent;
	gw_refresh_required(c, "replay-unavailable", 0, c->last_sent);
	gw_ready(c);
}

static void
gw_on_replay(struct gw_conn *c, struct gw_item *it)
{
	log_debug("[GATEWAY] client %llu: replayed %zu (more %d, head %lld, ours %lld, "
	    "queued %u)", (unsigned long long)c->serial, it->nevents, it->more, it->head,
	    gw_head_of(c->auth.company_id), c->q.len);
	if (c->state != GW_REPLAYING)
		return;
	if (!it->ok) {
		if (gw_head_of(c->auth.company_id) > c->last_sent)
			c->last_sent = gw_head_of(c->auth.company_id);
		c->live_from = c->last_sent;
		gw_refresh_required(c, "replay-unavailable", 0, c->last_sent);
		gw_ready(c);
		return;
	}
	for (size_t i = 0; i < it->nevents && c->state == GW_REPLAYING; i++) {
		struct gw_event *ev = &it->events[i];

		/* Sent before this subscribe: once is enough, and in order. */
		if (ev->id > c->skip_from && ev->id <= c->skip_to &&
		    gw_rooms_cover(c, c->sub_company_room, c->sub_nbranches,
		    c->sub_branches, ev)) {
			if (ev->id > c->last_sent)
				c->last_sent = ev->id;
			continue;
		}
		gw_deliver(c, ev);
	}
	if (c->state != GW_REPLAYING)
		return;		/* overflowed: the client was told to refresh */
	c->replay_budget -= (int)it->nevents;
	if (it->more || gw_head_of(c->auth.company_id) > it->head) {
		/* More rows, or the listener is ahead of the snapshot: go on. */
		long long head = gw_head_of(c->auth.company_id);
		long long to = it->head > head ? it->head : head;

		if (c->replay_budget > 0) {
			gw_replay_next(c);
			return;
		}
		/* Out of budget with events possibly left: live from here, after a
		 * refresh-required that tells the client to reload. */
		if (to > c->last_sent)
			c->last_sent = to;
		c->live_from = c->last_sent;
		gw_refresh_required(c, "replay-limit", GW_REPLAY_MAX, c->last_sent);
		gw_ready(c);
		return;
	}
	/* A complete replay: everything in our rooms after since has been sent. */
	c->live_from = c->sub_since;
	gw_ready(c);
}

static void
gw_start_replay(struct gw_conn *c, long long since)
{
	c->state = GW_REPLAYING;
	c->skip_from = c->skip_to = 0;
	c->last_sent = c->sub_since = since;
	c->replay_budget = GW_REPLAY_MAX;
	gw_replay_next(c);
}

/*
 * A welcomed connection is held (no live events) until its first message or
 * GW_HOLD_MS, then catches up by replay from its welcome. A page that
 * answers the welcome with subscribe+since therefore gets the missed events
 * before any newer live one: strictly in id order, each once.
 */
static void
gw_release(struct gw_conn *c)
{
	if (!c->held || c->sub_pending)
		return;		/* the pending subscribe releases it */
	c->held = 0;
	lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
	gw_start_replay(c, c->last_sent);
}

static void
gw_on_auth(struct gw_conn *c, struct gw_item *it)
{
	static const char *const roles[] = { "none", "viewer", "admin", "agent" };

	if (!it->ok) {
		atomic_fetch_add(&gw_refused, 1);
		log_info("[GATEWAY] client %llu: credential refused",
		    (unsigned long long)c->serial);
		gw_close_after_flush(c, GW_CLOSE_UNAUTHORIZED, "unauthorized");
		return;
	}
	gw_ident_set(&c->auth, &it->auth);
	if (c->auth.branch_id[0]) {
		if ((c->branches = malloc(sizeof(*c->branches))) == NULL) {
			gw_close_after_flush(c, GW_CLOSE_TRY_LATER, "server busy");
			return;
		}
		c->nbranches = 1;
		snprintf(c->branches[0], sizeof(c->branches[0]), "%s", c->auth.branch_id);
	} else {
		c->company_room = 1;
	}
	/* A company whose events this instance has not yet seen starts from
	 * the newest event the worker found for it. */
	gw_head_raise(c->auth.company_id, it->head);
	c->last_sent = c->live_from = gw_head_of(c->auth.company_id);
	c->state = GW_REPLAYING;
	c->held = 1;
	lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	lws_set_timer_usecs(c->wsi, (lws_usec_t)GW_HOLD_MS * 1000);
	log_info("[GATEWAY] client %llu: %s %s joined %s:%s", (unsigned long long)c->serial,
	    roles[c->auth.role], c->auth.principal_id, c->company_room ? "company" : "branch",
	    c->company_room ? c->auth.company_id : c->auth.branch_id);
	gw_send_json(c, json_pack("{s:s,s:o,s:I,s:s}", "type", "welcome", "rooms",
	    gw_rooms_json(c), "lastEventId", (json_int_t)c->last_sent, "role",
	    roles[c->auth.role]));
}

static void
gw_on_subscribed(struct gw_conn *c, struct gw_item *it)
{
	c->sub_pending = 0;
	if (it->ok <= 0)
		gw_sub_clear(c);
	if (it->ok <= 0 && c->held) {
		gw_release(c);	/* refused, but live events must flow anyway */
	}
	if (it->ok <= 0) {
		gw_error(c, it->ok < 0 ? "unavailable" : "forbidden", it->ok < 0 ?
		    "the database is unavailable; try again" :
		    "a room is outside the credential's scope");
		return;
	}
	/* Swap: the new rooms become ours, the old ones stay in sub_* so the
	 * replay can skip what they already delivered live. */
	{
		char (*old)[HTTP_ID_LEN + 1] = c->branches, (*fit)[HTTP_ID_LEN + 1];
		int oc = c->company_room, on = c->nbranches;

		c->company_room = c->sub_company_room;
		c->nbranches = c->sub_nbranches;
		c->branches = c->sub_branches;
		c->sub_company_room = oc;
		c->sub_nbranches = on;
		c->sub_branches = old;
		/* Parsed into GW_MAX_ROOMS slots: keep only what is used. */
		if (c->nbranches == 0) {
			free(c->branches);
			c->branches = NULL;
		} else if ((fit = realloc(c->branches,
		    (size_t)c->nbranches * sizeof(*fit))) != NULL) {
			c->branches = fit;
		}
	}
	gw_send_json(c, json_pack("{s:s,s:o}", "type", "subscribed", "rooms",
	    gw_rooms_json(c)));
	if (c->held) {
		/* Nothing sent yet: replay from since, or from the welcome. */
		c->held = 0;
		lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
		gw_start_replay(c, c->sub_has_since ? c->sub_since : c->last_sent);
		return;
	}
	if (c->sub_has_since && c->sub_since < c->last_sent) {
		c->state = GW_REPLAYING;
		c->skip_from = c->live_from;
		c->skip_to = c->last_sent;
		c->last_sent = c->sub_since;
		c->replay_budget = GW_REPLAY_MAX;
		gw_replay_next(c);
	} else {
		/* Nothing to replay before what is live already; new rooms from here. */
		if (c->sub_has_since && c->sub_since > c->last_sent)
			c->last_sent = c->sub_since;
		c->live_from = c->last_sent;
		gw_sub_clear(c);
	}
}

/* The connection's credential was revoked or its session ended: nothing more
 * is sent, not even what is queued; it is closed with 4401. */
static void
gw_revoke(struct gw_conn *c, const char *reason)
{
	log_info("[GATEWAY] client %llu: %s, closing", (unsigned long long)c->serial,
	    reason);
	gw_drop_queue(c);
	c->held = 0;
	gw_close_after_flush(c, GW_CLOSE_UNAUTHORIZED, reason);
}

static void
gw_drain(void)
{
	struct gw_item *it, *next;

	pthread_mutex_lock(&gw_lock);
	it = gw_in_head;
	gw_in_head = gw_in_tail = NULL;
	pthread_mutex_unlock(&gw_lock);
	for (; it; it = next) {
		struct gw_conn *c;

		next = it->next;
		switch (it->kind) {
		case GW_ITEM_ADOPT:
			/* On NULL lws has closed the fd already. */
			if (!lws_adopt_socket_vhost(gw_vhost, it->fd))
				log_warnx("[GATEWAY] could not adopt a connection");
			break;
		case GW_ITEM_EVENTS:
			/* Kept: gw_pump queues them and frees the item. */
			it->next = NULL;
			if (gw_pend_tail)
				gw_pend_tail->next = it;
			else
				gw_pend_head = it;
			gw_pend_tail = it;
			continue;
		case GW_ITEM_AUTH:
			if ((c = gw_find(it->serial)) != NULL && c->state == GW_PENDING)
				gw_on_auth(c, it);
			else if (it->ok && it->auth.kind == AUTH_AGENT) {
				/* Gone before the answer: undo the presence it made. */
				struct gw_job *j = gw_job_new(GW_JOB_OFFLINE, 0);

				if (j) {
					j->auth = it->auth;
					gw_worker_post(j);
				}
			}
			break;
		case GW_ITEM_SUBSCRIBED:
			if ((c = gw_find(it->serial)) != NULL)
				gw_on_subscribed(c, it);
			break;
		case GW_ITEM_REPLAY:
			if ((c = gw_find(it->serial)) != NULL)
				gw_on_replay(c, it);
			break;
		case GW_ITEM_REVOKE:
			for (c = gw_conns; c; c = c->next)
				if (c->state != GW_PENDING && c->state != GW_CLOSING &&
				    gw_covers(c, it->what))
					gw_revoke(c, "credential revoked");
			break;
		case GW_ITEM_COMMAND:
			for (c = gw_conns; c; c = c->next)
				if ((c->state == GW_READY || c->state == GW_REPLAYING) &&
				    c->auth.kind == AUTH_AGENT &&
				    strcmp(c->auth.principal_id, it->agent_id) == 0)
					gw_enqueue(c, it->msg);
			break;
		}
		gw_item_free(it);
	}
	gw_pump();
}

/*
 * The handshake's credential (Authorization: Bearer, ?token= or the pm_session
 * cookie) into tok; 0 when there is one, -1 when not. Only while lws holds the
 * request headers: in the filter and in ESTABLISHED. The caller wipes tok.
 * Read twice rather than kept: a copy in every connection's state would cost
 * GW_TOKEN_MAX bytes for as long as it lives.
 */
static int
gw_credential(struct lws *wsi, char tok[GW_TOKEN_MAX + 1])
{
	char authz[GW_TOKEN_MAX + 16];
	const char *arg;
	size_t max;

	tok[0] = '\0';
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) < (int)sizeof(authz) &&
	    lws_hdr_copy(wsi, authz, sizeof(authz), WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
	    strncasecmp(authz, "Bearer ", 7) == 0)
		snprintf(tok, GW_TOKEN_MAX + 1, "%s", authz + 7 + strspn(authz + 7, " "));
	else if ((arg = lws_get_urlarg_by_name(wsi, "token=", authz,
	    (int)sizeof(authz))) != NULL)
		snprintf(tok, GW_TOKEN_MAX + 1, "%s", arg);
	if (!tok[0]) {
		max = GW_TOKEN_MAX + 1;
		if (lws_http_cookie_get(wsi, "pm_session", tok, &max) != 0)
			tok[0] = '\0';
	}
	sodium_memzero(authz, sizeof(authz));
	return tok[0] ? 0 : -1;
}

/* Path, Origin and the presence of a credential, during the handshake.
 * Non-zero refuses the connection. The credential itself is checked later,
 * off this thread. */
static int
gw_filter(struct lws *wsi, struct gw_conn *c)
{
	char uri[64], origin[256] = "", host[256] = "", tok[GW_TOKEN_MAX + 1];
	int rc;

	if (!c)
		return -1;
	memset(c, 0, sizeof(*c));
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) >= (int)sizeof(uri) ||
	    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 ||
	    strcmp(uri, "/ws") != 0)
		return -1;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
		if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0 ||
		    (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) > 0 &&
		    lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) < 0) ||
		    !gateway_origin_allowed(origin, host, gw_cfg->allowed_origins)) {
			atomic_fetch_add(&gw_refused, 1);
			log_warnx("[GATEWAY] refused a websocket from origin '%.100s'", origin);
			return -1;
		}
	}
	rc = gw_credential(wsi, tok);
	sodium_memzero(tok, sizeof(tok));
	if (rc < 0) {
		atomic_fetch_add(&gw_refused, 1);
		log_info("[GATEWAY] refused a websocket without a credential");
		return -1;
	}
	return 0;
}

static void
gw_established(struct lws *wsi, struct gw_conn *c)
{
	char tok[GW_TOKEN_MAX + 1];
	struct gw_job *j = NULL;
	int rc;

	c->wsi = wsi;
	c->serial = ++gw_next_serial;
	c->state = GW_PENDING;
	c->last_rx = clock_ms();
	c->next = gw_conns;
	if (gw_conns)
		gw_conns->prev = c;
	gw_conns = c;
	gw_hash_add(c);
	atomic_fetch_add(&gw_nclients, 1);
	rc = gw_credential(wsi, tok);
	if (rc == 0 && (j = gw_job_new(GW_JOB_AUTH, c->serial)) != NULL)
		memcpy(j->token, tok, sizeof(j->token));
	sodium_memzero(tok, sizeof(tok));
	if (rc < 0) {
		/* The filter saw one: only a library change could get here. */
		gw_close_after_flush(c, GW_CLOSE_UNAUTHORIZED, "unauthorized");
		return;
	}
	if (!j || gw_worker_post(j) < 0) {
		gw_close_after_flush(c, GW_CLOSE_TRY_LATER, "server busy");
		return;
	}
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, GW_AUTH_TIMEOUT_S);
}

static void
gw_closed(struct gw_conn *c)
{
	if (!c->serial)
		return;		/* refused before it was established */
	if (c->prev)
		c->prev->next = c->next;
	else
		gw_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	gw_hash_del(c);
	gw_drop_queue(c);
	gw_queue_free(&c->q);
	free(c->rx);
	free(c->deferred);
	free(c->branches);
	gw_sub_clear(c);
	c->rx = NULL;
	c->deferred = NULL;
	c->branches = NULL;
	c->nbranches = 0;
	atomic_fetch_sub(&gw_nclients, 1);
	if (c->auth.kind == AUTH_AGENT) {
		struct gw_job *j = gw_job_new(GW_JOB_OFFLINE, c->serial);

		if (j) {
			gw_job_auth(j, c);
			gw_worker_post(j);
		}
	}
	log_debug("[GATEWAY] client %llu closed", (unsigned long long)c->serial);
	c->serial = 0;
}

/* One room name against the credential: 0 ok (added to the pending set), -1
 * malformed, -2 outside the credential's scope. */
static int
gw_parse_room(struct gw_conn *c, const char *room)
{
	char id[HTTP_ID_LEN + 1];
	int kind = gateway_room_parse(room, id);

	if (kind == GW_ROOM_COMPANY) {
		if (strcmp(id, c->auth.company_id) != 0 || c->auth.branch_id[0])
			return -2;
		c->sub_company_room = 1;
		return 0;
	}
	if (kind == GW_ROOM_BRANCH) {
		if (c->auth.branch_id[0] && strcmp(id, c->auth.branch_id) != 0)
			return -2;
		for (int i = 0; i < c->sub_nbranches; i++)
			if (strcmp(c->sub_branches[i], id) == 0)
				return 0;
		snprintf(c->sub_branches[c->sub_nbranches++], HTTP_ID_LEN + 1, "%s", id);
		return 0;
	}
	return -1;
}

static void
gw_subscribe(struct gw_conn *c, const json_t *msg)
{
	json_t *rooms = json_object_get(msg, "rooms"), *since = json_object_get(msg, "since"), *v;
	struct gw_job *j;
	size_t i;

	if (json_is_null(rooms) || (json_is_array(rooms) && json_array_size(rooms) == 0))
		rooms = NULL;	/* the same as leaving it out: keep the rooms */

	if (c->sub_pending) {
		gw_error(c, "busy", "the previous subscribe is still being answered");
		return;
	}
	if (c->state == GW_REPLAYING && !c->held) {
		/* After the replay, in order; only the latest one waits. */
		free(c->deferred);
		c->deferred = json_dumps(msg, JSON_COMPACT);
		return;
	}
	if ((rooms && (!json_is_array(rooms) || json_array_size(rooms) > GW_MAX_ROOMS)) ||
	    (since && !json_is_null(since) &&
	    (!json_is_integer(since) || json_integer_value(since) < 0))) {
		gw_error(c, "bad_request", "rooms must be an array of at most 32 room "
		    "names; since a non-negative event id");
		return;
	}
	gw_sub_clear(c);
	if ((c->sub_branches = malloc(GW_MAX_ROOMS * sizeof(*c->sub_branches))) == NULL)
		goto busy;
	c->sub_company_room = rooms ? 0 : c->company_room;
	c->sub_nbranches = rooms ? 0 : c->nbranches;
	if (c->nbranches > 0)
		memcpy(c->sub_branches, c->branches, (size_t)c->nbranches * sizeof(*c->branches));
	json_array_foreach(rooms, i, v) {
		int rc = json_is_string(v) ? gw_parse_room(c, json_string_value(v)) : -1;

		if (rc == -1) {
			gw_sub_clear(c);
			gw_error(c, "bad_request", "a room is company:<id> or branch:<id>");
			return;
		}
		if (rc == -2) {
			gw_sub_clear(c);
			gw_error(c, "forbidden", "a room is outside the credential's scope");
			return;
		}
	}
	c->sub_has_since = since && json_is_integer(since);
	c->sub_since = c->sub_has_since ? (long long)json_integer_value(since) : 0;
	if ((j = gw_job_new(GW_JOB_SUBSCRIBE, c->serial)) == NULL)
		goto busy;
	gw_job_auth(j, c);
	gw_job_branches(j, c->sub_nbranches, c->sub_branches);
	if (gw_worker_post(j) < 0)
		goto busy;
	c->sub_pending = 1;
	return;
busy:
	gw_sub_clear(c);
	gw_error(c, "unavailable", "the server is busy; try again");
}

/* Agent messages: hello, stats, command-result. */
static void
gw_agent_message(struct gw_conn *c, const char *type, const json_t *msg)
{
	struct gw_job *j;

	if (c->auth.kind != AUTH_AGENT) {
		gw_error(c, "forbidden", "only agents send this message");
		return;
	}
	if (strcmp(type, "command-result") == 0) {
		const char *req = json_string_value(json_object_get(msg, "requestId"));
		const char *txt = json_string_value(json_object_get(msg, "message"));

		log_info("[GATEWAY] agent %s: command %.64s %s%s%.200s", c->auth.principal_id,
		    req ? req : "?", json_is_true(json_object_get(msg, "ok")) ? "ok" : "failed",
		    txt ? ": " : "", txt ? txt : "");
		return;
	}
	if (strcmp(type, "job-result") == 0) {
		if (jobs_dispatch_result(c->auth.principal_id, msg) < 0)
			gw_error(c, "bad_request", "job-result needs id, state (accepted, "
			    "printed or failed) and at most a 500-byte reason");
		return;
	}
	if (strcmp(type, "hello") == 0) {
		const json_t *h = json_object_get(msg, "hostname"), *v = json_object_get(msg, "version");

		if ((h && (!json_is_string(h) || strlen(json_string_value(h)) > 255)) ||
		    (v && (!json_is_string(v) || strlen(json_string_value(v)) > 63))) {
			gw_error(c, "bad_request", "hostname (at most 255 bytes) and version "
			    "(at most 63) must be strings");
			return;
		}
		if ((j = gw_job_new(GW_JOB_HELLO, c->serial)) == NULL)
			goto busy;
		snprintf(j->hostname, sizeof(j->hostname), "%s", h ? json_string_value(h) : "");
		snprintf(j->version, sizeof(j->version), "%s", v ? json_string_value(v) : "");
	} else {
		const json_t *s = json_object_get(msg, "stats");

		if (!presence_stats_valid(s)) {
			gw_error(c, "bad_request", "stats must be a flat object of at most 4 KB");
			return;
		}
		if ((j = gw_job_new(GW_JOB_STATS, c->serial)) == NULL)
			goto busy;
		/* A copy of its own: the worker thread owns it from here. */
		j->stats = json_deep_copy(s);
	}
	gw_job_auth(j, c);
	if (gw_worker_post(j) == 0)
		return;
busy:
	gw_error(c, "unavailable", "the server is busy; try again");
}

static void
gw_message(struct gw_conn *c, const char *buf, size_t len)
{
	json_t *msg;
	const char *type;

	if (c->state == GW_PENDING) {
		gw_error(c, "not_ready", "wait for the welcome message");
		return;
	}
	if (json_nesting_depth(buf, len, GW_MAX_DEPTH) < 0 ||
	    (msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		gw_error(c, "bad_request", "messages are JSON objects");
		return;
	}
	type = json_string_value(json_object_get(msg, "type"));
	if (!type || strcmp(type, "subscribe") != 0)
		gw_release(c);
	if (!type)
		gw_error(c, "bad_request", "a message needs a type");
	else if (strcmp(type, "ping") == 0)
		gw_send_json(c, json_pack("{s:s}", "type", "pong"));
	else if (strcmp(type, "subscribe") == 0)
		gw_subscribe(c, msg);
	else if (strcmp(type, "hello") == 0 || strcmp(type, "stats") == 0 ||
	    strcmp(type, "command-result") == 0 || strcmp(type, "job-result") == 0)
		gw_agent_message(c, type, msg);
	else
		gw_error(c, "bad_request", "unknown message type");
	json_decref(msg);
}

static int
gw_receive(struct lws *wsi, struct gw_conn *c, const void *in, size_t len)
{
	char *p;

	c->last_rx = clock_ms();
	if (c->state == GW_CLOSING)
		return 0;
	if (c->rxlen + len > GW_MAX_MSG) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		    (unsigned char *)"message too large", 17);
		return -1;
	}
	if (c->rxlen == 0 && lws_is_final_fragment(wsi) &&
	    lws_remaining_packet_payload(wsi) == 0) {
		gw_message(c, in, len);	/* whole in one piece: no copy */
		return 0;
	}
	if ((p = realloc(c->rx, c->rxlen + len + 1)) == NULL)
		return -1;
	c->rx = p;
	memcpy(c->rx + c->rxlen, in, len);
	c->rxlen += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
		return 0;
	gw_message(c, c->rx, c->rxlen);
	free(c->rx);
	c->rx = NULL;
	c->rxlen = 0;
	return 0;
}

/*
 * One send per call, as lws wants: the head message framed by lws, or, when
 * more are queued, as many as fit in GW_WRITE_BATCH framed by gw_queue_pack
 * and written raw. A send that the socket takes only in part is kept by lws
 * and finished before this is called again, so frames never interleave.
 */
static int
gw_writeable(struct lws *wsi, struct gw_conn *c)
{
	static unsigned char batch[LWS_PRE + GW_WRITE_BATCH];	/* lws thread only */

	if (c->ping_due) {
		/* This call's one send. Not empty: lws 4.1.6 does not report an
		 * empty pong (LWS_CALLBACK_RECEIVE_PONG), so it would not count. */
		c->ping_due = 0;
		memcpy(batch + LWS_PRE, "pm", 2);
		if (lws_write(wsi, batch + LWS_PRE, 2, LWS_WRITE_PING) < 2)
			return -1;
		if (c->q.len || c->state == GW_CLOSING)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->q.len) {
		int stalled = c->stall_since != 0, w;
		uint32_t n = 0, events = 0;
		size_t len = 0;

		if (c->q.len > 1)
			len = gw_queue_pack(&c->q, batch + LWS_PRE, GW_WRITE_BATCH, &n);
		if (n > 1) {
			w = lws_write(wsi, batch + LWS_PRE, len, LWS_WRITE_RAW);
		} else {
			struct gw_msg *m = gw_queue_peek(&c->q, 0);

			n = 1;
			len = m->len;
			w = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
		}
		for (uint32_t i = 0; i < n; i++) {
			struct gw_msg *m = gw_queue_pop(&c->q);

			events += m->is_event != 0;
			gw_msg_unref(m);
		}
		atomic_fetch_sub(&gw_nqueued, (long)n);
		atomic_fetch_add(&gw_delivered, (unsigned long)events);
		if (w < (int)len)
			return -1;
		c->stall_since = 0;
		/* Only a client the pump waits for can let it go on. */
		if (gw_pend_head && stalled)
			gw_pump();
	}
	if (c->q.len) {
		lws_callback_on_writable(wsi);
	} else if (c->state == GW_CLOSING) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
		    (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	} else if (c->state == GW_REPLAYING && c->replay_wait) {
		gw_replay_next(c);
	}
	return 0;
}

static int
gw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct gw_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		gw_drain();
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return gw_filter(wsi, c);
	case LWS_CALLBACK_ESTABLISHED:
		gw_established(wsi, c);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return gw_receive(wsi, c, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		c->last_rx = clock_ms();
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return gw_writeable(wsi, c);
	case LWS_CALLBACK_CLOSED:
		gw_closed(c);
		return 0;
	case LWS_CALLBACK_TIMER:
		gw_release(c);
		return 0;
	case LWS_CALLBACK_HTTP:
		/* GET /ws without an upgrade. */
		lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
		    "websocket upgrade required");
		return -1;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols gw_protocols[] = {
	{ "printmaster", gw_callback, sizeof(struct gw_conn), GW_RX_BUFFER, 0, NULL,
	  GW_TX_PACKET },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/*
 * No keepalive from lws: gw_sweep does it. lws 4.1.6 keeps a validity timer
 * per connection in one sorted list and re-inserts it, walking the list from
 * its head, on every ping and pong: with 10,000 idle clients that cost a
 * third of a core (19 s of CPU a minute), and made connecting quadratic.
 */
static const lws_retry_bo_t gw_retry = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

/*
 * Every GW_SWEEP_MS, one walk of the connections: a session that has ended
 * is closed with 4401; a client silent (no data frame, no pong) for
 * GW_PING_MS is pinged, once per GW_PING_MS; one silent for GW_HANGUP_MS is
 * dropped.
 */
static void
gw_sweep(lws_sorted_usec_list_t *sul)
{
	long long now = clock_ms(), wall = (long long)time(NULL);

	for (struct gw_conn *c = gw_conns; c; c = c->next) {
		if (c->auth.expires && wall >= c->auth.expires && c->state != GW_PENDING &&
		    c->state != GW_CLOSING) {
			gw_revoke(c, "session expired");
		} else if (now - c->last_rx >= GW_HANGUP_MS) {
			log_debug("[GATEWAY] client %llu silent for %lld s: dropped",
			    (unsigned long long)c->serial, (now - c->last_rx) / 1000);
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		} else if (now - c->last_rx >= GW_PING_MS && now - c->ping_at >= GW_PING_MS &&
		    !c->ping_due) {
			c->ping_at = now;
			c->ping_due = 1;
			lws_callback_on_writable(c->wsi);
		}
	}
	lws_sul_schedule(gw_ctx, 0, sul, gw_sweep, (lws_usec_t)GW_SWEEP_MS * 1000);
}

static void
gw_lws_log(int level, const char *line)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", line);
	msg[strcspn(msg, "\n")] = '\0';
	if (level & LLL_ERR)
		log_warnx("[GATEWAY] libwebsockets: %s", msg);
	else
		log_debug("[GATEWAY] libwebsockets: %s", msg);
}

static void *
gw_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&gw_stopping))
		if (lws_service(gw_ctx, 0) < 0)
			break;
	return NULL;
}

int
gateway_start(const struct server_config *cfg)
{
	struct lws_context_creation_info info;

	gw_cfg = cfg;
	if ((gw_heads = json_object()) == NULL)
		return -1;
	if (!gw_auth)
		log_warnx("[GATEWAY] no authenticator installed: every /ws client is refused");
	presence_init();
	lws_set_log_level(LLL_ERR | LLL_WARN, gw_lws_log);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = gw_protocols;
	info.max_http_header_data = 8192;
	info.retry_and_idle_policy = &gw_retry;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.vhost_name = "printmaster";
	if ((gw_ctx = lws_create_context(&info)) == NULL ||
	    (gw_vhost = lws_create_vhost(gw_ctx, &info)) == NULL) {
		log_error("[GATEWAY] could not create the libwebsockets context");
		goto err;
	}
	/* Before the service thread starts: nothing else touches lws yet. */
	lws_sul_schedule(gw_ctx, 0, &gw_sweep_sul, gw_sweep, (lws_usec_t)GW_SWEEP_MS * 1000);
	if (gw_worker_start(gw_auth) < 0)
		goto err;
	pthread_mutex_lock(&gw_lock);
	gw_accepting = 1;
	gw_events_closed = 0;
	pthread_mutex_unlock(&gw_lock);
	atomic_store(&gw_stopping, 0);
	if (pthread_create(&gw_thread, NULL, gw_main, NULL) != 0) {
		log_error("[GATEWAY] could not start the service thread");
		goto err;
	}
	gw_thread_running = 1;
	acceptor_set_ws(gw_handoff, NULL);
	return 0;
err:
	gateway_stop();
	return -1;
}

void
gateway_stop(void)
{
	struct gw_item *it, *next;

	acceptor_set_ws(NULL, NULL);
	pthread_mutex_lock(&gw_lock);
	gw_events_closed = 1;
	pthread_cond_broadcast(&gw_cond);
	pthread_mutex_unlock(&gw_lock);
	if (gw_thread_running) {
		atomic_store(&gw_stopping, 1);
		lws_cancel_service(gw_ctx);
		pthread_join(gw_thread, NULL);
		gw_thread_running = 0;
	}
	pthread_mutex_lock(&gw_lock);
	gw_accepting = 0;
	it = gw_in_head;
	gw_in_head = gw_in_tail = NULL;
	gw_backlog = 0;
	pthread_cond_broadcast(&gw_cond);
	pthread_mutex_unlock(&gw_lock);
	while (gw_pend_head) {
		next = gw_pend_head->next;
		gw_item_free(gw_pend_head);
		gw_pend_head = next;
	}
	gw_pend_tail = NULL;
	gw_pend_pos = 0;
	if (gw_ctx) {
		lws_sul_cancel(&gw_pump_sul);
		lws_sul_cancel(&gw_sweep_sul);
	}
	for (; it; it = next) {
		next = it->next;
		if (it->kind == GW_ITEM_ADOPT)
			close(it->fd);
		if (it->kind == GW_ITEM_AUTH && it->ok && it->auth.kind == AUTH_AGENT) {
			struct gw_job *j = gw_job_new(GW_JOB_OFFLINE, 0);

			if (j) {
				j->auth = it->auth;
				gw_worker_post(j);
			}
		}
		gw_item_free(it);
	}
	/* Closes every connection: agents' OFFLINE jobs reach the worker. */
	if (gw_ctx)
		lws_context_destroy(gw_ctx);
	gw_ctx = NULL;
	gw_vhost = NULL;
	free(gw_htab);
	gw_htab = NULL;
	gw_hsize = gw_hcount = 0;
	gw_worker_stop();
	json_decref(gw_heads);
	gw_heads = NULL;
}

void
gateway_metrics(struct metrics_buf *m)
{
	metrics_printf(m, "# HELP printmaster_ws_clients Websocket clients connected.\n"
	    "# TYPE printmaster_ws_clients gauge\n"
	    "printmaster_ws_clients %ld\n"
	    "# HELP printmaster_ws_agents Agents holding a websocket on this instance.\n"
	    "# TYPE printmaster_ws_agents gauge\n"
	    "printmaster_ws_agents %zu\n"
	    "# HELP printmaster_ws_queued_messages Messages waiting in client queues.\n"
	    "# TYPE printmaster_ws_queued_messages gauge\n"
	    "printmaster_ws_queued_messages %ld\n"
	    "# HELP printmaster_ws_overflows_total Clients closed for not reading.\n"
	    "# TYPE printmaster_ws_overflows_total counter\n"
	    "printmaster_ws_overflows_total %lu\n"
	    "# HELP printmaster_ws_events_delivered_total Event frames written to clients.\n"
	    "# TYPE printmaster_ws_events_delivered_total counter\n"
	    "printmaster_ws_events_delivered_total %lu\n"
	    "# HELP printmaster_ws_refused_total Websocket connections refused.\n"
	    "# TYPE printmaster_ws_refused_total counter\n"
	    "printmaster_ws_refused_total %lu\n",
	    atomic_load(&gw_nclients), presence_count(), atomic_load(&gw_nqueued),
	    atomic_load(&gw_overflows), atomic_load(&gw_delivered),
	    atomic_load(&gw_refused));
}
