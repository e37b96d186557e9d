/*
 * test_stats.c: response-time average and p95 (nearest rank), the stats
 * object's contract fields, and the server URL to websocket URL mapping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent/stats.h"
#include "agent/ws_client.h"

static void
test_response_times(void **state)
{
	double s[100] = { 0 }, avg, p95;
	int i;

	(void)state;
	stats_response_times(s, 0, &avg, &p95);
	assert_true(avg == 0 && p95 == 0);
	for (i = 0; i < 100; i++)
		s[i] = (double)(100 - i);	/* 100 .. 1, unsorted */
	stats_response_times(s, 100, &avg, &p95);
	assert_true(avg > 50.49 && avg < 50.51);
	assert_true(p95 == 95);
	s[0] = 7;
	stats_response_times(s, 1, &avg, &p95);
	assert_true(avg == 7 && p95 == 7);
}

static void
test_stats_json(void **state)
{
	struct stats st;
	json_t *j;
	const char *k;
	static const char *const keys[] = { "queueSize", "inFlight", "synced", "failed",
		"retries", "batches", "lastSuccess", "lastError", "avgResponseMs",
		"p95ResponseMs", "processingRate", "successRate", "succeededRecent",
		"failedRecent", "activeBatches" };
	size_t i;

	(void)state;
	stats_init(&st);
	stats_set_queue(&st, 7, 5, 2);
	stats_batch_done(&st, 4, 1, 10.0);
	stats_retry(&st, 30.0);
	stats_rejected(&st, 3);
	stats_error(&st, "HTTP %d", 503);
	j = stats_json(&st);
	assert_int_equal(json_object_size(j), 15);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_non_null(json_object_get(j, keys[i]));
	assert_int_equal(json_integer_value(json_object_get(j, "queueSize")), 7);
	assert_int_equal(json_integer_value(json_object_get(j, "synced")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "failed")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "retries")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "batches")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "lastError")), "HTTP 503");
	assert_true(json_real_value(json_object_get(j, "avgResponseMs")) == 20.0);
	/* Three requests: one answered with an item refused, a retry, a
	 * rejected batch: none fully succeeded; 4 printers in the first minute. */
	assert_true(json_real_value(json_object_get(j, "successRate")) == 0.0);
	assert_int_equal(json_integer_value(json_object_get(j, "failedRecent")), 3);
	assert_true(json_real_value(json_object_get(j, "processingRate")) == 4.0);
	assert_int_equal(json_integer_value(json_object_get(j, "inFlight")), 5);
	assert_int_equal(json_integer_value(json_object_get(j, "activeBatches")), 2);
	k = json_string_value(json_object_get(j, "lastSuccess"));
	assert_non_null(k);
	assert_int_equal(strlen(k), 20);
	json_decref(j);
	stats_destroy(&st);
}

/* The 5-minute window: slots age out, the rate is over the time covered. */
static void
test_window(void **state)
{
	struct stats_bucket w[STATS_BUCKETS];
	struct stats_window sum;

	(void)state;
	memset(w, 0, sizeof(w));
	stats_window_sum(w, 1000, 990, &sum);
	assert_int_equal(sum.attempts, 0);
	assert_true(sum.minutes == 1.0);		/* at least a minute */
	stats_window_add(w, 1000, 1, 1, 10);
	stats_window_add(w, 1005, 1, 0, 0);		/* same 10 s slot */
	stats_window_add(w, 1200, 2, 2, 20);
	stats_window_sum(w, 1200, 0, &sum);
	assert_int_equal(sum.attempts, 4);
	assert_int_equal(sum.ok, 3);
	assert_int_equal(sum.items, 30);
	assert_true(sum.minutes == 5.0);
	stats_window_sum(w, 1200, 1080, &sum);	/* started two minutes ago */
	assert_true(sum.minutes == 2.0);
	/* 1000's slot is more than 300 s before 1310: gone. */
	stats_window_sum(w, 1310, 0, &sum);
	assert_int_equal(sum.attempts, 2);
	assert_int_equal(sum.items, 20);
	/* A slot reused a window later starts from zero. */
	stats_window_add(w, 1000 + STATS_WINDOW_S, 1, 1, 1);
	stats_window_sum(w, 1000 + STATS_WINDOW_S, 0, &sum);
	assert_int_equal(sum.attempts, 3);
	assert_int_equal(sum.items, 21);
}

static void
test_log_line(void **state)
{
	struct stats st;
	char line[256];

	(void)state;
	stats_init(&st);
	stats_log_line(&st, line, sizeof(line));
	assert_string_equal(line, "[AUTO-SYNC] stats: queue=0 rate=0.0/min success=n/a "
	    "batches=0 retries=0 p95=0ms");
	stats_set_queue(&st, 3, 0, 0);
	stats_batch_done(&st, 6, 0, 12.0);
	stats_retry(&st, 40.0);
	stats_log_line(&st, line, sizeof(line));
	assert_string_equal(line, "[AUTO-SYNC] stats: queue=3 rate=6.0/min success=50% "
	    "batches=1 retries=1 p95=40ms");
	stats_destroy(&st);
}

static void
test_ws_url(void **state)
{
	static const struct {
		const char *url, *host, *path;
		int rc, port, tls;
	} cases[] = {
		{ "http://127.0.0.1:3001", "127.0.0.1", "/ws", 0, 3001, 0 },
		{ "https://pm.example.com/", "pm.example.com", "/ws", 0, 443, 1 },
		{ "http://example.com/printmaster", "example.com", "/printmaster/ws", 0, 80, 0 },
		{ "ftp://example.com", NULL, NULL, -1, 0, 0 },
	};
	char host[64], path[64];
	int port, tls;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ws_client_parse_url(cases[i].url, host, sizeof(host), &port,
		    path, sizeof(path), &tls), cases[i].rc);
		if (cases[i].rc < 0)
			continue;
		assert_string_equal(host, cases[i].host);
		assert_string_equal(path, cases[i].path);
		assert_int_equal(port, cases[i].port);
		assert_int_equal(tls, cases[i].tls);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_times),
		cmocka_unit_test(test_stats_json),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_ws_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
