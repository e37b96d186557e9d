/* test_uuid.c: uuid_new gives distinct, well-formed version 4 UUIDs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/printer.h"
#include "common/uuid.h"

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
		assert_int_equal(printer_norm_uuid(a, norm, sizeof(norm)), 0);
		assert_string_equal(a, norm);	/* already canonical: lower case */
		assert_int_equal(a[14], '4');	/* version */
		assert_non_null(strchr("89ab", a[19]));	/* RFC 4122 variant */
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
