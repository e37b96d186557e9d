/*
 * test_escpos.c: DLE EOT status byte interpretation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/escpos.h"

static void
test_online(void **state)
{
	unsigned char b[] = { 0x12, 0x12 };
	struct escpos_status st;

	(void)state;
	assert_int_equal(escpos_parse_status(b, 2, &st), 0);
	assert_string_equal(st.status, "online");
	assert_int_equal(st.nreasons, 0);
	assert_int_equal(escpos_parse_status(b, 1, &st), 0);
	assert_string_equal(st.status, "online");
}

static void
test_offline_and_recovery(void **state)
{
	unsigned char b[] = { 0x12 | 0x08 | 0x20 };
	struct escpos_status st;

	(void)state;
	assert_int_equal(escpos_parse_status(b, 1, &st), 0);
	assert_string_equal(st.status, "offline");
	assert_int_equal(st.nreasons, 2);
	assert_string_equal(st.reasons[0], "offline-report");
	assert_string_equal(st.reasons[1], "paused");
}

static void
test_paper(void **state)
{
	unsigned char out[] = { 0x12 | 0x08, 0x12 | 0x60 };
	unsigned char low[] = { 0x12, 0x12 | 0x0c };
	struct escpos_status st;

	(void)state;
	assert_int_equal(escpos_parse_status(out, 2, &st), 0);
	assert_string_equal(st.status, "error");
	assert_int_equal(st.nreasons, 2);
	assert_string_equal(st.reasons[1], "media-empty");
	assert_int_equal(escpos_parse_status(low, 2, &st), 0);
	assert_string_equal(st.status, "online");
	assert_int_equal(st.nreasons, 1);
	assert_string_equal(st.reasons[0], "media-low");
}

static void
test_not_a_status(void **state)
{
	unsigned char junk[] = { 'H', 0x12 };
	unsigned char bad2[] = { 0x12, 0xff };
	struct escpos_status st;

	(void)state;
	assert_int_equal(escpos_parse_status(junk, 2, &st), -1);
	assert_string_equal(st.status, "unknown");
	assert_int_equal(escpos_parse_status(junk, 0, &st), -1);
	assert_string_equal(st.status, "unknown");
	/* A garbled second byte is ignored; the first still counts. */
	assert_int_equal(escpos_parse_status(bad2, 2, &st), 0);
	assert_string_equal(st.status, "online");
	assert_int_equal(st.nreasons, 0);
	/* Fixed bits: bit 0 set or bit 4 clear is not a reply. */
	junk[0] = 0x13;
	assert_int_equal(escpos_parse_status(junk, 1, &st), -1);
	junk[0] = 0x02;
	assert_int_equal(escpos_parse_status(junk, 1, &st), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_online),
		cmocka_unit_test(test_offline_and_recovery),
		cmocka_unit_test(test_paper),
		cmocka_unit_test(test_not_a_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
