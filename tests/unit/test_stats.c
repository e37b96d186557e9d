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
		"p95ResponseMs" };
	size_t i;

	(void)state;
	stats_init(&st);
	stats_set_queue(&st, 7, 2);
	stats_batch_done(&st, 4, 1, 10.0);
	stats_retry(&st, 30.0);
	stats_rejected(&st, 3);
	stats_error(&st, "HTTP %d", 503);
	j = stats_json(&st);
	assert_int_equal(json_object_size(j), 10);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_non_null(json_object_get(j, keys[i]));
	assert_int_equal(json_integer_value(json_object_get(j, "queueSize")), 7);
	assert_int_equal(json_integer_value(json_object_get(j, "synced")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "failed")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "retries")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "batches")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "lastError")), "HTTP 503");
	assert_true(json_real_value(json_object_get(j, "avgResponseMs")) == 20.0);
	k = json_string_value(json_object_get(j, "lastSuccess"));
	assert_non_null(k);
	assert_int_equal(strlen(k), 20);
	json_decref(j);
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
		cmocka_unit_test(test_ws_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
