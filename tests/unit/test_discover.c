/*
 * test_discover.c: the merge of raw sightings into one entry per device:
 * which fields and keys the merged printer keeps. Which sightings are one
 * device is the identity rule's, tested by test_identity.c's table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "agent/discover.h"
#include "agent/discover_source.h"
#include "common/printer.h"

#define U1 "396e5045-4262-34f4-6b20-e44441759748"
#define U2 "11111111-2222-3333-4444-555555555555"

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int
has_source(const json_t *p, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(p, "sources"), i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static void
test_one_printer_three_sources(void **state)
{
	json_t *raw = json_array(), *out, *p;

	(void)state;
	/* Given in the worst order: cups (no uuid, only the instance name), then
	 * dnssd, then ipp. */
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:s,s:[s],s:[s]}",
	    "name", "PM_Test", "connectionType", "cups", "protocol", "cups",
	    "deviceKey", "cups:host:PM_Test", "_aliases", "svc:pm test", "sources", "cups"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:[s,s,s],s:[s]}",
	    "name", "PM Test", "connectionType", "network", "protocol", "ipp",
	    "address", "192.0.2.2", "port", 8631, "uuid", U1,
	    "_aliases", "192.0.2.2:8631", "127.0.0.1:8631", "svc:pm test", "sources", "dnssd"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:[s],s:[s]}",
	    "name", "PM Test (IPP)", "connectionType", "network", "protocol", "ipp",
	    "address", "127.0.0.1", "port", 8631, "uuid", U1, "status", "online",
	    "makeAndModel", "Example Printer", "stateReasons", "media-low",
	    "sources", "ipp"));
	out = discover_merge(raw);
	assert_int_equal(json_array_size(out), 1);
	p = json_array_get(out, 0);
	assert_string_equal(str(p, "deviceKey"), "uuid:" U1);
	assert_string_equal(str(p, "name"), "PM Test (IPP)");	/* ipp gives first */
	assert_string_equal(str(p, "address"), "127.0.0.1");
	assert_true(has_source(p, "ipp") && has_source(p, "dnssd") && has_source(p, "cups"));
	assert_int_equal(json_array_size(json_object_get(p, "sources")), 3);
	assert_null(json_object_get(p, "_aliases"));	/* internal, never output */
	json_decref(out);
	json_decref(raw);
}

static void
test_netscan_ports_and_ipp(void **state)
{
	json_t *raw = json_array(), *out, *p;

	(void)state;
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:i,s:[s,s,s],s:[s]}",
	    "name", "Network printer 10.0.0.5:9100", "protocol", "raw", "address", "10.0.0.5",
	    "port", 9100, "_aliases", "10.0.0.5:9100", "10.0.0.5:631", "10.0.0.5:515",
	    "sources", "netscan"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:i,s:[s],s:[s]}",
	    "name", "Network printer 10.0.0.5:9101", "protocol", "raw", "address", "10.0.0.5",
	    "port", 9101, "_aliases", "10.0.0.5:9101", "sources", "netscan"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:i,s:s,s:[s],s:[s]}",
	    "name", "Kitchen", "protocol", "ipp", "address", "10.0.0.5", "port", 631,
	    "uuid", U2, "_aliases", "10.0.0.5:631", "sources", "ipp"));
	out = discover_merge(raw);
	assert_int_equal(json_array_size(out), 2);
	p = json_array_get(out, 0);
	assert_string_equal(str(p, "deviceKey"), "uuid:" U2);
	assert_true(has_source(p, "ipp") && has_source(p, "netscan"));
	p = json_array_get(out, 1);
	assert_string_equal(str(p, "deviceKey"), "net:10.0.0.5:9101");
	assert_false(has_source(p, "ipp"));
	json_decref(out);
	json_decref(raw);
}

static void
test_local_keys(void **state)
{
	json_t *raw = json_array(), *out;

	(void)state;
	/* A queue alone keeps its cups: key; one on a scanned endpoint takes net:. */
	json_array_append_new(raw, json_pack("{s:s,s:s,s:[s]}", "name", "Kitchen",
	    "deviceKey", "cups:till1:Kitchen", "sources", "cups"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:i,s:[s],s:[s]}", "name", "Bar",
	    "deviceKey", "cups:till1:Bar", "address", "10.0.0.7", "port", 9100,
	    "_aliases", "10.0.0.7:9100", "sources", "cups"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:i,s:[s],s:[s]}",
	    "name", "Network printer 10.0.0.7:9100", "address", "10.0.0.7", "port", 9100,
	    "_aliases", "10.0.0.7:9100", "sources", "netscan"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:[s]}", "name", "Star TSP100",
	    "deviceKey", "usb:till1:1-2:1.0", "sources", "usb"));
	out = discover_merge(raw);
	assert_int_equal(json_array_size(out), 3);
	assert_string_equal(str(json_array_get(out, 0), "deviceKey"), "cups:till1:Kitchen");
	assert_string_equal(str(json_array_get(out, 1), "deviceKey"), "net:10.0.0.7:9100");
	assert_string_equal(str(json_array_get(out, 1), "name"), "Bar");
	assert_string_equal(str(json_array_get(out, 2), "deviceKey"), "usb:till1:1-2:1.0");
	json_decref(out);
	json_decref(raw);
}

