/*
 * test_session.c: session tokens sign and verify; any changed byte, another
 * key, an expired token or a malformed one is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/session.h"

static unsigned char key[SESSION_KEY_BYTES];

static void
claims(struct session_claims *c, const char *branch)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->user_id, "11111111-2222-3333-4444-555555555555");
	strcpy(c->company_id, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	strcpy(c->branch_id, branch);
	strcpy(c->role, "viewer");
	c->expires = 2000000000LL;
	c->version = 3;
}

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(sodium_init() >= 0, 1);
	crypto_auth_keygen(key);
	return 0;
}

static void
test_roundtrip(void **state)
{
	struct session_claims in, out;
	char tok[SESSION_TOKEN_MAX + 1];

	(void)state;
	claims(&in, "99999999-8888-7777-6666-555555555555");
	assert_int_equal(session_sign(key, &in, tok, sizeof(tok)), 0);
	assert_non_null(strchr(tok, '.'));
	assert_int_equal(session_verify(key, tok, 1000, &out), SESSION_OK);
	assert_string_equal(out.user_id, in.user_id);
	assert_string_equal(out.company_id, in.company_id);
	assert_string_equal(out.branch_id, in.branch_id);
	assert_string_equal(out.role, "viewer");
	assert_int_equal(out.expires, in.expires);
	assert_int_equal(out.version, 3);

	/* A company-wide admin: no branch claim. */
	claims(&in, "");
	strcpy(in.role, "admin");
	assert_int_equal(session_sign(key, &in, tok, sizeof(tok)), 0);
	assert_int_equal(session_verify(key, tok, 1000, &out), SESSION_OK);
	assert_string_equal(out.branch_id, "");
	assert_string_equal(out.role, "admin");
}

static void
test_tamper_every_byte(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_.";
	struct session_claims in, out;
	char tok[SESSION_TOKEN_MAX + 1], bad[SESSION_TOKEN_MAX + 1];
	size_t n;

	(void)state;
	claims(&in, "99999999-8888-7777-6666-555555555555");
	assert_int_equal(session_sign(key, &in, tok, sizeof(tok)), 0);
	n = strlen(tok);
	for (size_t i = 0; i < n; i++) {
		/* Every other character of the token alphabet at every position. */
		for (const char *a = alphabet; *a; a++) {
			if (*a == tok[i])
				continue;
			memcpy(bad, tok, n + 1);
			bad[i] = *a;
			assert_int_equal(session_verify(key, bad, 1000, &out), SESSION_INVALID);
		}
	}
	/* Truncated or extended. */
	memcpy(bad, tok, n + 1);
	bad[n - 1] = '\0';
	assert_int_equal(session_verify(key, bad, 1000, &out), SESSION_INVALID);
	memcpy(bad, tok, n + 1);
	strcat(bad, "A");
	assert_int_equal(session_verify(key, bad, 1000, &out), SESSION_INVALID);
}

static void
test_other_key(void **state)
{
	unsigned char other[SESSION_KEY_BYTES];
	struct session_claims in, out;
	char tok[SESSION_TOKEN_MAX + 1];

	(void)state;
	crypto_auth_keygen(other);
	claims(&in, "");
	assert_int_equal(session_sign(other, &in, tok, sizeof(tok)), 0);
	assert_int_equal(session_verify(key, tok, 1000, &out), SESSION_INVALID);
}

static void
test_expiry(void **state)
{
	struct session_claims in, out;
	char tok[SESSION_TOKEN_MAX + 1];

	(void)state;
	claims(&in, "");
	in.expires = 5000;
	assert_int_equal(session_sign(key, &in, tok, sizeof(tok)), 0);
	assert_int_equal(session_verify(key, tok, 4999, &out), SESSION_OK);
	assert_int_equal(session_verify(key, tok, 5000, &out), SESSION_EXPIRED);
	assert_int_equal(session_verify(key, tok, 999999, &out), SESSION_EXPIRED);
}

static void
test_malformed(void **state)
{
	struct session_claims in, out;
	char tok[SESSION_TOKEN_MAX + 1], big[SESSION_TOKEN_MAX + 10];

	(void)state;
	assert_int_equal(session_verify(key, "", 1, &out), SESSION_INVALID);
	assert_int_equal(session_verify(key, ".", 1, &out), SESSION_INVALID);
	assert_int_equal(session_verify(key, "abc", 1, &out), SESSION_INVALID);
	assert_int_equal(session_verify(key, NULL, 1, &out), SESSION_INVALID);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(session_verify(key, big, 1, &out), SESSION_INVALID);

	/* Claims of the wrong shape are not signed at all. */
	claims(&in, "");
	strcpy(in.role, "root");
	assert_int_equal(session_sign(key, &in, tok, sizeof(tok)), -1);
	claims(&in, "not-a-uuid");
	assert_int_equal(session_sign(key, &in, tok, sizeof(tok)), -1);
	claims(&in, "");
	assert_int_equal(session_sign(key, &in, tok, 20), -1);
}

/* A correctly signed payload that is not valid claims is still refused. */
static void
test_signed_garbage(void **state)
{
	static const char *payloads[] = {
		"[]", "{}", "{\"sub\":\"x\"}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\",\"cid\":"
		"\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"role\":\"admin\",\"exp\":\"9\",\"ver\":1}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\",\"sub\":"
		"\"11111111-2222-3333-4444-555555555555\",\"cid\":"
		"\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"role\":\"admin\",\"exp\":9,\"ver\":1}",
	};
	int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	unsigned char tag[crypto_auth_BYTES];
	struct session_claims out;
	char tok[SESSION_TOKEN_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		size_t n;

		sodium_bin2base64(tok, sizeof(tok), (const unsigned char *)payloads[i],
		    strlen(payloads[i]), v);
		crypto_auth(tag, (const unsigned char *)tok, strlen(tok), key);
		n = strlen(tok);
		tok[n] = '.';
		sodium_bin2base64(tok + n + 1, sizeof(tok) - n - 1, tag, sizeof(tag), v);
		assert_int_equal(session_verify(key, tok, 1, &out), SESSION_INVALID);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_signed_garbage),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
