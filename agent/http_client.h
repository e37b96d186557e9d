/*
 * http_client.h: the agent's HTTP client (libcurl). One easy handle reused
 * for every request, so connections are kept alive between batches; connect
 * and total timeouts; the agent key sent as a Bearer token and never logged.
 * A request can be abandoned promptly when a stop flag is raised (SIGTERM).
 * One thread at a time per client: the sync's sender threads have one each;
 * the first http_client_new must come before any other thread uses curl.
 */
#ifndef PM_HTTP_CLIENT_H
#define PM_HTTP_CLIENT_H

#include <signal.h>
#include <stddef.h>

#define HTTP_CLIENT_BODY_MAX (8u << 20)	/* bytes of a reply we keep */

struct http_client;

struct http_result {
	long status;		/* HTTP status, 0 when no reply came */
	int transport_error;	/* 1: connection error or timeout (no usable reply) */
	int aborted;		/* 1: the stop flag ended the request */
	char error[256];	/* curl's reason when transport_error */
	char *body;		/* reply body, NUL-terminated; owned, http_result_free */
	size_t body_len;
	long retry_after_ms;	/* parsed Retry-After, -1 when absent */
	double elapsed_ms;
};

/*
 * `base_url` like http://host:3001 (no trailing path). `agent_key` is copied
 * into the Authorization header and wiped from our buffers. `stop` (may be
 * NULL) is polled during transfers. Returns NULL on failure.
 */
struct http_client *http_client_new(const char *base_url, const char *agent_key,
    long connect_timeout_ms, long timeout_ms, volatile sig_atomic_t *stop);
void http_client_free(struct http_client *c);
/* Send `agent_key` (may be NULL or empty: no Authorization) from the next
 * request on; the old one is wiped. Returns 0, or -1 (out of memory) with the
 * old key kept. Not during a request. */
int http_client_set_key(struct http_client *c, const char *agent_key);

/*
 * POST a JSON body to base_url + path, with an Idempotency-Key header when
 * idem_key is not NULL. Fills *out (free with http_result_free). Returns 0
 * when a reply came (any status), -1 otherwise (out->error says why).
 */
int http_client_post_json(struct http_client *c, const char *path, const char *idem_key,
    const char *body, struct http_result *out);
void http_result_free(struct http_result *r);

#endif
