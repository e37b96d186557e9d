/*
 * test_backoff.c: the retry schedule: exponential ceilings, the cap, no
 * overflow, the full-jitter range, and Retry-After parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#include "agent/backoff.h"

static void
test_ceiling_defaults(void **state)
{
	struct backoff b = { 1000, 2, 30000 };

	(void)state;
	assert_int_equal(backoff_ceiling_ms(&b, 0), 1000);
	assert_int_equal(backoff_ceiling_ms(&b, 1), 2000);
	assert_int_equal(backoff_ceiling_ms(&b, 2), 4000);
	assert_int_equal(backoff_ceiling_ms(&b, 3), 8000);
	assert_int_equal(backoff_ceiling_ms(&b, 4), 16000);
	assert_int_equal(backoff_ceiling_ms(&b, 5), 30000);	/* 32000 capped */
	assert_int_equal(backoff_ceiling_ms(&b, 6), 30000);
	assert_int_equal(backoff_ceiling_ms(&b, -3), 1000);
}

static void
test_ceiling_no_overflow(void **state)
{
	struct backoff b = { 3600000, 100, 86400000 };
	struct backoff one = { 500, 1, 30000 };
	struct backoff small_cap = { 5000, 2, 1000 };

	(void)state;
	assert_int_equal(backoff_ceiling_ms(&b, 1000000), 86400000);
	assert_int_equal(backoff_ceiling_ms(&b, 1), 86400000);
	assert_int_equal(backoff_ceiling_ms(&one, 50), 500);	/* multiplier 1: constant */
	assert_int_equal(backoff_ceiling_ms(&small_cap, 0), 1000);	/* base above cap */
}

static void
test_jitter_range(void **state)
{
	struct backoff b = { 100, 2, 1000 };
	long d, lo = 1000000, hi = -1;
	int attempt, i;

	(void)state;
	for (attempt = 0; attempt < 8; attempt++) {
		long ceil = backoff_ceiling_ms(&b, attempt);

		for (i = 0; i < 2000; i++) {
			d = backoff_delay_ms(&b, attempt);
			assert_true(d >= 0);
			assert_true(d <= ceil);
			if (attempt == 7) {
				lo = d < lo ? d : lo;
				hi = d > hi ? d : hi;
			}
		}
	}
	/* Full jitter spreads over the whole range, not a band near the top. */
	assert_true(lo < 100);
	assert_true(hi > 900);
}

static void
test_retry_after(void **state)
{
	time_t now = 1700000000;	/* 2023-11-14T22:13:20Z */

	(void)state;
	assert_int_equal(backoff_retry_after_ms("2", now), 2000);
	assert_int_equal(backoff_retry_after_ms(" 0 ", now), 0);
	assert_int_equal(backoff_retry_after_ms("99999999999", now), BACKOFF_RETRY_AFTER_MAX_MS);
	assert_int_equal(backoff_retry_after_ms("Tue, 14 Nov 2023 22:13:25 GMT", now), 5000);
	assert_int_equal(backoff_retry_after_ms("Tue, 14 Nov 2023 22:00:00 GMT", now), 0);
	assert_int_equal(backoff_retry_after_ms("", now), -1);
	assert_int_equal(backoff_retry_after_ms(NULL, now), -1);
	assert_int_equal(backoff_retry_after_ms("5s", now), -1);
	assert_int_equal(backoff_retry_after_ms("soon", now), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ceiling_defaults),
		cmocka_unit_test(test_ceiling_no_overflow),
		cmocka_unit_test(test_jitter_range),
		cmocka_unit_test(test_retry_after),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
