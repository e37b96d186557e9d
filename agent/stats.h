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

struct stats {
	pthread_mutex_t mu;
	long queue_size;	/* changes spooled and not yet confirmed */
	long in_flight;		/* changes in the request being sent */
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
};

void stats_init(struct stats *s);
void stats_destroy(struct stats *s);

void stats_set_queue(struct stats *s, long queue_size, long in_flight);
/* A batch the server answered with 2xx: counts and its response time. */
void stats_batch_done(struct stats *s, long synced, long failed, double ms);
void stats_retry(struct stats *s, double ms);
void stats_rejected(struct stats *s, long items);
void stats_error(struct stats *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void stats_set_ws(struct stats *s, int connected);

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
