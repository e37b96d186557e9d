/* test_http_limits.c: the pure checks in front of the HTTP side: JSON nesting
 * depth and the acceptor's request-line classification. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/jsonlimit.h"
#include "server/acceptor.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
