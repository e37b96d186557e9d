/*
 * test_ratelimit.c: the login limiter allows `limit` attempts per window per
 * key, says how long to wait, forgets after the window, gives refunds back,
 * and stays within its table when more keys arrive than it has slots.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <sodium.h>

#include "server/ratelimit.h"

static void
test_limit_and_window(void **state)
{
	struct ratelimit *rl = ratelimit_new(16, 10, 60);

	(void)state;
	assert_non_null(rl);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ratelimit_take(rl, "ip:127.0.0.1", 100), 0);
	assert_int_equal(ratelimit_take(rl, "ip:127.0.0.1", 100), 60);
	assert_int_equal(ratelimit_take(rl, "ip:127.0.0.1", 130), 30);
	assert_int_equal(ratelimit_take(rl, "ip:127.0.0.1", 159), 1);
	/* Another key is counted on its own. */
	assert_int_equal(ratelimit_take(rl, "ip:127.0.0.2", 130), 0);
	/* A new window. */
	assert_int_equal(ratelimit_take(rl, "ip:127.0.0.1", 160), 0);
	ratelimit_free(rl);
}

static void
test_refund(void **state)
{
	struct ratelimit *rl = ratelimit_new(4, 2, 60);

	(void)state;
	assert_int_equal(ratelimit_take(rl, "email:a@b", 1), 0);
	assert_int_equal(ratelimit_take(rl, "email:a@b", 1), 0);
	assert_true(ratelimit_take(rl, "email:a@b", 1) > 0);
	ratelimit_refund(rl, "email:a@b", 2);
	assert_int_equal(ratelimit_take(rl, "email:a@b", 2), 0);
	/* Refunding an unknown key does nothing. */
	ratelimit_refund(rl, "email:nobody", 2);
	ratelimit_free(rl);
}

static void
test_bounded_table(void **state)
{
	struct ratelimit *rl = ratelimit_new(8, 1, 1000);
	char key[32];

	(void)state;
	assert_int_equal(ratelimit_take(rl, "victim", 1), 0);
	assert_true(ratelimit_take(rl, "victim", 1) > 0);
	/* Many keys later the oldest entry was recycled; the table did not grow. */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(ratelimit_take(rl, key, 2 + i), 0);
	}
	assert_int_equal(ratelimit_take(rl, "victim", 200), 0);
	assert_null(ratelimit_new(0, 1, 1));
	ratelimit_free(NULL);
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_window),
		cmocka_unit_test(test_refund),
		cmocka_unit_test(test_bounded_table),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
