/*
 * gateway.c: the libwebsockets glue of /ws: the context and its service
 * thread, the inbox other threads post to (drained in one place), the
 * handshake (path, Origin, a credential present), receiving and writing
 * frames, pings and session ends. Only the lws service thread runs this
 * file's callback and touches connections. Not here: what a connection may
 * do next (gateway_state.c), its queue and the actions (gateway_conn.c), live
 * fan-out (gateway_fanout.c), agent messages (gateway_agent.c), database work
 * (gateway_worker.c).
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
#include "server/acceptor.h"
#include "server/gateway.h"
#include "server/gateway_conn.h"
#include "server/gateway_fanout.h"
#include "server/gateway_worker.h"
#include "server/presence.h"

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
#define GW_BACKLOG_MAX 1000		/* events not yet queued; the listener waits beyond */
#define GW_AUTH_TIMEOUT_S 10
#define GW_PING_MS 30000		/* ping a client silent this long */
#define GW_HANGUP_MS 70000		/* drop a client silent this long */
#define GW_SWEEP_MS 1000		/* how often gw_sweep looks (session ends too) */

const struct server_config *gw_cfg;

static struct lws_context *gw_ctx;
static struct lws_vhost *gw_vhost;
static pthread_t gw_thread;
static int gw_thread_running;
static atomic_int gw_stopping;
/* The inbox: items from other threads, drained on the lws thread. */
static pthread_mutex_t gw_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gw_cond = PTHREAD_COND_INITIALIZER;
static struct gw_item *gw_in_head, *gw_in_tail;
static size_t gw_backlog;	/* events posted and not yet queued to clients */
static int gw_accepting;
static int gw_events_closed;	/* shutting down: the listener must not wait */
static lws_sorted_usec_list_t gw_sweep_sul;
static gateway_authenticator gw_auth;
static gateway_sync_fn gw_sync;

void
gateway_set_authenticator(gateway_authenticator fn)
{
	gw_auth = fn;
}

void
gateway_set_sync(gateway_sync_fn fn)
{
	gw_sync = fn;
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

void
gw_inbox_release(size_t n)
{
	pthread_mutex_lock(&gw_lock);
	gw_backlog -= n;
	pthread_cond_broadcast(&gw_cond);
	pthread_mutex_unlock(&gw_lock);
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

/* Every item other threads posted, in order (lws thread). */
static void
gw_drain(void)
{
	struct gw_item *it, *next;
	struct gw_actions acts = { 0 };
	struct gw_env env;

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
			gw_fanout_add(it);	/* queued by the pump, which frees it */
			continue;
		case GW_ITEM_AUTH:
			if ((c = gw_conn_find(it->serial)) != NULL && c->st.phase == GW_PENDING)
				gw_conn_on_auth(c, it);
			else
				gw_conn_agent_gone(it);	/* gone before the answer */
			break;
		case GW_ITEM_SUBSCRIBED:
			if ((c = gw_conn_find(it->serial)) != NULL) {
				gw_conn_env(c, &env);
				gw_state_subscribed(&c->st, it->ok, &env, &acts);
				gw_conn_run(c, &acts);
			}
			break;
		case GW_ITEM_REPLAY:
			if ((c = gw_conn_find(it->serial)) != NULL)
				gw_conn_on_replay(c, it);
			break;
		case GW_ITEM_REVOKE:
			for (c = gw_conn_first(); c; c = c->next)
				if (c->st.phase != GW_PENDING && c->st.phase != GW_CLOSING &&
				    gw_conn_covered(c, it->what))
					gw_conn_revoke(c, "credential revoked");
			break;
		case GW_ITEM_REPLY:
			if ((c = gw_conn_find(it->serial)) != NULL &&
			    (c->st.phase == GW_READY || c->st.phase == GW_REPLAYING))
				gw_conn_enqueue(c, it->msg);
			break;
		case GW_ITEM_COMMAND:
			for (c = gw_conn_first(); c; c = c->next)
				if ((c->st.phase == GW_READY || c->st.phase == GW_REPLAYING) &&
				    c->st.auth.kind == AUTH_AGENT &&
				    strcmp(c->st.auth.principal_id, it->agent_id) == 0)
					gw_conn_enqueue(c, it->msg);
			break;
		}
		gw_item_free(it);
	}
	gw_fanout_pump();
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
			atomic_fetch_add(&gw_counters.refused, 1);
			log_warnx("[GATEWAY] refused a websocket from origin '%.100s'", origin);
			return -1;
		}
	}
	rc = gw_credential(wsi, tok);
	sodium_memzero(tok, sizeof(tok));
	if (rc < 0) {
		atomic_fetch_add(&gw_counters.refused, 1);
		log_info("[GATEWAY] refused a websocket without a credential");
		return -1;
	}
	return 0;
}

