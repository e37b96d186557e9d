/*
 * http.c: libmicrohttpd daemon (thread pool, no listen socket: the acceptor
 * hands connections over), request lifecycle, routing and replies. A request is
 * answered on its last access-handler call, never the first, so keep-alive works.
 * Owns every reply's shape, the database-error answers (503 or 500) included;
 * not credentials (auth.c) or tenants (scope.c).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>

#include "common/clock.h"
#include "log.h"
#include "jsonlimit.h"
#include "server/acceptor.h"
#include "server/db.h"
#include "server/http.h"
#include "server/metrics.h"

#define HTTP_MAX_ROUTES 64
#define HTTP_JSON_MAX_DEPTH 32
#define HTTP_NBUCKETS 10
#define HTTP_DISCARD_FACTOR 4	/* bytes dropped past the limit before closing */

static const double http_buckets[HTTP_NBUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5
};

/* Statuses we count per route; anything else lands in "other". */
static const unsigned http_codes[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409,
	413, 415, 422, 429, 500, 503 };
#define HTTP_NCODES (sizeof(http_codes) / sizeof(http_codes[0]))

struct http_route_stats {
	atomic_ulong by_code[HTTP_NCODES + 1];
	atomic_ulong bucket[HTTP_NBUCKETS];
	atomic_ulong count;
	_Atomic double sum;	/* only ever added to under relaxed order */
};

static struct http_route http_routes[HTTP_MAX_ROUTES];
static struct http_route_stats http_stats[HTTP_MAX_ROUTES + 1]; /* last: unmatched */
static int http_nroutes;
static http_authenticator http_auth_fn;
static struct MHD_Daemon *http_daemon;
static const struct server_config *http_cfg;

int
http_add_routes(const struct http_route *routes)
{
	for (; routes->method; routes++) {
		if (http_nroutes >= HTTP_MAX_ROUTES)
			return -1;
		http_routes[http_nroutes++] = *routes;
	}
	return 0;
}

void
http_set_authenticator(http_authenticator fn)
{
	http_auth_fn = fn;
}

/* Match path against a pattern, capturing {name} segments into r->params. */
static int
http_match(const char *pattern, const char *path, struct http_req *r)
{
	char *buf = r->param_buf, *end = r->param_buf + sizeof(r->param_buf);
	int np = 0;

	while (*pattern && *path) {
		if (*pattern != '/' || *path != '/')
			return 0;
		pattern++;
		path++;
		if (*pattern == '{') {
			size_t n = strcspn(path, "/");

			if (n == 0 || np >= HTTP_MAX_PARAMS || buf + n + 1 > end)
				return 0;
			memcpy(buf, path, n);
			buf[n] = '\0';
			r->params[np++] = buf;
			buf += n + 1;
			path += n;
			pattern = strchr(pattern, '}');
			if (!pattern)
				return 0;
			pattern++;
		} else {
			size_t pn = strcspn(pattern, "/"), n = strcspn(path, "/");

			if (pn != n || strncmp(pattern, path, n) != 0)
				return 0;
			pattern += n;
			path += n;
		}
	}
	return *pattern == '\0' && *path == '\0';
}

/* The body limit of the request's route: max_body_bytes, or for an
 * HTTP_LARGE_BODY route enough for max_job_bytes in base64 plus the JSON
 * around it, when that is more. */
static size_t
http_body_limit(struct http_req *r)
{
	size_t lim = (size_t)http_cfg->max_body_bytes;
	size_t job = ((size_t)http_cfg->max_job_bytes + 2) / 3 * 4 + 65536;

	for (int i = 0; i < http_nroutes; i++)
		if ((http_routes[i].flags & HTTP_LARGE_BODY) &&
		    strcmp(http_routes[i].method, r->method) == 0 &&
		    http_match(http_routes[i].pattern, r->path, r))
			return job > lim ? job : lim;
	return lim;
}

void
http_add_header(struct http_req *r, const char *name, const char *value)
{
	if (r->nhdr >= HTTP_MAX_HEADERS)
		return;
	r->hdr_name[r->nhdr] = strdup(name);
	r->hdr_value[r->nhdr] = strdup(value);
	r->nhdr++;
}

void
http_defer(struct http_req *r, void (*fn)(void *), void *arg)
{
	if (r->ndefer == HTTP_MAX_DEFER) {
		fn(arg);
		return;
	}
	r->defer[r->ndefer].fn = fn;
	r->defer[r->ndefer].arg = arg;
	r->ndefer++;
}

static void
http_run_deferred(struct http_req *r)
{
	for (int i = 0; i < r->ndefer; i++)
		r->defer[i].fn(r->defer[i].arg);
	r->ndefer = 0;
}

