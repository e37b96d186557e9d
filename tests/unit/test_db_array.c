/* test_db_array.c: PostgreSQL array literals built element by element:
 * quoting and escaping, NULL elements, the empty array, growth past the
 * first buffer, and the text[] helpers over C strings and JSON arrays. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/db.h"

static void
test_elements(void **state)
{
	struct db_array a = { 0 };
	char *s;

	(void)state;
	db_array_add(&a, "plain");
	db_array_add(&a, NULL);
	db_array_add(&a, "a \"quoted\" \\ back,slash {x}");
	db_array_add(&a, "");
	db_array_add(&a, "NULL");	/* the word, quoted: not a NULL */
	s = db_array_finish(&a);
	assert_non_null(s);
	assert_string_equal(s, "{\"plain\",NULL,\"a \\\"quoted\\\" \\\\ back,slash {x}\","
	    "\"\",\"NULL\"}");
	assert_null(a.buf);	/* reset: ready for another array */
	free(s);
}

static void
test_empty_and_long(void **state)
{
	struct db_array a = { 0 };
	char *s, big[5000];

	(void)state;
	s = db_array_finish(&a);
	assert_string_equal(s, "{}");
	free(s);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 50; i++)
		db_array_add(&a, big);
	s = db_array_finish(&a);
	assert_int_equal(strlen(s), 2 + 50 * (sizeof(big) - 1 + 2) + 49);
	assert_int_equal(s[0], '{');
	assert_int_equal(s[strlen(s) - 1], '}');
	free(s);
}

static void
test_text_arrays(void **state)
{
	const char *v[] = { "k:1", "with \"q\"" };
	json_t *j = json_pack("[s,i,s,n]", "one", 2, "three");
	char *s;

	(void)state;
	s = db_text_array_of(v, 2);
	assert_string_equal(s, "{\"k:1\",\"with \\\"q\\\"\"}");
	free(s);
	s = db_text_array(j);	/* non-strings are skipped */
	assert_string_equal(s, "{\"one\",\"three\"}");
	free(s);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elements),
		cmocka_unit_test(test_empty_and_long),
		cmocka_unit_test(test_text_arrays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
