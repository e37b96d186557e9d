/*
 * test_gateway.c: the gateway's pure parts: the Origin rule, room names, the
 * agent stats shape, and the per-instance presence counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "server/gateway.h"
#include "server/presence.h"

static void
test_origin(void **state)
{
	(void)state;
	assert_int_equal(gateway_origin_allowed("http://127.0.0.1:3001", "127.0.0.1:3001", ""), 1);
	assert_int_equal(gateway_origin_allowed("https://pm.example", "pm.example", ""), 1);
	assert_int_equal(gateway_origin_allowed("HTTP://PM.example", "pm.example", NULL), 1);
	assert_int_equal(gateway_origin_allowed("http://evil.example", "pm.example", ""), 0);
	/* A prefix or suffix of the own origin is not the own origin. */
	assert_int_equal(gateway_origin_allowed("http://pm.example.evil", "pm.example", ""), 0);
	assert_int_equal(gateway_origin_allowed("http://pm.exampl", "pm.example", ""), 0);
	assert_int_equal(gateway_origin_allowed("http://pm.example", "", ""), 0);
	assert_int_equal(gateway_origin_allowed("http://a.example", "pm",
	    " http://b.example , http://a.example"), 1);
	assert_int_equal(gateway_origin_allowed("http://b.example", "pm",
	    "http://b.example,http://a.example"), 1);
	assert_int_equal(gateway_origin_allowed("http://a.exampl", "pm", "http://a.example"), 0);
	assert_int_equal(gateway_origin_allowed("http://a.example", "pm", ",,"), 0);
	assert_int_equal(gateway_origin_allowed("null", "pm", "http://a.example"), 0);
}

static void
test_rooms(void **state)
{
	char id[UUID_TEXT_LEN + 1];

	(void)state;
	assert_int_equal(gateway_room_parse("company:0f78cb04-e211-42bf-a211-14c3c7fd0228",
	    id), GW_ROOM_COMPANY);
	assert_string_equal(id, "0f78cb04-e211-42bf-a211-14c3c7fd0228");
	assert_int_equal(gateway_room_parse("branch:0F78CB04-E211-42BF-A211-14C3C7FD0228",
	    id), GW_ROOM_BRANCH);
	assert_string_equal(id, "0f78cb04-e211-42bf-a211-14c3c7fd0228");
	assert_int_equal(gateway_room_parse("branch:", id), -1);
	assert_int_equal(gateway_room_parse("branch:not-a-uuid", id), -1);
	assert_int_equal(gateway_room_parse("printers", id), -1);
	assert_int_equal(gateway_room_parse("agent:0f78cb04-e211-42bf-a211-14c3c7fd0228", id), -1);
	assert_int_equal(gateway_room_parse(
	    "company:0f78cb04-e211-42bf-a211-14c3c7fd0228-0f78cb04-e211-42bf", id), -1);
}

static void
test_stats_shape(void **state)
{
	json_t *j;
	char big[PRESENCE_STATS_MAX_BYTES + 1];

	(void)state;
	j = json_pack("{s:i,s:i,s:n,s:s,s:f}", "queueSize", 3, "synced", 10, "lastSuccess",
	    "lastError", "timeout", "avgResponseMs", 12.5);
	assert_int_equal(presence_stats_valid(j), 1);
	json_decref(j);
	j = json_pack("{s:{s:i}}", "nested", "a", 1);
	assert_int_equal(presence_stats_valid(j), 0);
	json_decref(j);
	j = json_pack("[i]", 1);
	assert_int_equal(presence_stats_valid(j), 0);
	json_decref(j);
	assert_int_equal(presence_stats_valid(NULL), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	j = json_pack("{s:s}", "lastError", big);
	assert_int_equal(presence_stats_valid(j), 0);
	json_decref(j);
}

static void
test_presence_counts(void **state)
{
	const char *a = "0f78cb04-e211-42bf-a211-14c3c7fd0228";
	const char *b = "1f78cb04-e211-42bf-a211-14c3c7fd0228";

	(void)state;
	assert_int_equal(presence_count(), 0);
	assert_int_equal(presence_add(a), 1);
	assert_int_equal(presence_add(a), 2);
	assert_int_equal(presence_add(b), 1);
	assert_int_equal(presence_count(), 2);
	assert_int_equal(presence_remove(a), 1);
	assert_int_equal(presence_remove(a), 0);
	assert_int_equal(presence_count(), 1);
	/* Removing what is not there stays at zero. */
	assert_int_equal(presence_remove(a), 0);
	assert_int_equal(presence_remove(b), 0);
	assert_int_equal(presence_count(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_rooms),
		cmocka_unit_test(test_stats_shape),
		cmocka_unit_test(test_presence_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
