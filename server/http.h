/*
 * http.h: the REST side of the server on libmicrohttpd: request lifecycle,
 * body limits, routing, the credential hook, JSON replies and errors.
 * Handlers run on MHD worker threads; each may use that thread's db_conn().
 */
#ifndef PM_HTTP_H
#define PM_HTTP_H

#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>

#include "common/uuid.h"
#include "server/auth.h"
#include "server/config.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 8
#define HTTP_MAX_DEFER 2

/*
 * A request made inside the server instead of read from a socket (an agent's
 * "sync" over its websocket, run by the same handler as the HTTP request):
 * its request headers are `headers` (name, value, ..., NULL) and its reply is
 * kept here instead of sent. See http_run_captured.
 */
struct http_capture {
	const char *const *headers;
	unsigned status;
	char *body;		/* the reply's body, owned by the caller after the run */
	size_t len;
	int replayed;		/* the reply carried Idempotent-Replayed: true */
};

struct http_req {
	struct MHD_Connection *conn;	/* NULL for a captured request */
	struct http_capture *cap;
	const char *method;
	char *path;			/* URL path without the query, owned */
	char id[17];			/* request id, also sent as X-Request-Id */
	char *body;			/* NUL-terminated copy of the body, owned */
	size_t body_len;
	int too_large;
	size_t discarded;		/* body bytes dropped after too_large */
	size_t body_max;		/* this route's body limit */
	const char *params[HTTP_MAX_PARAMS];	/* {name} captures from the route */
	char param_buf[512];
	struct auth auth;
	unsigned status;		/* set when a reply is queued */
	int route;			/* index into the route list, -1 for none */
	double start;			/* monotonic seconds */
	int nhdr;
	char *hdr_name[HTTP_MAX_HEADERS], *hdr_value[HTTP_MAX_HEADERS];
	char client_ip[64];
	struct {
		void (*fn)(void *);
		void *arg;
	} defer[HTTP_MAX_DEFER];	/* http_defer() */
	int ndefer;
};

/* A handler returns the result of http_reply_* / http_error (MHD_YES or MHD_NO). */
typedef int (*http_handler)(struct http_req *);
/* The authenticator fills r->auth from headers/cookies; it runs only for routes
 * that are not HTTP_PUBLIC. It returns 0 when the request may go on (credential
 * or none), or the queued reply's result after answering (401) itself, with
 * *answered set. */
typedef int (*http_authenticator)(struct http_req *, int *answered);

#define HTTP_PUBLIC	0x1	/* no credential needed */
#define HTTP_AUTH	0x2	/* any credential */
#define HTTP_LARGE_BODY	0x4	/* body up to a print job's base64 (max_job_bytes), not
				 * max_body_bytes, when that is larger */

/* The one method name that is also an SQL verb: spelled here, so that
 * SQL text in the server sources can be found with grep (it lives only in
 * the store_ files). */
#define HTTP_METHOD_DEL "DELETE"

struct http_route {
	const char *method;
	const char *pattern;	/* "/api/v1/printing/printers/{id}" */
	http_handler fn;
	int flags;
	const char *name;	/* label for /metrics; defaults to pattern */
};

/* Register a route table ending with a NULL method. Before http_start only. */
int http_add_routes(const struct http_route *routes);
void http_set_authenticator(http_authenticator fn);

int http_start(const struct server_config *cfg);
/* The configuration http_start was given (read-only, any thread). */
const struct server_config *http_config(void);
void http_stop(void);
/* The port actually bound (useful with port 0 in tests). */
int http_bound_port(void);

/*
 * Run handler `fn` on a request that did not come over HTTP: `method` and
 * `path` as routed, `body` (copied), the credential `auth` (checked by the
 * caller), request headers and the reply in `cap`. The reply's status is
 * cap->status (0 when the handler queued none). 0, or -1 out of memory.
 */
int http_run_captured(http_handler fn, const char *method, const char *path,
    const char *body, size_t len, const struct auth *auth, struct http_capture *cap);

/* Replies. json_reply steals `body`. Extra headers added before the reply. */
int http_reply_json(struct http_req *r, unsigned status, json_t *body);
int http_reply_data(struct http_req *r, unsigned status, const char *ctype,
    const void *data, size_t len);
int http_reply_static(struct http_req *r, unsigned status, const char *ctype,
    const void *data, size_t len);	/* data must outlive the response */
int http_error(struct http_req *r, unsigned status, const char *code,
    const char *message, json_t *details);
void http_add_header(struct http_req *r, const char *name, const char *value);
/* Run fn(arg) once the reply has gone out (a captured request: when its
 * handler has returned): what a handler built need not be freed before its
 * answer leaves. With HTTP_MAX_DEFER already waiting, fn runs at once. */
void http_defer(struct http_req *r, void (*fn)(void *), void *arg);

/* The one mapping of database errors to answers. http_db_unavailable: 503
 * with Retry-After, "database unreachable: nothing was changed". After a
 * failed statement on c (which may be NULL), http_db_failed: that 503 when the
 * connection is gone or the error is transient, else 500, since retrying a
 * statement that fails on a healthy connection would fail again. */
int http_db_unavailable(struct http_req *r);
int http_db_failed(struct http_req *r, PGconn *c);

const char *http_header(struct http_req *r, const char *name);
const char *http_query(struct http_req *r, const char *name);
const char *http_cookie(struct http_req *r, const char *name);

/* Parse the body as a JSON object with a depth limit; on failure answers 400 or
 * 415 and returns NULL with *rc set to the reply's result. */
json_t *http_body_json(struct http_req *r, int *rc);

/* Route statistics for /metrics: writes Prometheus text lines into f. */
struct metrics_buf;
void http_metrics(struct metrics_buf *m);

#endif
