/* test_printer.c: PrinterData validation and the identity helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/printer.h"

static json_t *
norm(const char *js, json_t **errs)
{
	json_t *in = json_loads(js, 0, NULL), *out;

	assert_non_null(in);
	out = printer_normalize(in, errs);
	json_decref(in);
	return out;
}

static void
test_minimal(void **state)
{
	json_t *errs, *p = norm("{\"name\":\"  Kitchen  Printer \"}", &errs);

	(void)state;
	assert_non_null(p);
	assert_null(errs);
	assert_string_equal(json_string_value(json_object_get(p, "name")), "Kitchen  Printer");
	assert_string_equal(json_string_value(json_object_get(p, "status")), "online");
	assert_string_equal(json_string_value(json_object_get(p, "deviceKey")),
	    "name:kitchen printer");
	json_decref(p);
}

static void
test_canonical_forms(void **state)
{
	json_t *errs, *p = norm("{\"name\":\"a\",\"macAddress\":\"00-1A-2b-3C-4d-5E\","
	    "\"uuid\":\"URN:UUID:6BA7B810-9DAD-11D1-80B4-00C04FD430C8\",\"unknown\":1,"
	    "\"uri\":\"\",\"sources\":[\"ipp\",\"ipp\",\"dnssd\"]}", &errs);

	(void)state;
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "macAddress")),
	    "00:1a:2b:3c:4d:5e");
	assert_string_equal(json_string_value(json_object_get(p, "uuid")),
	    "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
	assert_string_equal(json_string_value(json_object_get(p, "deviceKey")),
	    "uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8");
	assert_null(json_object_get(p, "unknown"));
	assert_null(json_object_get(p, "uri"));
	assert_int_equal(json_array_size(json_object_get(p, "sources")), 2);
	json_decref(p);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *js, *field;
	} bad[] = {
		{ "{}", "name" },
		{ "{\"name\":\"\"}", "name" },
		{ "{\"name\":5}", "name" },
		{ "{\"name\":\"a\\u0001\"}", "name" },
		{ "{\"name\":\"a\",\"port\":0}", "port" },
		{ "{\"name\":\"a\",\"port\":65536}", "port" },
		{ "{\"name\":\"a\",\"port\":\"1\"}", "port" },
		{ "{\"name\":\"a\",\"protocol\":\"smb\"}", "protocol" },
		{ "{\"name\":\"a\",\"macAddress\":\"00:11:22:33:44\"}", "macAddress" },
		{ "{\"name\":\"a\",\"macAddress\":\"00:11:22:33:44:55:66\"}", "macAddress" },
		{ "{\"name\":\"a\",\"uuid\":\"6ba7b810-9dad-11d1-80b4-00c04fd430cZ\"}", "uuid" },
		{ "{\"name\":\"a\",\"capabilities\":\"x\"}", "capabilities" },
		{ "{\"name\":\"a\",\"stateReasons\":\"x\"}", "stateReasons" },
		{ "{\"name\":\"a\",\"deviceKey\":\"nocolon\"}", "deviceKey" },
		{ "[]", "item" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *errs = NULL, *p = norm(bad[i].js, &errs);

		assert_null(p);
		assert_non_null(errs);
		if (!json_object_get(errs, bad[i].field))
			fail_msg("%s: no error on %s", bad[i].js, bad[i].field);
		json_decref(errs);
	}
}

static void
test_name_length_counts_characters(void **state)
{
	char js[1200];
	json_t *errs, *p;
	size_t o;

	(void)state;
	/* 200 two-byte characters are fine, 201 are not. */
	o = (size_t)snprintf(js, sizeof(js), "{\"name\":\"");
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(js + o, sizeof(js) - o, "\xc3\xa9");
	snprintf(js + o, sizeof(js) - o, "\"}");
	p = norm(js, &errs);
	assert_non_null(p);
	json_decref(p);
	js[o] = '\0';
	snprintf(js + o, sizeof(js) - o, "\xc3\xa9\"}");
	p = norm(js, &errs);
	assert_null(p);
	json_decref(errs);
	assert_int_equal(printer_utf8_len("a\xc3\xa9\xe2\x82\xac"), 3);
}

static void
test_norm_name(void **state)
{
	char out[64];

	(void)state;
	printer_norm_name("  Front \t  DESK\n", out, sizeof(out));
	assert_string_equal(out, "front desk");
	printer_norm_name("", out, sizeof(out));
	assert_string_equal(out, "");
	printer_norm_name("abcdefgh", out, 4);
	assert_string_equal(out, "abc");
	/* Out of room inside a code point: stop before it, never after half. */
	printer_norm_name("ab\xe2\x82\xac", out, 5);
	assert_string_equal(out, "ab");
	printer_norm_name("a \xc3\xa9", out, 4);
	assert_string_equal(out, "a");	/* nor with a dangling space */
	printer_norm_name("a \xc3\xa9", out, 5);
	assert_string_equal(out, "a \xc3\xa9");
}

/* A 200-character name of two-byte characters is 400 bytes: its name key must
 * hold all of it (valid UTF-8, and unlike a name sharing its first 255 bytes). */
static void
test_long_name_key(void **state)
{
	char js[1024], want[1024];
	json_t *errs, *p, *q;
	size_t o;

	(void)state;
	o = (size_t)snprintf(js, sizeof(js), "{\"name\":\"");
	for (int i = 0; i < 199; i++)
		o += (size_t)snprintf(js + o, sizeof(js) - o, "\xc3\xa9");
	snprintf(js + o, sizeof(js) - o, "A\"}");
	p = norm(js, &errs);
	assert_non_null(p);
	assert_null(errs);
	o = (size_t)snprintf(want, sizeof(want), "name:");
	for (int i = 0; i < 199; i++)
		o += (size_t)snprintf(want + o, sizeof(want) - o, "\xc3\xa9");
	snprintf(want + o, sizeof(want) - o, "a");
	assert_string_equal(json_string_value(json_object_get(p, "deviceKey")), want);
	js[strlen(js) - 3] = 'B';
	q = norm(js, &errs);
	assert_non_null(q);
	assert_string_not_equal(json_string_value(json_object_get(p, "deviceKey")),
	    json_string_value(json_object_get(q, "deviceKey")));
	json_decref(q);
	/* What the server derives is itself a valid deviceKey. */
	q = printer_normalize(p, &errs);
	assert_non_null(q);
	assert_true(json_equal(p, q));
	json_decref(q);
	json_decref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_canonical_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_name_length_counts_characters),
		cmocka_unit_test(test_norm_name),
		cmocka_unit_test(test_long_name_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
