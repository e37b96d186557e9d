/*
 * ws_client.c: libwebsockets client for the gateway (see ws_client.h). The
 * service thread owns the context and the one connection; it drains the
 * outgoing queue in WRITEABLE, parses whole messages in RECEIVE, and
 * reschedules connects with a sorted-usec-list timer after every close. Not
 * here: what a command does (discover.c, testprint.c) or the REST sync
 * (sync.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <sodium.h>

#include "common/clock.h"
#include "log.h"
#include "agent/backoff.h"
#include "agent/ws_client.h"

struct ws_client {
	struct lws_context *ctx;
	struct lws *wsi;		/* service thread only */
	lws_sorted_usec_list_t sul;	/* reconnect timer */
	pthread_t thread;
	int thread_started;
	atomic_int stop;
	atomic_int connected;
	pthread_mutex_t mu;
	pthread_cond_t res_cv;		/* a sync-result came or the connection went down */
	json_t *outq;			/* array of strings to send; under mu */
	json_t *cmdq;			/* array of commands received; under mu */
	json_t *resq;			/* sync-results received, oldest first; under mu */
	char host[256], hosthdr[300], path[512];
	int port, tls;
	char *auth;			/* "Bearer pmk_..."; wiped on free */
	struct backoff bo;
	int attempt;
	int wake_fd;
	struct stats *st;
	char *rx;			/* message being reassembled */
	size_t rxlen, rxcap;
	int rx_overflow;
	char hostname[256];
	int logged_down;
	ws_client_sink sink;		/* under mu */
	void *sink_arg;
};