/* A captured request's reply (see http_run_captured): kept, not sent. */
static int
http_keep(struct http_req *r, unsigned status, const void *data, size_t len)
{
	struct http_capture *cap = r->cap;

	free(cap->body);
	if ((cap->body = malloc(len + 1)) == NULL) {
		cap->len = 0;
		return MHD_NO;
	}
	memcpy(cap->body, data, len);
	cap->body[len] = '\0';
	cap->len = len;
	cap->status = r->status = status;
	for (int i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hdr_name[i], "Idempotent-Replayed") == 0)
			cap->replayed = 1;
	return MHD_YES;
}

static int
http_queue(struct http_req *r, unsigned status, struct MHD_Response *resp,
    const char *ctype)
{
	enum MHD_Result rc;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (strncmp(r->path, "/api/", 5) == 0)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (int i = 0; i < r->nhdr; i++)
		if (r->hdr_name[i] && r->hdr_value[i])
			MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
	rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (rc == MHD_YES)	/* the log and metrics count what was sent */
		r->status = status;
	return rc;
}

int
http_reply_data(struct http_req *r, unsigned status, const char *ctype,
    const void *data, size_t len)
{
	if (r->cap)
		return http_keep(r, status, data, len);
	return http_queue(r, status, MHD_create_response_from_buffer(len, (void *)data,
	    MHD_RESPMEM_MUST_COPY), ctype);
}

int
http_reply_static(struct http_req *r, unsigned status, const char *ctype,
    const void *data, size_t len)
{
	if (r->cap)
		return http_keep(r, status, data, len);
	return http_queue(r, status, MHD_create_response_from_buffer(len, (void *)data,
	    MHD_RESPMEM_PERSISTENT), ctype);
}

int
http_reply_json(struct http_req *r, unsigned status, json_t *body)
{
	char *s;
	size_t len;

	if (!body)
		return http_error(r, 500, "internal", "out of memory", NULL);
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!s)
		return http_error(r, 500, "internal", "could not encode the response", NULL);
	len = strlen(s);
	if (r->cap) {
		int rc = http_keep(r, status, s, len);

		free(s);
		return rc;
	}
	return http_queue(r, status, MHD_create_response_from_buffer(len, s,
	    MHD_RESPMEM_MUST_FREE), "application/json");
}

int
http_error(struct http_req *r, unsigned status, const char *code,
    const char *message, json_t *details)
{
	json_t *err = json_pack("{s:s,s:s}", "code", code, "message", message), *body;
	char *s;

	if (err && details)
		json_object_set_new(err, "details", details);
	else
		json_decref(details);
	body = err ? json_pack("{s:o}", "error", err) : NULL;
	s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!s) {
		static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
		return http_reply_static(r, 500, "application/json", oom, sizeof(oom) - 1);
	}
	if (status >= 500)
		log_warnx("[API] %s %s %s -> %u %s", r->id, r->method, r->path, status, message);
	if (r->cap) {
		int rc = http_keep(r, status, s, strlen(s));

		free(s);
		return rc;
	}
	return http_queue(r, status, MHD_create_response_from_buffer(strlen(s), s,
	    MHD_RESPMEM_MUST_FREE), "application/json");
}

int
http_db_unavailable(struct http_req *r)
{
	http_add_header(r, "Retry-After", "1");
	return http_error(r, 503, "database_unavailable",
	    "the database is unavailable; nothing was changed, retry later", NULL);
}

int
http_db_failed(struct http_req *r, PGconn *c)
{
	if (db_check_broken(c) || db_last_error_transient())
		return http_db_unavailable(r);
	return http_error(r, 500, "internal",
	    "the request failed in the database; nothing was changed", NULL);
}

