/*
 * test_ieee1284.c: IEEE 1284 device id parsing, including the malformed ids
 * real printers and drivers produce.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/ieee1284.h"

static void
test_short_keys(void **state)
{
	const char *s = "MFG:EPSON;CMD:ESC/POS,STAR;MDL:TM-T20II;SN:X5F1234;DES:Receipt printer;";
	struct ieee1284_id id;

	(void)state;
	assert_int_equal(ieee1284_parse(s, strlen(s), &id), 0);
	assert_string_equal(id.manufacturer, "EPSON");
	assert_string_equal(id.model, "TM-T20II");
	assert_string_equal(id.command_set, "ESC/POS,STAR");
	assert_string_equal(id.serial, "X5F1234");
	assert_string_equal(id.description, "Receipt printer");
}

static void
test_long_keys_case_and_spaces(void **state)
{
	const char *s = "manufacturer: Star Micronics ; Model:TSP100 ;COMMAND SET:STAR;"
	    "SERIALNUMBER:ABC-9;description:Kitchen";
	struct ieee1284_id id;

	(void)state;
	assert_int_equal(ieee1284_parse(s, strlen(s), &id), 0);
	assert_string_equal(id.manufacturer, "Star Micronics");
	assert_string_equal(id.model, "TSP100");
	assert_string_equal(id.command_set, "STAR");
	assert_string_equal(id.serial, "ABC-9");
	assert_string_equal(id.description, "Kitchen");
}

static void
test_first_value_wins_and_junk_skipped(void **state)
{
	const char *s = ";;no colon here;MFG:HP;MANUFACTURER:Other;:empty key;MDL:LaserJet";
	struct ieee1284_id id;

	(void)state;
	assert_int_equal(ieee1284_parse(s, strlen(s), &id), 0);
	assert_string_equal(id.manufacturer, "HP");
	assert_string_equal(id.model, "LaserJet");
	assert_string_equal(id.serial, "");
}

static void
test_length_prefix(void **state)
{
	const char s[] = "\x00\x15MFG:Zebra;MDL:ZD420;";
	struct ieee1284_id id;

	(void)state;
	assert_int_equal(ieee1284_parse(s, sizeof(s) - 1, &id), 0);
	assert_string_equal(id.manufacturer, "Zebra");
	assert_string_equal(id.model, "ZD420");
}

static void
test_malformed(void **state)
{
	struct ieee1284_id id;
	const char *junk = "garbage without fields";
	const char ctl[] = "MFG:Ac\x01me\xff;MDL:\x1b[31mX1;";

	(void)state;
	assert_int_equal(ieee1284_parse(junk, strlen(junk), &id), -1);
	assert_int_equal(ieee1284_parse("", 0, &id), -1);
	assert_int_equal(ieee1284_parse("CMD:ESC/POS;SN:1;", 17, &id), -1);
	/* Control characters are dropped and bytes that are not UTF-8 become '?'. */
	assert_int_equal(ieee1284_parse(ctl, sizeof(ctl) - 1, &id), 0);
	assert_string_equal(id.manufacturer, "Acme?");
	assert_string_equal(id.model, "[31mX1");
}

static void
test_bounds(void **state)
{
	static char big[4096];
	struct ieee1284_id id;

	(void)state;
	memset(big, 'A', sizeof(big));
	memcpy(big, "MFG:", 4);
	/* One value longer than the buffer is truncated, never overflows. */
	assert_int_equal(ieee1284_parse(big, sizeof(big), &id), 0);
	assert_int_equal(strlen(id.manufacturer), IEEE1284_VALUE_MAX - 1);
	/* Only IEEE1284_MAX_LEN bytes are looked at: a field past it is unseen. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "MFG:A;", 6);
	memcpy(big + 2000, ";MDL:Hidden;", 12);
	assert_int_equal(ieee1284_parse(big, sizeof(big), &id), 0);
	assert_string_equal(id.model, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_keys),
		cmocka_unit_test(test_long_keys_case_and_spaces),
		cmocka_unit_test(test_first_value_wins_and_junk_skipped),
		cmocka_unit_test(test_length_prefix),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