static void
gw_established(struct lws *wsi, struct gw_conn *c)
{
	char tok[GW_TOKEN_MAX + 1];
	struct gw_actions acts = { 0 };
	struct gw_job *j = NULL;
	int rc;

	c->wsi = wsi;
	c->last_rx = clock_ms();
	gw_conn_add(c);
	rc = gw_credential(wsi, tok);
	if (rc == 0 && (j = gw_job_new(GW_JOB_AUTH, c->serial)) != NULL)
		memcpy(j->token, tok, sizeof(j->token));
	sodium_memzero(tok, sizeof(tok));
	if (rc < 0)	/* the filter saw one: only a library change could get here */
		gw_state_close(&c->st, GW_CLOSE_UNAUTHORIZED, "unauthorized", &acts);
	else if (!j || gw_worker_post(j) < 0)
		gw_state_close(&c->st, GW_CLOSE_TRY_LATER, "server busy", &acts);
	else
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, GW_AUTH_TIMEOUT_S);
	gw_conn_run(c, &acts);
}

static void
gw_closed(struct gw_conn *c)
{
	struct gw_job *j;

	if (!c->serial)
		return;		/* refused before it was established */
	gw_conn_remove(c);
	gw_conn_drop_queue(c);
	gw_queue_free(&c->q);
	free(c->rx);
	c->rx = NULL;
	if (c->st.auth.kind == AUTH_AGENT && (j = gw_job_new(GW_JOB_OFFLINE, c->serial))) {
		gw_conn_auth(c, &j->auth);
		gw_worker_post(j);
	}
	gw_state_free(&c->st);
	log_debug("[GATEWAY] client %llu closed", (unsigned long long)c->serial);
	c->serial = 0;
}

/* One whole client message. */
static void
gw_message(struct gw_conn *c, const char *buf, size_t len)
{
	struct gw_actions acts = { 0 };
	struct gw_env env;

	gw_conn_env(c, &env);
	gw_state_message(&c->st, buf, len, &env, &acts);
	gw_conn_run(c, &acts);
}

static int
gw_receive(struct lws *wsi, struct gw_conn *c, const void *in, size_t len)
{
	char *p;

	c->last_rx = clock_ms();
	if (c->st.phase == GW_CLOSING)
		return 0;
	/* An agent may send a batch ("sync") as large as a bulk request. */
	if (c->rxlen + len > (c->st.auth.kind == AUTH_AGENT &&
	    (size_t)gw_cfg->max_body_bytes > GW_MAX_MSG ? (size_t)gw_cfg->max_body_bytes :
	    GW_MAX_MSG)) {
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
		if (c->q.len || c->st.phase == GW_CLOSING)
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
		atomic_fetch_sub(&gw_counters.queued, (long)n);
		atomic_fetch_add(&gw_counters.delivered, (unsigned long)events);
		if (w < (int)len)
			return -1;
		c->stall_since = 0;
		/* Only a client the pump waits for can let it go on. */
		if (stalled && gw_fanout_pending())
			gw_fanout_pump();
	}
	if (c->q.len) {
		lws_callback_on_writable(wsi);
	} else if (c->st.phase == GW_CLOSING) {
		lws_close_reason(wsi, (enum lws_close_status)c->st.close_code,
		    (unsigned char *)c->st.close_reason, strlen(c->st.close_reason));
		return -1;
	} else {
		struct gw_actions acts = { 0 };
		struct gw_env env;

		gw_conn_env(c, &env);
		gw_state_drained(&c->st, &env, &acts);
		gw_conn_run(c, &acts);
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
	case LWS_CALLBACK_TIMER: {
		struct gw_actions acts = { 0 };
		struct gw_env env;

		gw_conn_env(c, &env);
		gw_state_release(&c->st, &env, &acts);	/* the hold ended */
		gw_conn_run(c, &acts);
		return 0;
	}
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

	for (struct gw_conn *c = gw_conn_first(); c; c = c->next) {
		if (c->st.auth.expires && wall >= c->st.auth.expires &&
		    c->st.phase != GW_PENDING && c->st.phase != GW_CLOSING) {
			gw_conn_revoke(c, "session expired");
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
	if (gw_fanout_start(gw_ctx) < 0)
		goto err;
	/* Before the service thread starts: nothing else touches lws yet. */
	lws_sul_schedule(gw_ctx, 0, &gw_sweep_sul, gw_sweep, (lws_usec_t)GW_SWEEP_MS * 1000);
	if (gw_worker_start(gw_auth, gw_sync) < 0)
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
	gw_fanout_stop();
	if (gw_ctx)
		lws_sul_cancel(&gw_sweep_sul);
	for (; it; it = next) {
		next = it->next;
		if (it->kind == GW_ITEM_ADOPT)
			close(it->fd);
		if (it->kind == GW_ITEM_AUTH)
			gw_conn_agent_gone(it);
		gw_item_free(it);
	}
	/* Closes every connection: agents' OFFLINE jobs reach the worker. */
	if (gw_ctx)
		lws_context_destroy(gw_ctx);
	gw_ctx = NULL;
	gw_vhost = NULL;
	gw_conns_reset();
	gw_worker_stop();
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
	    atomic_load(&gw_counters.clients), presence_count(),
	    atomic_load(&gw_counters.queued), atomic_load(&gw_counters.overflows),
	    atomic_load(&gw_counters.delivered), atomic_load(&gw_counters.refused));
}
