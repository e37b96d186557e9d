/*
 * stats.h: the agent's sync statistics (queue size, in flight, synced, failed,
 * retries, batches, last success and error, response times). Written by the
 * sync loop, read by the websocket thread to send them; a mutex keeps the two
 * apart. The state file lets `printmaster-agent status` print them.
 */
#ifndef PM_STATS_H
#define PM_STATS_H

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <jansson.h>

#define STATS_SAMPLES 256		/* response times kept for avg and p95 */
#define STATS_FILE "state.json"		/* inside spool_dir */
#define STATS_ERROR_MAX 256
#define STATS_WINDOW_S 300		/* rate and success rate: the last 5 minutes */
#define STATS_BUCKET_S 10
#define STATS_BUCKETS (STATS_WINDOW_S / STATS_BUCKET_S)

/* Requests and confirmed printers of one STATS_BUCKET_S slot of time. */
struct stats_bucket {
	long long slot;		/* monotonic seconds / STATS_BUCKET_S + 1; 0 = unused */
	long attempts;		/* bulk requests sent (first tries and retries) */
	long ok;		/* answered 2xx with no item refused */
	long items;		/* printers the server confirmed */
};

/* Sums over the window: what the rate and the success rate are made of. */
struct stats_window {
	long attempts, ok, items;
	double minutes;		/* time covered: since start, 1 to 5 minutes */
};

struct stats {
	pthread_mutex_t mu;
	long queue_size;	/* changes spooled and not yet confirmed */
	long in_flight;		/* changes in the requests being sent */
	long active_batches;	/* batches in flight (sync_concurrency at most) */
	long synced;		/* changes the server confirmed */
	long failed;		/* changes refused: per-item failures and rejected batches */
	long retries;
	long batches;		/* batches confirmed */
	long rejected;		/* batches set aside after a whole-request 4xx */
	time_t last_success;	/* 0 = never */
	time_t last_error_at;
	char last_error[STATS_ERROR_MAX];
	double samples[STATS_SAMPLES];
	size_t nsamples, next;
	int ws_connected;
	struct stats_bucket win[STATS_BUCKETS];
	long long started_s;	/* monotonic seconds at stats_init */
};

void stats_init(struct stats *s);
void stats_destroy(struct stats *s);

/* Changes spooled, changes in flight, and in how many batches. */
void stats_set_queue(struct stats *s, long queue_size, long in_flight, long active_batches);
/* A batch the server answered with 2xx: counts and its response time. */
void stats_batch_done(struct stats *s, long synced, long failed, double ms);
void stats_retry(struct stats *s, double ms);
void stats_rejected(struct stats *s, long items);
void stats_error(struct stats *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void stats_set_ws(struct stats *s, int connected);

/* Pure: count into the window `w` at monotonic time now_s. */
void stats_window_add(struct stats_bucket *w, long long now_s, long attempts, long ok,
    long items);
/* Pure: the sums of the last STATS_WINDOW_S seconds before now_s, the agent
 * having started at started_s. */
void stats_window_sum(const struct stats_bucket *w, long long now_s, long long started_s,
    struct stats_window *out);
/* The log line "[AUTO-SYNC] stats: queue=.. rate=../min success=..% batches=..
 * retries=.. p95=..ms" (success "n/a" when nothing was sent in the window). */
void stats_log_line(struct stats *s, char *buf, size_t len);

/* Average and 95th percentile of the kept samples (0 when none). Pure. */
void stats_response_times(const double *samples, size_t n, double *avg, double *p95);

/* The contract's stats object (contracts.md, gateway): a new reference. */
json_t *stats_json(struct stats *s);
/* Write {"pid","updatedAt","serverUrl","websocket","rejected","stats"} to
 * dir/state.json through a temp file and rename. Returns 0 or -1. */
int stats_write_file(struct stats *s, const char *dir, const char *server_url);
/* `printmaster-agent status`: print dir/state.json for people. 0 or -1. */
int stats_print_file(const char *dir, FILE *out);

#endif