static void
test_fields_and_invalid(void **state)
{
	json_t *raw = json_array(), *out, *p;

	(void)state;
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:[s],s:{s:i},s:[s]}", "name", "P",
	    "uuid", U1, "status", "unknown", "stateReasons", "toner-low",
	    "capabilities", "a", 1, "sources", "ipp"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:s,s:s,s:[s,s],s:{s:i,s:i},s:[s]}",
	    "name", "Q", "uuid", U1, "status", "offline", "location", "Bar",
	    "stateReasons", "toner-low", "offline-report", "capabilities", "a", 2, "b", 3,
	    "sources", "cups"));
	json_array_append_new(raw, json_pack("{s:i,s:[s]}", "port", 9100, "sources", "netscan"));
	json_array_append_new(raw, json_pack("{s:s,s:s,s:[s]}", "name", "bad", "uuid", "nope",
	    "sources", "dnssd"));
	out = discover_merge(raw);
	assert_int_equal(json_array_size(out), 1);
	p = json_array_get(out, 0);
	assert_string_equal(str(p, "name"), "P");
	assert_string_equal(str(p, "status"), "offline");	/* unknown gives way */
	assert_string_equal(str(p, "location"), "Bar");		/* empty fields filled */
	assert_int_equal(json_array_size(json_object_get(p, "stateReasons")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p,
	    "capabilities"), "a")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(p,
	    "capabilities"), "b")), 3);
	/* The caller's items are left as they were. */
	assert_null(json_object_get(json_object_get(json_array_get(raw, 0), "capabilities"),
	    "b"));
	json_decref(out);
	json_decref(raw);
	out = discover_merge(json_array_get(raw = json_array(), 0));
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	json_decref(raw);
}

static void
test_sources_and_clean_text(void **state)
{
	unsigned bits;
	char err[128], buf[8];

	(void)state;
	assert_int_equal(discover_parse_sources("cups, ipp,usb", &bits, err, sizeof(err)), 0);
	assert_int_equal(bits, DISCOVER_SRC_CUPS | DISCOVER_SRC_IPP | DISCOVER_SRC_USB);
	assert_int_equal(discover_parse_sources("", &bits, err, sizeof(err)), 0);
	assert_int_equal(bits, 0);
	assert_int_equal(discover_parse_sources("cups,snmp", &bits, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "snmp"));
	/* Cut on a character boundary, never inside "é". */
	assert_int_equal(discover_clean_text(" abcd\xc3\xa9 ", 9, buf, 6), 4);
	assert_string_equal(buf, "abcd");
	assert_int_equal(discover_clean_text("ab\xc3\xa9", 4, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "ab\xc3\xa9");
	assert_int_equal(discover_clean_text("\xe0\x80\x80x", 4, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "???x");	/* overlong form */
}

static void
test_cups_reasons(void **state)
{
	json_t *r;
	char many[40 * 3 + 1] = "";

	(void)state;
	r = discover_cups_reasons(" media-low-warning ,,toner-low-report,none, \x01x");
	assert_int_equal(json_array_size(r), 3);
	assert_string_equal(json_string_value(json_array_get(r, 0)), "media-low-warning");
	assert_string_equal(json_string_value(json_array_get(r, 1)), "toner-low-report");
	assert_string_equal(json_string_value(json_array_get(r, 2)), "x");
	json_decref(r);
	r = discover_cups_reasons("");
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	/* At most PRINTER_REASONS_MAX, however many the queue lists. */
	for (int i = 0; i < 40; i++)
		strcat(many, "a,");
	r = discover_cups_reasons(many);
	assert_int_equal(json_array_size(r), PRINTER_REASONS_MAX);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_printer_three_sources),
		cmocka_unit_test(test_netscan_ports_and_ipp),
		cmocka_unit_test(test_local_keys),
		cmocka_unit_test(test_fields_and_invalid),
		cmocka_unit_test(test_sources_and_clean_text),
		cmocka_unit_test(test_cups_reasons),
	};

	log_init("test_discover", "error", "text");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
