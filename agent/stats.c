/*
 * stats.c: sync statistics (see stats.h). Response times are a ring of the
 * last STATS_SAMPLES requests, so the average and p95 follow recent
 * behaviour rather than the whole life of the process. Not here: sending them
 * (sync.c, ws_client.c).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "agent/stats.h"

void
stats_init(struct stats *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->started_s = clock_ms() / 1000;
}

void
stats_window_add(struct stats_bucket *w, long long now_s, long attempts, long ok,
    long items)
{
	long long slot = now_s / STATS_BUCKET_S + 1;
	struct stats_bucket *b = &w[slot % STATS_BUCKETS];

	if (b->slot != slot)
		*b = (struct stats_bucket){ .slot = slot };
	b->attempts += attempts;
	b->ok += ok;
	b->items += items;
}

void
stats_window_sum(const struct stats_bucket *w, long long now_s, long long started_s,
    struct stats_window *out)
{
	long long slot = now_s / STATS_BUCKET_S + 1, covered = now_s - started_s;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < STATS_BUCKETS; i++) {
		if (w[i].slot == 0 || w[i].slot > slot || w[i].slot <= slot - STATS_BUCKETS)
			continue;
		out->attempts += w[i].attempts;
		out->ok += w[i].ok;
		out->items += w[i].items;
	}
	/* A young agent's rate is over the time it has run, but at least a
	 * minute, so its first batch does not read as a flood. */
	if (covered > STATS_WINDOW_S)
		covered = STATS_WINDOW_S;
	if (covered < 60)
		covered = 60;
	out->minutes = (double)covered / 60.0;
}

static void
stats_window_now(struct stats *s, struct stats_window *out)
{
	stats_window_sum(s->win, clock_ms() / 1000, s->started_s, out);
}

void
stats_destroy(struct stats *s)
{
	pthread_mutex_destroy(&s->mu);
}

static void
stats_sample(struct stats *s, double ms)
{
	s->samples[s->next] = ms;
	s->next = (s->next + 1) % STATS_SAMPLES;
	if (s->nsamples < STATS_SAMPLES)
		s->nsamples++;
}

void
stats_set_queue(struct stats *s, long queue_size, long in_flight, long active_batches)
{
	pthread_mutex_lock(&s->mu);
	s->queue_size = queue_size;
	s->in_flight = in_flight;
	s->active_batches = active_batches;
	pthread_mutex_unlock(&s->mu);
}

void
stats_batch_done(struct stats *s, long synced, long failed, double ms)
{
	pthread_mutex_lock(&s->mu);
	s->synced += synced;
	s->failed += failed;
	s->batches++;
	s->last_success = time(NULL);
	stats_sample(s, ms);
	stats_window_add(s->win, clock_ms() / 1000, 1, failed == 0, synced);
	pthread_mutex_unlock(&s->mu);
}

void
stats_retry(struct stats *s, double ms)
{
	pthread_mutex_lock(&s->mu);
	s->retries++;
	stats_window_add(s->win, clock_ms() / 1000, 1, 0, 0);
	if (ms > 0)
		stats_sample(s, ms);
	pthread_mutex_unlock(&s->mu);
}

void
stats_rejected(struct stats *s, long items)
{
	pthread_mutex_lock(&s->mu);
	s->rejected++;
	s->failed += items;
	stats_window_add(s->win, clock_ms() / 1000, 1, 0, 0);
	pthread_mutex_unlock(&s->mu);
}

void
stats_error(struct stats *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->mu);
	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
	s->last_error_at = time(NULL);
	pthread_mutex_unlock(&s->mu);
}

void
stats_set_ws(struct stats *s, int connected)
{
	pthread_mutex_lock(&s->mu);
	s->ws_connected = connected;
	pthread_mutex_unlock(&s->mu);
}

static int
stats_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
stats_response_times(const double *samples, size_t n, double *avg, double *p95)
{
	double sorted[STATS_SAMPLES], sum = 0;
	size_t i, rank;

	*avg = *p95 = 0;
	if (n == 0)
		return;
	if (n > STATS_SAMPLES)
		n = STATS_SAMPLES;
	for (i = 0; i < n; i++) {
		sorted[i] = samples[i];
		sum += samples[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), stats_cmp);
	*avg = sum / (double)n;
	/* Nearest rank: the smallest sample with at least 95% at or below it. */
	rank = (n * 95 + 99) / 100;
	*p95 = sorted[rank - 1];
}

static json_t *
stats_time(time_t t)
{
	char buf[CLOCK_ISO_LEN];

	if (t == 0)
		return json_null();
	clock_iso8601(t, buf);
	return json_string(buf);
}

/* One decimal, as the statistics carry them. */
static double
stats_round1(double v)
{
	return (double)((long long)(v * 10 + 0.5)) / 10;
}

