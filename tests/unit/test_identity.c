/* test_identity.c: the "same printer?" rule, strongest identity first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/identity.h"

static enum printer_ident
match(const char *a, const char *b)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
	struct identity ia, ib;
	enum printer_ident r;

	assert_non_null(ja);
	assert_non_null(jb);
	identity_from_json(&ia, ja);
	identity_from_json(&ib, jb);
	r = identity_match(&ia, &ib);
	assert_int_equal(identity_match(&ib, &ia), r);	/* symmetric */
	json_decref(ja);
	json_decref(jb);
	return r;
}

static void
test_strongest_decides(void **state)
{
	(void)state;
	assert_int_equal(match("{\"name\":\"A\",\"uuid\":\"u1\"}",
	    "{\"name\":\"B\",\"uuid\":\"u1\"}"), PIDENT_UUID);
	/* Different UUIDs: not the same, even at the same address with the same name. */
	assert_int_equal(match("{\"name\":\"A\",\"uuid\":\"u1\",\"address\":\"h\",\"port\":9100}",
	    "{\"name\":\"A\",\"uuid\":\"u2\",\"address\":\"h\",\"port\":9100}"), PIDENT_NONE);
	/* Only one side has a UUID: the address decides. */
	assert_int_equal(match("{\"name\":\"A\",\"uuid\":\"u1\",\"address\":\"H\",\"port\":9100}",
	    "{\"name\":\"B\",\"address\":\"h\",\"port\":9100}"), PIDENT_ADDRESS);
	assert_int_equal(match("{\"name\":\"A\",\"address\":\"h\",\"port\":9100}",
	    "{\"name\":\"A\",\"address\":\"h\",\"port\":9101}"), PIDENT_NONE);
	assert_int_equal(match("{\"name\":\"A\",\"manufacturer\":\"EPSON\",\"serialNumber\":\"1\"}",
	    "{\"name\":\"B\",\"manufacturer\":\"epson\",\"serialNumber\":\"1\"}"), PIDENT_SERIAL);
	assert_int_equal(match("{\"name\":\"A\",\"manufacturer\":\"EPSON\",\"serialNumber\":\"1\"}",
	    "{\"name\":\"A\",\"manufacturer\":\"EPSON\",\"serialNumber\":\"2\"}"), PIDENT_NONE);
	assert_int_equal(match("{\"name\":\"A\",\"macAddress\":\"m\"}",
	    "{\"name\":\"Z\",\"macAddress\":\"m\"}"), PIDENT_MAC);
}

static void
test_device_key_kinds(void **state)
{
	(void)state;
	assert_int_equal(match("{\"name\":\"Q\",\"deviceKey\":\"cups:host:q1\"}",
	    "{\"name\":\"Other\",\"deviceKey\":\"cups:host:q1\"}"), PIDENT_DEVICE_KEY);
	assert_int_equal(match("{\"name\":\"Q\",\"deviceKey\":\"cups:host:q1\"}",
	    "{\"name\":\"Q\",\"deviceKey\":\"cups:host:q2\"}"), PIDENT_NONE);
	/* Keys of different kinds say nothing: the name decides. */
	assert_int_equal(match("{\"name\":\"Q\",\"deviceKey\":\"cups:host:q1\"}",
	    "{\"name\":\" q \",\"deviceKey\":\"usb:host:1-1\"}"), PIDENT_NAME);
}

static void
test_name_last(void **state)
{
	(void)state;
	assert_int_equal(match("{\"name\":\"Front  Desk\"}", "{\"name\":\"front desk\"}"),
	    PIDENT_NAME);
	assert_int_equal(match("{\"name\":\"Front\"}", "{\"name\":\"Back\"}"), PIDENT_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strongest_decides),
		cmocka_unit_test(test_device_key_kinds),
		cmocka_unit_test(test_name_last),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