int
ws_client_parse_url(const char *server_url, char *host, size_t hostlen, int *port,
    char *path, size_t pathlen, int *tls)
{
	char buf[1024];
	const char *prot, *ads, *p;
	size_t n;

	if (strlen(server_url) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", server_url);
	if (lws_parse_uri(buf, &prot, &ads, port, &p))
		return -1;
	if (strcmp(prot, "http") == 0 || strcmp(prot, "ws") == 0)
		*tls = 0;
	else if (strcmp(prot, "https") == 0 || strcmp(prot, "wss") == 0)
		*tls = 1;
	else
		return -1;
	if (*ads == '\0' || strlen(ads) >= hostlen)
		return -1;
	snprintf(host, hostlen, "%s", ads);
	if (strstr(server_url, "://") && !strchr(strstr(server_url, "://") + 3, ':'))
		*port = *tls ? 443 : 80;
	/* lws_parse_uri leaves the path without its leading slash. */
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if ((size_t)snprintf(path, pathlen, "/%.*s%sws", (int)n, p, n ? "/" : "") >= pathlen)
		return -1;
	return 0;
}

static void
ws_wake(struct ws_client *w)
{
	char c = 1;

	if (w->wake_fd >= 0 && write(w->wake_fd, &c, 1) < 0 && errno != EAGAIN)
		log_warn("[AUTO-SYNC] wake pipe");
}

static void ws_connect_cb(lws_sorted_usec_list_t *sul);

static void
ws_schedule_reconnect(struct ws_client *w)
{
	long ms = backoff_delay_ms(&w->bo, w->attempt);

	if (ms < 200)
		ms = 200;	/* never a tight loop against a refusing server */
	if (w->attempt < 30)
		w->attempt++;
	lws_sul_schedule(w->ctx, 0, &w->sul, ws_connect_cb, (lws_usec_t)ms * LWS_US_PER_MS);
}

static void
ws_connect_cb(lws_sorted_usec_list_t *sul)
{
	struct ws_client *w = lws_container_of(sul, struct ws_client, sul);
	struct lws_client_connect_info ci;

	if (atomic_load(&w->stop))
		return;
	memset(&ci, 0, sizeof(ci));
	ci.context = w->ctx;
	ci.address = w->host;
	ci.port = w->port;
	ci.path = w->path;
	ci.host = w->hosthdr;
	ci.ssl_connection = w->tls ? LCCSCF_USE_SSL : 0;
	ci.local_protocol_name = "pm-agent";
	ci.pwsi = &w->wsi;
	if (lws_client_connect_via_info(&ci) == NULL) {
		w->wsi = NULL;
		ws_schedule_reconnect(w);
	}
}

static void
ws_set_down(struct ws_client *w, const char *why)
{
	int was = atomic_exchange(&w->connected, 0);

	w->wsi = NULL;
	w->rxlen = 0;
	w->rx_overflow = 0;
	pthread_mutex_lock(&w->mu);
	json_array_clear(w->outq);
	pthread_cond_broadcast(&w->res_cv);
	pthread_mutex_unlock(&w->mu);
	stats_set_ws(w->st, 0);
	if (!atomic_load(&w->stop) && (was || !w->logged_down)) {
		log_warnx("[AUTO-SYNC] websocket to %s:%d%s down (%s); reconnecting with backoff",
		    w->host, w->port, w->path, why);
		w->logged_down = 1;
	}
	if (was)
		ws_wake(w);
	if (!atomic_load(&w->stop))
		ws_schedule_reconnect(w);
}

/* The welcome came: say hello first, then let the sync loop send. */
static void
ws_set_up(struct ws_client *w)
{
	json_t *hello;
	char *text;

	w->logged_down = 0;
	hello = json_pack("{s:s, s:s, s:s}", "type", "hello", "hostname", w->hostname,
	    "version", PM_VERSION);
	text = hello ? json_dumps(hello, JSON_COMPACT) : NULL;
	json_decref(hello);
	pthread_mutex_lock(&w->mu);
	if (text)
		json_array_insert_new(w->outq, 0, json_string(text));
	pthread_mutex_unlock(&w->mu);
	free(text);
	atomic_store(&w->connected, 1);
	stats_set_ws(w->st, 1);
	if (w->wsi)
		lws_callback_on_writable(w->wsi);
	ws_wake(w);
}

/* Checked here, so the sync loop takes only well-formed results: a string
 * idempotencyKey and an integer status in 100..599. */
static void
ws_queue_sync_result(struct ws_client *w, json_t *msg)
{
	json_int_t status = json_integer_value(json_object_get(msg, "status"));

	if (!json_is_string(json_object_get(msg, "idempotencyKey")) ||
	    !json_is_integer(json_object_get(msg, "status")) || status < 100 || status > 599) {
		log_warnx("[FALLBACK] websocket: sync-result without idempotencyKey or a valid "
		    "status; ignored");
		return;
	}
	pthread_mutex_lock(&w->mu);
	/* At most sync_concurrency batches wait; the bound is against results
	 * nobody waits for any more (attempts given up on). */
	if (json_array_size(w->resq) >= WS_CLIENT_RESULTS_MAX)
		json_array_remove(w->resq, 0);
	json_array_append(w->resq, msg);
	pthread_cond_broadcast(&w->res_cv);
	pthread_mutex_unlock(&w->mu);
}

static void
ws_handle_message(struct ws_client *w, const char *text, size_t len)
{
	json_t *msg = json_loadb(text, len, 0, NULL);
	const char *type = json_string_value(json_object_get(msg, "type"));

	if (type == NULL) {
		log_warnx("[AUTO-SYNC] websocket: ignoring a message that is not a JSON object "
		    "with a type");
	} else if (strcmp(type, "command") == 0) {
		if (!json_is_string(json_object_get(msg, "command")) ||
		    !json_is_string(json_object_get(msg, "requestId"))) {
			log_warnx("[AUTO-SYNC] websocket: command without command or requestId");
		} else {
			pthread_mutex_lock(&w->mu);
			if (json_array_size(w->cmdq) < WS_CLIENT_QUEUE_MAX)
				json_array_append(w->cmdq, msg);
			else
				log_warnx("[AUTO-SYNC] websocket: too many commands waiting; "
				    "dropping one");
			pthread_mutex_unlock(&w->mu);
			ws_wake(w);
		}
	} else if (strcmp(type, "job") == 0 || strcmp(type, "job-ack") == 0) {
		ws_client_sink fn;
		void *arg;

		pthread_mutex_lock(&w->mu);
		fn = w->sink;
		arg = w->sink_arg;
		pthread_mutex_unlock(&w->mu);
		if (fn)
			fn(msg, arg);
	} else if (strcmp(type, "sync-result") == 0) {
		ws_queue_sync_result(w, msg);
	} else if (strcmp(type, "welcome") == 0) {
		log_info("[AUTO-SYNC] websocket connected to %s:%d%s (role %s)", w->host, w->port,
		    w->path, json_string_value(json_object_get(msg, "role")) ?
		    json_string_value(json_object_get(msg, "role")) : "?");
		ws_set_up(w);
	} else if (strcmp(type, "error") == 0) {
		log_warnx("[AUTO-SYNC] websocket: server error %s: %s",
		    json_string_value(json_object_get(msg, "code")) ?
		    json_string_value(json_object_get(msg, "code")) : "?",
		    json_string_value(json_object_get(msg, "message")) ?
		    json_string_value(json_object_get(msg, "message")) : "");
	}
	json_decref(msg);
}

static int
ws_receive(struct ws_client *w, struct lws *wsi, const void *in, size_t len)
{
	char *nb;
	size_t nc;

	if (!w->rx_overflow && w->rxlen + len > WS_CLIENT_MSG_MAX) {
		log_warnx("[AUTO-SYNC] websocket: message over %u bytes ignored",
		    WS_CLIENT_MSG_MAX);
		w->rx_overflow = 1;
	}
	if (!w->rx_overflow) {
		if (w->rxlen + len > w->rxcap) {
			nc = w->rxcap ? w->rxcap : 4096;
			while (nc < w->rxlen + len)
				nc *= 2;
			if ((nb = realloc(w->rx, nc)) == NULL)
				return -1;
			w->rx = nb;
			w->rxcap = nc;
		}
		memcpy(w->rx + w->rxlen, in, len);
		w->rxlen += len;
	}
	if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
		if (!w->rx_overflow)
			ws_handle_message(w, w->rx, w->rxlen);
		w->rxlen = 0;
		w->rx_overflow = 0;
	}
	return 0;
}

