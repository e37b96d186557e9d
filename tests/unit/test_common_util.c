/* test_common_util.c: uuid_new gives distinct, well-formed version 4 UUIDs,
 * uuid_new_time time-ordered version 7 ones;
 * the clock is monotonic and formats UTC ISO 8601. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/printer.h"
#include "common/uuid.h"
#include "common/clock.h"

static void
test_shape(void **state)
{
	char a[UUID_TEXT_LEN + 1], b[UUID_TEXT_LEN + 1], norm[UUID_TEXT_LEN + 1];

	(void)state;
	for (int i = 0; i < 100; i++) {
		uuid_new(a);
		uuid_new(b);
		assert_int_equal(strlen(a), UUID_TEXT_LEN);
		assert_string_not_equal(a, b);
		assert_int_equal(uuid_norm(a, norm, sizeof(norm)), 0);
		assert_string_equal(a, norm);	/* already canonical: lower case */
		assert_int_equal(a[14], '4');	/* version */
		assert_non_null(strchr("89ab", a[19]));	/* RFC 4122 variant */
	}
}

/* Version 7: well-formed, distinct, and ordered by time (ids made 2 ms
 * apart sort in that order, as text and as PostgreSQL's uuid). */
static void
test_time_ordered(void **state)
{
	char a[UUID_TEXT_LEN + 1], b[UUID_TEXT_LEN + 1], norm[UUID_TEXT_LEN + 1];
	struct timespec pause = { 0, 2000000 };
	time_t now = time(NULL);
	unsigned long long ms;

	(void)state;
	for (int i = 0; i < 20; i++) {
		uuid_new_time(a);
		nanosleep(&pause, NULL);
		uuid_new_time(b);
		assert_int_equal(uuid_norm(a, norm, sizeof(norm)), 0);
		assert_string_equal(a, norm);
		assert_int_equal(a[14], '7');
		assert_non_null(strchr("89ab", a[19]));
		assert_true(strcmp(a, b) < 0);
	}
	/* The first 48 bits are the time in ms. */
	ms = strtoull((char[]){ a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[9],
	    a[10], a[11], a[12], '\0' }, NULL, 16);
	assert_true(ms / 1000 >= (unsigned long long)now - 5 &&
	    ms / 1000 <= (unsigned long long)now + 5);
}

/* From a pool: well-formed (dashes where they go), version 7, and distinct
 * across several refills of the pool (its 64 ids each). */
static void
test_time_pooled(void **state)
{
	static char ids[300][UUID_TEXT_LEN + 1];
	char norm[UUID_TEXT_LEN + 1];
	struct uuid_pool pool = { .left = 0 };

	(void)state;
	for (int i = 0; i < 300; i++) {
		uuid_new_time_pooled(&pool, ids[i]);
		assert_int_equal(strlen(ids[i]), UUID_TEXT_LEN);
		assert_int_equal(uuid_norm(ids[i], norm, sizeof(norm)), 0);
		assert_string_equal(ids[i], norm);
		assert_true(ids[i][8] == '-' && ids[i][13] == '-' && ids[i][18] == '-' &&
		    ids[i][23] == '-');
		assert_int_equal(ids[i][14], '7');
		assert_non_null(strchr("89ab", ids[i][19]));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
}

static void
test_clock(void **state)
{
	char buf[CLOCK_ISO_LEN], ms[CLOCK_ISO_MS_LEN];
	long long a = clock_ms(), b;
	double p = clock_ms_precise();

	(void)state;
	clock_iso8601(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	clock_iso8601(1795867200, buf);
	assert_string_equal(buf, "2026-11-28T12:00:00Z");
	clock_iso8601_ms(1795867200, 7, ms);
	assert_string_equal(ms, "2026-11-28T12:00:00.007Z");
	clock_iso8601_ms(1795867200, 999, ms);
	assert_string_equal(ms, "2026-11-28T12:00:00.999Z");
	clock_iso8601_ms(0, 0, ms);
	assert_string_equal(ms, "1970-01-01T00:00:00.000Z");
	b = clock_ms();
	assert_true(b >= a);
	assert_true(clock_ms_precise() >= p);
	assert_true(p / 1e3 - (double)a / 1e3 < 1.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_time_ordered),
		cmocka_unit_test(test_time_pooled),
		cmocka_unit_test(test_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
