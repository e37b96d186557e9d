/*
 * http_client.c: libcurl easy interface, one handle kept for keep-alive (see
 * http_client.h). Replies are read into memory up to HTTP_CLIENT_BODY_MAX;
 * Retry-After is picked out of the headers. Not here: what is sent or retried
 * (sync.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/clock.h"
#include "log.h"
#include "agent/backoff.h"
#include "agent/http_client.h"

struct http_client {
	CURL *curl;
	char *base_url;
	struct curl_slist *auth;	/* "Authorization: Bearer ..." */
	long connect_timeout_ms, timeout_ms;
	volatile sig_atomic_t *stop;
};

struct http_sink {
	struct http_result *res;
	size_t cap;
	int overflow;
};

static int curl_ready;

/* A wiped, freed Authorization list. */
static void
http_free_auth(struct curl_slist *auth)
{
	struct curl_slist *h;

	for (h = auth; h; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(auth);
}

/* The "Authorization: Bearer <key>" list for `agent_key`; *out stays NULL for
 * no key. Returns 0 or -1 (out of memory). */
static int
http_make_auth(const char *agent_key, struct curl_slist **out)
{
	char *hdr;
	size_t n;

	*out = NULL;
	if (agent_key == NULL || *agent_key == '\0')
		return 0;
	n = strlen(agent_key) + 32;
	if ((hdr = malloc(n)) == NULL)
		return -1;
	snprintf(hdr, n, "Authorization: Bearer %s", agent_key);
	*out = curl_slist_append(NULL, hdr);
	sodium_memzero(hdr, n);
	free(hdr);
	return *out ? 0 : -1;
}

struct http_client *
http_client_new(const char *base_url, const char *agent_key, long connect_timeout_ms,
    long timeout_ms, volatile sig_atomic_t *stop)
{
	struct http_client *c;
	size_t n;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = 1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->connect_timeout_ms = connect_timeout_ms;
	c->timeout_ms = timeout_ms;
	c->stop = stop;
	if ((c->base_url = strdup(base_url)) == NULL || (c->curl = curl_easy_init()) == NULL)
		goto err;
	n = strlen(c->base_url);
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	if (http_make_auth(agent_key, &c->auth) < 0)
		goto err;
	return c;
err:
	http_client_free(c);
	return NULL;
}

int
http_client_set_key(struct http_client *c, const char *agent_key)
{
	struct curl_slist *auth;

	if (http_make_auth(agent_key, &auth) < 0)
		return -1;
	http_free_auth(c->auth);
	c->auth = auth;
	return 0;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	http_free_auth(c->auth);
	free(c->base_url);
	free(c);
}

void
http_result_free(struct http_result *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *s = arg;
	size_t n = size * nmemb, nc;
	char *nb;

	if (s->res->body_len + n > HTTP_CLIENT_BODY_MAX) {
		s->overflow = 1;
		return 0;
	}
	if (s->res->body_len + n + 1 > s->cap) {
		nc = s->cap ? s->cap : 4096;
		while (nc < s->res->body_len + n + 1)
			nc *= 2;
		if ((nb = realloc(s->res->body, nc)) == NULL)
			return 0;
		s->res->body = nb;
		s->cap = nc;
	}
	memcpy(s->res->body + s->res->body_len, ptr, n);
	s->res->body_len += n;
	s->res->body[s->res->body_len] = '\0';
	return n;
}

static size_t
http_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct http_sink *s = arg;
	size_t n = size * nitems;
	char val[96];
	size_t vl;

	if (n > 12 && n < 12 + sizeof(val) && strncasecmp(buf, "Retry-After:", 12) == 0) {
		vl = n - 12;
		memcpy(val, buf + 12, vl);
		val[vl] = '\0';
		val[strcspn(val, "\r\n")] = '\0';
		s->res->retry_after_ms = backoff_retry_after_ms(val, time(NULL));
	}
	return n;
}

static int
http_progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct http_client *c = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return (c->stop && *c->stop) ? 1 : 0;
}

int
http_client_post_json(struct http_client *c, const char *path, const char *idem_key,
    const char *body, struct http_result *out)
{
	struct curl_slist *hdrs = NULL, *h;
	struct http_sink sink;
	char url[2048], idem[128];
	double t0;
	CURLcode cc;
	CURL *e = c->curl;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	memset(&sink, 0, sizeof(sink));
	sink.res = out;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base_url, path) >= sizeof(url)) {
		snprintf(out->error, sizeof(out->error), "URL too long");
		out->transport_error = 1;
		return -1;
	}
	/* The per-request headers go first, then the Authorization line, which
	 * stays in c->auth: a copy would need wiping. */
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (hdrs && idem_key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idem_key);
		if ((h = curl_slist_append(hdrs, idem)) == NULL) {
			curl_slist_free_all(hdrs);
			hdrs = NULL;
		}
	}
	if (hdrs == NULL) {
		snprintf(out->error, sizeof(out->error), "out of memory");
		out->transport_error = 1;
		return -1;
	}
	for (h = hdrs; h->next; h = h->next)
		;
	h->next = c->auth;

	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &sink);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, http_progress_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "printmaster-agent/" PM_VERSION);
	/* Only http and https, and never follow a redirect with our key. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);

	t0 = clock_ms_precise();
	cc = curl_easy_perform(e);
	out->elapsed_ms = clock_ms_precise() - t0;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
		rc = 0;
	} else {
		out->transport_error = 1;
		out->aborted = cc == CURLE_ABORTED_BY_CALLBACK;
		snprintf(out->error, sizeof(out->error), "%s%s", curl_easy_strerror(cc),
		    sink.overflow ? " (reply too large)" : "");
	}
	/* Detach the shared Authorization node before freeing our own list. */
	h->next = NULL;
	curl_slist_free_all(hdrs);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	return rc;
}