static json_t *
stats_json_locked(struct stats *s)
{
	struct stats_window w;
	double avg, p95;
	json_t *j;

	stats_response_times(s->samples, s->nsamples, &avg, &p95);
	stats_window_now(s, &w);
	j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:f, s:f}",
	    "queueSize", (json_int_t)s->queue_size, "inFlight", (json_int_t)s->in_flight,
	    "synced", (json_int_t)s->synced, "failed", (json_int_t)s->failed,
	    "retries", (json_int_t)s->retries, "batches", (json_int_t)s->batches,
	    "lastSuccess", stats_time(s->last_success),
	    "lastError", s->last_error[0] ? json_string(s->last_error) : json_null(),
	    "avgResponseMs", stats_round1(avg), "p95ResponseMs", stats_round1(p95));
	/* The window's view: what the page and the alerts go by. */
	if (j && json_object_update_new(j, json_pack("{s:f, s:o, s:I, s:I, s:I}",
	    "processingRate", stats_round1((double)w.items / w.minutes),
	    "successRate", w.attempts ? json_real(stats_round1(100.0 * (double)w.ok /
	    (double)w.attempts)) : json_null(),
	    "succeededRecent", (json_int_t)w.ok,
	    "failedRecent", (json_int_t)(w.attempts - w.ok),
	    "activeBatches", (json_int_t)s->active_batches)) < 0) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

void
stats_log_line(struct stats *s, char *buf, size_t len)
{
	struct stats_window w;
	double avg, p95;
	char success[16];

	pthread_mutex_lock(&s->mu);
	stats_response_times(s->samples, s->nsamples, &avg, &p95);
	stats_window_now(s, &w);
	if (w.attempts)
		snprintf(success, sizeof(success), "%.0f%%", 100.0 * (double)w.ok /
		    (double)w.attempts);
	else
		snprintf(success, sizeof(success), "n/a");
	snprintf(buf, len, "[AUTO-SYNC] stats: queue=%ld rate=%.1f/min success=%s batches=%ld "
	    "retries=%ld p95=%.0fms", s->queue_size, (double)w.items / w.minutes, success,
	    s->batches, s->retries, p95);
	pthread_mutex_unlock(&s->mu);
}

json_t *
stats_json(struct stats *s)
{
	json_t *j;

	pthread_mutex_lock(&s->mu);
	j = stats_json_locked(s);
	pthread_mutex_unlock(&s->mu);
	return j;
}

int
stats_write_file(struct stats *s, const char *dir, const char *server_url)
{
	char path[4096], tmp[4096];
	json_t *doc;
	int rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, STATS_FILE) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, STATS_FILE) >= sizeof(tmp))
		return -1;
	pthread_mutex_lock(&s->mu);
	doc = json_pack("{s:I, s:o, s:s, s:b, s:I, s:o, s:o}", "pid", (json_int_t)getpid(),
	    "updatedAt", stats_time(time(NULL)), "serverUrl", server_url ? server_url : "",
	    "websocket", s->ws_connected, "rejected", (json_int_t)s->rejected,
	    "lastErrorAt", stats_time(s->last_error_at), "stats", stats_json_locked(s));
	pthread_mutex_unlock(&s->mu);
	/* No fsync: the file is a view for people, rebuilt every round; rename
	 * alone keeps a reader from seeing half of it. */
	if (doc && json_dump_file(doc, tmp, JSON_INDENT(2)) == 0 && rename(tmp, path) == 0)
		rc = 0;
	else
		unlink(tmp);
	json_decref(doc);
	return rc;
}

static void
stats_print_value(FILE *out, const char *label, const json_t *v)
{
	if (json_is_integer(v))
		fprintf(out, "%-16s %lld\n", label, (long long)json_integer_value(v));
	else if (json_is_real(v))
		fprintf(out, "%-16s %.1f\n", label, json_real_value(v));
	else if (json_is_string(v))
		fprintf(out, "%-16s %s\n", label, json_string_value(v));
	else if (json_is_boolean(v))
		fprintf(out, "%-16s %s\n", label, json_is_true(v) ? "connected" : "down");
	else
		fprintf(out, "%-16s -\n", label);
}

int
stats_print_file(const char *dir, FILE *out)
{
	static const char *const labels[][2] = {
		{ "queueSize", "queue size" }, { "inFlight", "in flight" },
		{ "synced", "synced" }, { "failed", "failed" }, { "retries", "retries" },
		{ "batches", "batches" }, { "lastSuccess", "last success" },
		{ "lastError", "last error" }, { "avgResponseMs", "avg response ms" },
		{ "p95ResponseMs", "p95 response ms" },
	};
	char path[4096];
	json_error_t jerr;
	json_t *doc, *st;
	size_t i;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, STATS_FILE) >= sizeof(path))
		return -1;
	if ((doc = json_load_file(path, 0, &jerr)) == NULL) {
		fprintf(stderr, "printmaster-agent: no state in %s (%s): has the agent run?\n",
		    path, jerr.text);
		return -1;
	}
	st = json_object_get(doc, "stats");
	stats_print_value(out, "server", json_object_get(doc, "serverUrl"));
	stats_print_value(out, "updated", json_object_get(doc, "updatedAt"));
	stats_print_value(out, "pid", json_object_get(doc, "pid"));
	stats_print_value(out, "websocket", json_object_get(doc, "websocket"));
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		stats_print_value(out, labels[i][1], json_object_get(st, labels[i][0]));
	stats_print_value(out, "rejected batches", json_object_get(doc, "rejected"));
	json_decref(doc);
	return 0;
}
