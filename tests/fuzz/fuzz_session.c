/*
 * fuzz_session.c: session_verify on hostile tokens. The first byte picks the
 * mode: 0 = the rest is a token as received; 1 = the rest is payload JSON that
 * is encoded and signed with the right key first, so the claim parser behind
 * the MAC check is reached too. A token that verifies must re-sign to one that
 * verifies with the same claims.
 */
#include <string.h>
#include <sodium.h>

#include "server/session.h"
#include "fuzz.h"

#define FUZZ_NOW 1700000000LL

static void
fuzz_check(const unsigned char *key, const char *token)
{
	struct session_claims c, c2;
	char again[SESSION_TOKEN_MAX + 1];
	enum session_status st = session_verify(key, token, FUZZ_NOW, &c);

	FUZZ_ASSERT(st == SESSION_OK || st == SESSION_INVALID || st == SESSION_EXPIRED);
	if (st != SESSION_OK)
		return;
	FUZZ_ASSERT(c.expires > FUZZ_NOW && c.version >= 0);
	FUZZ_ASSERT(strlen(c.user_id) == SESSION_ID_LEN);
	FUZZ_ASSERT(strcmp(c.role, "admin") == 0 || strcmp(c.role, "viewer") == 0);
	FUZZ_ASSERT(session_sign(key, &c, again, sizeof(again)) == 0);
	FUZZ_ASSERT(session_verify(key, again, FUZZ_NOW, &c2) == SESSION_OK);
	FUZZ_ASSERT(memcmp(&c, &c2, sizeof(c)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char key[SESSION_KEY_BYTES];
	unsigned char tag[crypto_auth_BYTES];
	char tok[2 * SESSION_TOKEN_MAX + 64];
	size_t n;

	if (size == 0)
		return 0;
	if (sodium_init() < 0)
		abort();
	memset(key, 0x5a, sizeof(key));
	if (data[0] % 2 == 0) {
		n = size - 1 < sizeof(tok) - 1 ? size - 1 : sizeof(tok) - 1;
		memcpy(tok, data + 1, n);
		tok[n] = '\0';
		fuzz_check(key, tok);
		return 0;
	}
	n = size - 1;
	if (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
	    sodium_base64_ENCODED_LEN(sizeof(tag), sodium_base64_VARIANT_URLSAFE_NO_PADDING) >
	    sizeof(tok))
		return 0;
	sodium_bin2base64(tok, sizeof(tok), data + 1, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_auth(tag, (const unsigned char *)tok, strlen(tok), key);
	n = strlen(tok);
	tok[n] = '.';
	sodium_bin2base64(tok + n + 1, sizeof(tok) - n - 1, tag, sizeof(tag),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	fuzz_check(key, tok);
	return 0;
}
