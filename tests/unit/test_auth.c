/*
 * test_auth.c: agent keys (shape, stored hash, malformed keys refused), the
 * password hash round trip and the dummy verification for unknown users.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/auth.h"

static void
test_agent_keys(void **state)
{
	char key[AUTH_KEY_LEN + 1], key2[AUTH_KEY_LEN + 1];
	char hash[AUTH_KEY_HASH_LEN + 1], again[AUTH_KEY_HASH_LEN + 1];
	char hash2[AUTH_KEY_HASH_LEN + 1];
	unsigned char expect[crypto_generichash_BYTES];
	char expect_hex[2 * crypto_generichash_BYTES + 1];

	(void)state;
	assert_int_equal(auth_key_new(AUTH_KEY_PREFIX, key, hash), 0);
	assert_int_equal(strlen(key), AUTH_KEY_LEN);
	assert_memory_equal(key, "pmk_", 4);
	assert_int_equal(strspn(key + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_"), AUTH_KEY_LEN - 4);
	/* The stored form is a bytea literal of BLAKE2b-256 over the key text. */
	crypto_generichash(expect, sizeof(expect), (const unsigned char *)key, strlen(key),
	    NULL, 0);
	sodium_bin2hex(expect_hex, sizeof(expect_hex), expect, sizeof(expect));
	assert_memory_equal(hash, "\\x", 2);
	assert_string_equal(hash + 2, expect_hex);
	assert_int_equal(auth_key_hash(key, again), 0);
	assert_string_equal(hash, again);
	/* Keys are random. */
	assert_int_equal(auth_key_new(AUTH_KEY_PREFIX, key2, hash2), 0);
	assert_string_not_equal(key, key2);
	assert_string_not_equal(hash, hash2);
	/* Malformed keys are not looked up at all. */
	assert_int_equal(auth_key_hash("pmk_short", again), -1);
	key2[10] = '+';
	assert_int_equal(auth_key_hash(key2, again), -1);
	memcpy(key2, "pmx_", 4);
	assert_int_equal(auth_key_hash(key2, again), -1);
	assert_int_equal(auth_key_hash("", again), -1);
	/* Integration keys: the same shape and hash, their own prefix. */
	assert_int_equal(auth_key_new(AUTH_INTEGRATION_PREFIX, key2, hash2), 0);
	assert_memory_equal(key2, "pmi_", 4);
	assert_int_equal(strlen(key2), AUTH_KEY_LEN);
	assert_int_equal(auth_key_hash(key2, again), 0);
	assert_string_equal(hash2, again);
	assert_string_not_equal(hash, hash2);
}

static void
test_passwords(void **state)
{
	char hash[crypto_pwhash_STRBYTES];

	(void)state;
	assert_int_equal(auth_password_hash("correct horse", hash), 0);
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_null(strstr(hash, "correct horse"));
	assert_int_equal(auth_password_verify(hash, "correct horse"), 0);
	assert_int_equal(auth_password_verify(hash, "correct horsE"), -1);
	assert_int_equal(auth_password_verify(hash, ""), -1);
	/* Unknown user: the dummy hash is checked, and it never matches. */
	assert_int_equal(auth_password_verify(NULL, "correct horse"), -1);
	assert_int_equal(auth_password_verify(NULL, ""), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_keys),
		cmocka_unit_test(test_passwords),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