static int
ws_write_one(struct ws_client *w, struct lws *wsi)
{
	const char *s;
	unsigned char *buf;
	size_t len;
	int more, rc = 0;

	pthread_mutex_lock(&w->mu);
	s = json_string_value(json_array_get(w->outq, 0));
	if (s == NULL) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	len = strlen(s);
	buf = malloc(LWS_PRE + len);
	if (buf)
		memcpy(buf + LWS_PRE, s, len);
	json_array_remove(w->outq, 0);
	more = json_array_size(w->outq) > 0;
	pthread_mutex_unlock(&w->mu);
	if (buf == NULL)
		return -1;
	if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len)
		rc = -1;
	free(buf);
	if (rc == 0 && more)
		lws_callback_on_writable(wsi);
	return rc;
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct ws_client *w = lws_context_user(lws_get_context(wsi));
	unsigned char **p, *end;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (w->auth == NULL)
			break;
		p = (unsigned char **)in;
		end = *p + len;
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
		    (const unsigned char *)w->auth, (int)strlen(w->auth), p, end))
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		/* The gateway takes nothing before its welcome: wait for it. */
		w->attempt = 0;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (ws_receive(w, wsi, in, len) < 0)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (atomic_load(&w->stop))
			return -1;
		if (ws_write_one(w, wsi) < 0)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (wsi == w->wsi || w->wsi == NULL)
			ws_set_down(w, in && len ? (const char *)in : "connection error");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (wsi == w->wsi)
			ws_set_down(w, "closed");
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Runs once per protocol per wake: only look at the queue here. */
		if (w->wsi && atomic_load(&w->connected)) {
			pthread_mutex_lock(&w->mu);
			if (json_array_size(w->outq) > 0)
				lws_callback_on_writable(w->wsi);
			pthread_mutex_unlock(&w->mu);
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols ws_protocols[] = {
	{ "pm-agent", ws_callback, 0, WS_CLIENT_RX_BUF, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *
ws_thread(void *arg)
{
	struct ws_client *w = arg;

	while (!atomic_load(&w->stop))
		lws_service(w->ctx, 0);
	return NULL;
}

static void
ws_free(struct ws_client *w)
{
	if (w->auth) {
		sodium_memzero(w->auth, strlen(w->auth));
		free(w->auth);
	}
	json_decref(w->outq);
	json_decref(w->cmdq);
	json_decref(w->resq);
	free(w->rx);
	pthread_cond_destroy(&w->res_cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

struct ws_client *
ws_client_start(const struct agent_config *cfg, struct stats *st, int wake_fd)
{
	struct lws_context_creation_info info;
	struct ws_client *w;
	sigset_t block, old;
	size_t n;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->res_cv, NULL);
	w->wake_fd = wake_fd;
	w->st = st;
	w->bo.base_ms = cfg->retry_delay_ms;
	w->bo.multiplier = cfg->backoff_multiplier;
	w->bo.max_ms = cfg->max_retry_delay_ms;
	if (gethostname(w->hostname, sizeof(w->hostname) - 1) < 0)
		snprintf(w->hostname, sizeof(w->hostname), "unknown");
	if ((w->outq = json_array()) == NULL || (w->cmdq = json_array()) == NULL ||
	    (w->resq = json_array()) == NULL)
		goto err;
	if (ws_client_parse_url(cfg->server_url, w->host, sizeof(w->host), &w->port, w->path,
	    sizeof(w->path), &w->tls) < 0) {
		log_warnx("[AUTO-SYNC] websocket: cannot use server_url %s", cfg->server_url);
		goto err;
	}
	snprintf(w->hosthdr, sizeof(w->hosthdr), "%s:%d", w->host, w->port);
	if (cfg->agent_key && *cfg->agent_key) {
		n = strlen(cfg->agent_key) + 8;
		if ((w->auth = malloc(n)) == NULL)
			goto err;
		snprintf(w->auth, n, "Bearer %s", cfg->agent_key);
	}
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = ws_protocols;
	info.user = w;
	info.gid = -1;
	info.uid = -1;
	if (w->tls)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if ((w->ctx = lws_create_context(&info)) == NULL) {
		log_warnx("[AUTO-SYNC] websocket: lws_create_context failed");
		goto err;
	}
	/* Before the thread exists, the timer may be set from here. */
	lws_sul_schedule(w->ctx, 0, &w->sul, ws_connect_cb, 1);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (pthread_create(&w->thread, NULL, ws_thread, w) == 0)
		w->thread_started = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!w->thread_started) {
		lws_context_destroy(w->ctx);
		goto err;
	}
	return w;
err:
	ws_free(w);
	return NULL;
}

void
ws_client_stop(struct ws_client *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, 1);
	lws_cancel_service(w->ctx);
	pthread_join(w->thread, NULL);
	lws_context_destroy(w->ctx);
	ws_free(w);
}

void
ws_client_set_sink(struct ws_client *w, ws_client_sink fn, void *arg)
{
	pthread_mutex_lock(&w->mu);
	w->sink = fn;
	w->sink_arg = arg;
	pthread_mutex_unlock(&w->mu);
}

int
ws_client_connected(struct ws_client *w)
{
	return w && atomic_load(&w->connected);
}

int
ws_client_send(struct ws_client *w, json_t *msg)
{
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	int rc = -1;

	json_decref(msg);
	if (text == NULL || !ws_client_connected(w)) {
		free(text);
		return -1;
	}
	pthread_mutex_lock(&w->mu);
	if (json_array_size(w->outq) < WS_CLIENT_QUEUE_MAX)
		rc = json_array_append_new(w->outq, json_string(text));
	pthread_mutex_unlock(&w->mu);
	free(text);
	if (rc == 0)
		lws_cancel_service(w->ctx);
	return rc;
}

json_t *
ws_client_next_command(struct ws_client *w)
{
	json_t *c = NULL;

	if (w == NULL)
		return NULL;
	pthread_mutex_lock(&w->mu);
	if (json_array_size(w->cmdq) > 0) {
		c = json_incref(json_array_get(w->cmdq, 0));
		json_array_remove(w->cmdq, 0);
	}
	pthread_mutex_unlock(&w->mu);
	return c;
}

/* Under mu: remove and return the first result for `key`, or NULL. */
static json_t *
ws_take_result_locked(struct ws_client *w, const char *key)
{
	json_t *m;
	size_t i;

	json_array_foreach(w->resq, i, m)
		if (strcmp(json_string_value(json_object_get(m, "idempotencyKey")), key) == 0) {
			json_incref(m);
			json_array_remove(w->resq, i);
			return m;
		}
	return NULL;
}

json_t *
ws_client_wait_sync_result(struct ws_client *w, const char *idem_key, long timeout_ms,
    volatile sig_atomic_t *stop, int *why)
{
	struct timespec ts;
	long long now, end;
	json_t *r = NULL;

	*why = WS_CLIENT_WAIT_DOWN;
	if (w == NULL)
		return NULL;
	end = clock_ms() + timeout_ms;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if ((r = ws_take_result_locked(w, idem_key)) != NULL)
			break;
		if (!atomic_load(&w->connected)) {
			*why = WS_CLIENT_WAIT_DOWN;
			break;
		}
		if (stop && *stop) {
			*why = WS_CLIENT_WAIT_STOPPED;
			break;
		}
		if ((now = clock_ms()) >= end) {
			*why = WS_CLIENT_WAIT_TIMEOUT;
			break;
		}
		/* Slices of at most 100 ms: a stop flag set by a signal handler
		 * is seen promptly. The condition variable uses CLOCK_REALTIME. */
		clock_gettime(CLOCK_REALTIME, &ts);
		now = end - now < 100 ? end - now : 100;
		ts.tv_nsec += (long)(now * 1000000);
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&w->res_cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}
