/*
 * test_gateway.c: the gateway's pure parts: the Origin rule, room names, the
 * agent stats shape, the per-instance presence counts, and the envelopes made
 * from event rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <libwebsockets.h>

#include "server/gateway.h"
#include "server/gateway_feed.h"
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

/* A message's text as JSON (asserted to parse). */
static json_t *
msg_json(const struct gw_msg *m)
{
	json_error_t err;
	json_t *j = json_loadb((const char *)m->data + LWS_PRE, m->len, 0, &err);

	if (!j)
		fail_msg("not JSON (%s): %.*s", err.text, (int)m->len,
		    (const char *)m->data + LWS_PRE);
	return j;
}

static void
test_feed_envelopes(void **state)
{
	const char *co = "8ed16608-4fe5-4435-82f9-aaf637a9bc76";
	const char *br = "e2c5d2c6-6867-4e64-ae6d-0cbd14ccc58f";
	const char *payload = "{\"printer\": {\"name\": \"Kitchen \\\"1\\\"\", \"port\": 9100}}";
	char longtype[1200];
	struct store_event rows[3] = {
		{ .id = 42, .company_id = co, .branch_id = br, .type = "printer:updated",
		  .ts_us = 1764471845007999LL, .payload = payload, .payload_len = strlen(payload) },
		/* A company-level event, a type that needs escaping, a time before 1970. */
		{ .id = 43, .company_id = co, .branch_id = "", .type = "odd\"type\\",
		  .ts_us = -1, .payload = "{}", .payload_len = 2 },
		/* A type longer than the head's usual room. */
		{ .id = 44, .company_id = co, .branch_id = br, .type = longtype,
		  .ts_us = 0, .payload = "{\"a\":1}", .payload_len = 7 },
	};
	struct gw_event *ev;
	json_t *j;

	(void)state;
	memset(longtype, 'x', sizeof(longtype) - 1);
	longtype[sizeof(longtype) - 1] = '\0';
	ev = gw_feed_events_from(rows, 3);
	assert_non_null(ev);
	assert_int_equal(ev[0].id, 42);
	assert_string_equal(ev[0].company_id, co);
	assert_string_equal(ev[0].branch_id, br);
	assert_non_null(ev[0].as_branch);
	assert_int_equal(ev[0].as_branch->is_event, 1);
	j = msg_json(ev[0].as_branch);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "event");
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 42);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "printer:updated");
	assert_string_equal(json_string_value(json_object_get(j, "room")),
	    "branch:e2c5d2c6-6867-4e64-ae6d-0cbd14ccc58f");
	assert_string_equal(json_string_value(json_object_get(j, "companyId")), co);
	assert_string_equal(json_string_value(json_object_get(j, "branchId")), br);
	assert_string_equal(json_string_value(json_object_get(j, "ts")), "2025-11-30T03:04:05.007Z");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j,
	    "data"), "printer"), "name")), "Kitchen \"1\"");
	assert_int_equal(json_object_size(j), 8);
	json_decref(j);
	j = msg_json(ev[0].as_company);
	assert_string_equal(json_string_value(json_object_get(j, "room")), "company:" "8ed16608-4fe5-4435-82f9-aaf637a9bc76");
	assert_string_equal(json_string_value(json_object_get(j, "branchId")), br);
	json_decref(j);

	assert_null(ev[1].as_branch);
	j = msg_json(ev[1].as_company);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "odd\"type\\");
	assert_true(json_is_null(json_object_get(j, "branchId")));
	assert_string_equal(json_string_value(json_object_get(j, "ts")), "1969-12-31T23:59:59.999Z");
	assert_int_equal(json_object_size(json_object_get(j, "data")), 0);
	json_decref(j);

	j = msg_json(ev[2].as_branch);
	assert_string_equal(json_string_value(json_object_get(j, "event")), longtype);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "data"), "a")), 1);
	json_decref(j);
	gw_events_free(ev, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_rooms),
		cmocka_unit_test(test_stats_shape),
		cmocka_unit_test(test_presence_counts),
		cmocka_unit_test(test_feed_envelopes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
