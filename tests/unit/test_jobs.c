/*
 * test_jobs.c: print job request checks (server/jobs_input.c) and the text
 * the agent sends a raw printer (agent/jobs.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/jobs.h"
#include "server/jobs_input.h"

/* Parse a JSON text; the status, with field and why (or NULL) checked. */
static int
parse(const char *text, size_t max, struct jobs_input *in, const char *want_field)
{
	json_t *j = json_loads(text, 0, NULL);
	const char *field, *why;
	int rc;

	assert_non_null(j);
	rc = jobs_input_parse(j, max, in, &field, &why);
	if (want_field) {
		assert_non_null(field);
		assert_string_equal(field, want_field);
		assert_non_null(why);
	} else {
		assert_null(field);
	}
	json_decref(j);
	return rc;
}

static void
test_valid(void **state)
{
	struct jobs_input in;

	(void)state;
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"AAEC/w==\"}", 100, &in,
	    NULL), 0);
	assert_int_equal(in.size, 4);
	assert_int_equal(in.copies, 1);
	assert_string_equal(in.title, JOBS_DEFAULT_TITLE);
	assert_int_equal(parse("{\"title\":\"K\xc3\xbc" "che\",\"contentType\":\"text\","
	    "\"content\":\"aGk=\",\"copies\":10}", 2, &in, NULL), 0);
	assert_int_equal(in.copies, 10);
	assert_int_equal(in.size, 2);
	/* %PDF- first for pdf. */
	assert_int_equal(parse("{\"contentType\":\"pdf\",\"content\":\"JVBERi0xLjQ=\"}", 100,
	    &in, NULL), 0);
	/* Exactly the limit is fine. */
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJj\"}", 3, &in, NULL),
	    0);
}

static void
test_invalid(void **state)
{
	struct jobs_input in;
	char big[300];

	(void)state;
	assert_int_equal(parse("{\"contentType\":\"zpl\",\"content\":\"YWJj\"}", 100, &in,
	    "contentType"), 422);
	assert_int_equal(parse("{\"content\":\"YWJj\"}", 100, &in, "contentType"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\"}", 100, &in, "content"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"\"}", 100, &in,
	    "content"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJ\"}", 100, &in,
	    "content"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YW*j\"}", 100, &in,
	    "content"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJj\\nYWJj\"}", 100,
	    &in, "content"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJj\",\"copies\":0}",
	    100, &in, "copies"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJj\",\"copies\":11}",
	    100, &in, "copies"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJj\",\"copies\":\"2\"}",
	    100, &in, "copies"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJj\",\"title\":\"\"}",
	    100, &in, "title"), 422);
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJj\",\"title\":"
	    "\"a\\u0007\"}", 100, &in, "title"), 422);
	assert_int_equal(parse("{\"contentType\":\"pdf\",\"content\":\"YWJj\"}", 100, &in,
	    "content"), 422);
	/* One byte over: 413, whether decoded or refused by length. */
	assert_int_equal(parse("{\"contentType\":\"raw\",\"content\":\"YWJjZA==\"}", 3, &in,
	    "content"), 413);
	memset(big, 'A', sizeof(big));
	memcpy(big, "{\"contentType\":\"raw\",\"content\":\"", 32);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	assert_int_equal(parse(big, 10, &in, "content"), 413);
}

static void
test_fits(void **state)
{
	(void)state;
	assert_true(jobs_input_fits("raw", "raw", "network"));
	assert_true(jobs_input_fits("text", "", ""));
	assert_true(jobs_input_fits("pdf", "ipp", "network"));
	assert_true(jobs_input_fits("pdf", "ipps", ""));
	assert_true(jobs_input_fits("pdf", "cups", "cups"));
	assert_true(jobs_input_fits("pdf", "", "cups"));
	assert_false(jobs_input_fits("pdf", "raw", "network"));
	assert_false(jobs_input_fits("pdf", "", ""));
}

static void
test_text_lines(void **state)
{
	unsigned char out[64];
	size_t n;

	(void)state;
	n = jobs_text_lines((const unsigned char *)"a\r\nb\rc\x07\x1b" "d\te", 12, out);
	assert_int_equal(n, 9);
	assert_memory_equal(out, "a\nb\ncd\te\n", 9);
	n = jobs_text_lines((const unsigned char *)"done\n", 5, out);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "done\n", 5);
	n = jobs_text_lines((const unsigned char *)"", 0, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], '\n');
	/* UTF-8 bytes pass as they are. */
	n = jobs_text_lines((const unsigned char *)"\xc3\xbc", 2, out);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\xc3\xbc\n", 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_text_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