const char *
http_header(struct http_req *r, const char *name)
{
	if (r->cap) {
		for (const char *const *h = r->cap->headers; h && h[0]; h += 2)
			if (strcasecmp(h[0], name) == 0)
				return h[1];
		return NULL;
	}
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_query(struct http_req *r, const char *name)
{
	return r->cap ? NULL : MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

const char *
http_cookie(struct http_req *r, const char *name)
{
	return r->cap ? NULL : MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

json_t *
http_body_json(struct http_req *r, int *rc)
{
	const char *ct = http_header(r, "Content-Type");
	json_error_t jerr;
	json_t *j;

	if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		*rc = http_error(r, 415, "unsupported_media_type",
		    "Content-Type must be application/json", NULL);
		return NULL;
	}
	if (r->body_len == 0) {
		*rc = http_error(r, 400, "malformed_json", "the request body is empty", NULL);
		return NULL;
	}
	if (jsonlimit_depth(r->body, r->body_len, HTTP_JSON_MAX_DEPTH) < 0) {
		*rc = http_error(r, 400, "malformed_json", "JSON nested too deeply", NULL);
		return NULL;
	}
	j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		char msg[300];

		snprintf(msg, sizeof(msg), "invalid JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		*rc = http_error(r, 400, "malformed_json", msg, NULL);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*rc = http_error(r, 400, "malformed_json", "the body must be a JSON object",
		    NULL);
		return NULL;
	}
	return j;
}

static int
http_dispatch(struct http_req *r)
{
	int path_matched = 0, answered = 0, rc;

	if (r->too_large)
		return http_error(r, 413, "payload_too_large",
		    "the request body is larger than max_body_bytes", NULL);
	for (int i = 0; i < http_nroutes; i++) {
		struct http_route *rt = &http_routes[i];

		if (!http_match(rt->pattern, r->path, r))
			continue;
		path_matched = 1;
		if (strcmp(rt->method, r->method) != 0 &&
		    !(strcmp(rt->method, "GET") == 0 && strcmp(r->method, "HEAD") == 0))
			continue;
		r->route = i;
		/* Public routes ignore credentials: a stale cookie or a database
		 * outage must not break /healthz or the login itself. */
		if (http_auth_fn && !(rt->flags & HTTP_PUBLIC)) {
			rc = http_auth_fn(r, &answered);
			if (answered)
				return rc;
		}
		/* Credentials are enforced once an authenticator is installed. */
		if (http_auth_fn && !(rt->flags & HTTP_PUBLIC) && r->auth.kind == AUTH_NONE)
			return http_error(r, 401, "unauthorized", "a credential is required",
			    NULL);
		return rt->fn(r);
	}
	if (path_matched)
		return http_error(r, 405, "method_not_allowed",
		    "this method is not allowed here", NULL);
	return http_error(r, 404, "not_found", "no such endpoint", NULL);
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct http_req *r = *con_cls;
	unsigned char rnd[8];

	(void)cls;
	(void)version;
	if (!r) {
		const char *cl;
		const union MHD_ConnectionInfo *ci;

		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		*con_cls = r;
		r->conn = conn;
		r->method = method;
		r->route = -1;
		r->start = (clock_ms_precise() / 1e3);
		r->path = strndup(url, strcspn(url, "?"));
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(r->id, sizeof(r->id), rnd, sizeof(rnd));
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr)
			acceptor_format_addr(ci->client_addr, r->client_ip,
			    sizeof(r->client_ip));
		if (!r->path)
			return MHD_NO;
		r->body_max = http_body_limit(r);
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)r->body_max) {
			/* Refuse before reading: MHD closes the connection after it. */
			r->too_large = 1;
			return (enum MHD_Result)http_dispatch(r);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (!r->too_large && r->body_len + n > r->body_max) {
			r->too_large = 1;
			free(r->body);
			r->body = NULL;
			r->body_len = 0;
		}
		/* A chunked body has no Content-Length to refuse up front, and MHD
		 * 0.9.75 cannot answer before the body ends: read and drop the
		 * rest for a 413, but close a body that goes on far past the limit
		 * instead of reading for as long as the client cares to send. */
		if (r->too_large && (r->discarded += n) / HTTP_DISCARD_FACTOR > r->body_max) {
			log_info("[API] %s %s %s: body far over max_body_bytes, closing",
			    r->id, r->method, r->path);
			return MHD_NO;
		}
		if (!r->too_large) {
			char *p = realloc(r->body, r->body_len + n + 1);

			if (!p)
				return MHD_NO;
			memcpy(p + r->body_len, upload, n);
			r->body = p;
			r->body_len += n;
			r->body[r->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->status)
		return MHD_YES;
	return (enum MHD_Result)http_dispatch(r);
}

int
http_run_captured(http_handler fn, const char *method, const char *path,
    const char *body, size_t len, const struct auth *auth, struct http_capture *cap)
{
	struct http_req r = { .cap = cap, .method = method, .route = -1 };
	unsigned char rnd[8];
	double t0 = clock_ms_precise();

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(r.id, sizeof(r.id), rnd, sizeof(rnd));
	cap->status = 0;
	cap->replayed = 0;
	if ((r.path = strdup(path)) == NULL || (r.body = malloc(len + 1)) == NULL) {
		free(r.path);
		return -1;
	}
	memcpy(r.body, body, len);
	r.body[len] = '\0';
	r.body_len = len;
	r.body_max = len;
	r.auth = *auth;
	fn(&r);
	http_run_deferred(&r);
	log_info("[API] %s %s %s %u %.1fms (websocket)", r.id, r.method, r.path, r.status,
	    clock_ms_precise() - t0);
	for (int i = 0; i < r.nhdr; i++) {
		free(r.hdr_name[i]);
		free(r.hdr_value[i]);
	}
	free(r.path);
	free(r.body);
	return 0;
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_req *r = *con_cls;
	struct http_route_stats *st;
	double dt;
	size_t ci;

	(void)cls;
	(void)conn;
	if (!r)
		return;
	dt = (clock_ms_precise() / 1e3) - r->start;
	st = &http_stats[r->route >= 0 ? r->route : HTTP_MAX_ROUTES];
	for (ci = 0; ci < HTTP_NCODES && http_codes[ci] != r->status; ci++)
		;
	atomic_fetch_add(&st->by_code[ci], 1);
	atomic_fetch_add(&st->count, 1);
	for (int b = 0; b < HTTP_NBUCKETS; b++)
		if (dt <= http_buckets[b])
			atomic_fetch_add(&st->bucket[b], 1);
	{
		double old = atomic_load_explicit(&st->sum, memory_order_relaxed);
		while (!atomic_compare_exchange_weak(&st->sum, &old, old + dt))
			;
	}
	if (strcmp(r->path, "/healthz") != 0 && strcmp(r->path, "/metrics") != 0)
		log_info("[API] %s %s %s %u %.1fms%s", r->id, r->method, r->path,
		    r->status, dt * 1000.0,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	for (int i = 0; i < r->nhdr; i++) {
		free(r->hdr_name[i]);
		free(r->hdr_value[i]);
	}
	http_run_deferred(r);
	free(r->path);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

void
http_metrics(struct metrics_buf *m)
{
	metrics_printf(m, "# HELP printmaster_http_requests_total HTTP requests by route and status.\n"
	    "# TYPE printmaster_http_requests_total counter\n");
	for (int i = 0; i <= http_nroutes; i++) {
		int idx = i < http_nroutes ? i : HTTP_MAX_ROUTES;
		const char *name = i < http_nroutes ? (http_routes[i].name ?
		    http_routes[i].name : http_routes[i].pattern) : "unmatched";
		const char *meth = i < http_nroutes ? http_routes[i].method : "";

		for (size_t c = 0; c <= HTTP_NCODES; c++) {
			unsigned long v = atomic_load(&http_stats[idx].by_code[c]);
			char code[8];

			if (!v)
				continue;
			snprintf(code, sizeof(code), "%u", c < HTTP_NCODES ? http_codes[c] : 0);
			metrics_printf(m, "printmaster_http_requests_total{method=\"%s\","
			    "route=\"%s\",status=\"%s\"} %lu\n", meth, name,
			    c < HTTP_NCODES ? code : "other", v);
		}
	}
	metrics_printf(m, "# HELP printmaster_http_request_duration_seconds Request latency.\n"
	    "# TYPE printmaster_http_request_duration_seconds histogram\n");
	for (int i = 0; i < http_nroutes; i++) {
		struct http_route_stats *st = &http_stats[i];
		const char *name = http_routes[i].name ? http_routes[i].name :
		    http_routes[i].pattern;
		unsigned long count = atomic_load(&st->count);

		if (!count)
			continue;
		for (int b = 0; b < HTTP_NBUCKETS; b++)
			metrics_printf(m, "printmaster_http_request_duration_seconds_bucket"
			    "{method=\"%s\",route=\"%s\",le=\"%g\"} %lu\n", http_routes[i].method,
			    name, http_buckets[b], atomic_load(&st->bucket[b]));
		metrics_printf(m, "printmaster_http_request_duration_seconds_bucket"
		    "{method=\"%s\",route=\"%s\",le=\"+Inf\"} %lu\n", http_routes[i].method,
		    name, count);
		metrics_printf(m, "printmaster_http_request_duration_seconds_sum"
		    "{method=\"%s\",route=\"%s\"} %.6f\n", http_routes[i].method, name,
		    atomic_load(&st->sum));
		metrics_printf(m, "printmaster_http_request_duration_seconds_count"
		    "{method=\"%s\",route=\"%s\"} %lu\n", http_routes[i].method, name, count);
	}
}

static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("[API] libmicrohttpd: %s", msg);
}

static int
http_add_connection(int fd, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	(void)arg;
	/* On MHD_NO, MHD has closed fd already. */
	return MHD_add_connection(http_daemon, fd, sa, salen) == MHD_YES ? 0 : -1;
}

const struct server_config *
http_config(void)
{
	return http_cfg;
}

int
http_start(const struct server_config *cfg)
{
	http_cfg = cfg;
	http_daemon = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET |
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    http_access, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
	    MHD_OPTION_END);
	if (!http_daemon) {
		log_error("[API] could not start libmicrohttpd");
		return -1;
	}
	if (acceptor_start(cfg->bind, (int)cfg->port, http_add_connection, NULL) < 0) {
		MHD_stop_daemon(http_daemon);
		http_daemon = NULL;
		return -1;
	}
	return 0;
}

void
http_stop(void)
{
	acceptor_stop();
	if (http_daemon)
		MHD_stop_daemon(http_daemon);
	http_daemon = NULL;
}

int
http_bound_port(void)
{
	return acceptor_port();
}
