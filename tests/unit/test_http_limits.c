/* test_http_limits.c: the pure checks in front of the HTTP side: JSON nesting
 * depth and the acceptor's request-line classification; and work a handler
 * defers to after its reply (http_defer), run through a captured request. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/jsonlimit.h"
#include "server/acceptor.h"
#include "server/http.h"

static void
test_depth(void **state)
{
	static const char s1[] = "{\"a\":[1,{\"b\":2}]}";
	static const char s2[] = "{\"a\":\"[[[[[[[[\"}";
	static const char s3[] = "{\"a\":\"\\\"[[[\"}";
	char deep[300];

	(void)state;
	assert_int_equal(jsonlimit_depth(s1, strlen(s1), 32), 3);
	assert_int_equal(jsonlimit_depth(s2, strlen(s2), 32), 1);
	assert_int_equal(jsonlimit_depth(s3, strlen(s3), 32), 1);
	memset(deep, '[', sizeof(deep));
	assert_int_equal(jsonlimit_depth(deep, sizeof(deep), 32), -1);
	assert_int_equal(jsonlimit_depth(deep, 32, 32), 32);
	assert_int_equal(jsonlimit_depth("", 0, 32), 0);
}

static void
test_classify(void **state)
{
	(void)state;
	assert_int_equal(acceptor_classify("GET /ws HTTP/1.1", 16), 1);
	assert_int_equal(acceptor_classify("GET /ws?token=x", 15), 1);
	assert_int_equal(acceptor_classify("GET /ws/", 8), 1);
	assert_int_equal(acceptor_classify("GET /wsx", 8), 0);
	assert_int_equal(acceptor_classify("GET /w", 6), -1);
	assert_int_equal(acceptor_classify("GET /ws", 7), -1);
	assert_int_equal(acceptor_classify("G", 1), -1);
	assert_int_equal(acceptor_classify("POST /ws", 8), 0);
	assert_int_equal(acceptor_classify("GET /healthz", 12), 0);
	assert_int_equal(acceptor_classify("\x16\x03\x01", 3), 0);
}

static int deferred_log[8], ndeferred, replied_before;

static void
deferred(void *arg)
{
	deferred_log[ndeferred++] = *(int *)arg;
}

/* Defers one more than fits: the extra runs at once, the others after the
 * reply, in order. */
static int
deferring_handler(struct http_req *r)
{
	static int ids[HTTP_MAX_DEFER + 1];
	int rc;

	for (int i = 0; i <= HTTP_MAX_DEFER; i++) {
		ids[i] = i + 1;
		http_defer(r, deferred, &ids[i]);
	}
	assert_int_equal(ndeferred, 1);
	assert_int_equal(deferred_log[0], HTTP_MAX_DEFER + 1);
	rc = http_reply_data(r, 200, "text/plain", "ok", 2);
	replied_before = ndeferred;
	return rc;
}

static void
test_defer(void **state)
{
	struct auth a;
	struct http_capture cap = { 0 };

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(http_run_captured(deferring_handler, "POST", "/x", "{}", 2, &a, &cap), 0);
	assert_int_equal(cap.status, 200);
	assert_int_equal(replied_before, 1);
	assert_int_equal(ndeferred, HTTP_MAX_DEFER + 1);
	for (int i = 1; i <= HTTP_MAX_DEFER; i++)
		assert_int_equal(deferred_log[i], i);
	free(cap.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_defer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
