/*
 * session.h: signed session tokens, as pure functions of a key, claims and the
 * clock (no database, no globals), so they can be unit-tested. A token is
 * base64url(payload JSON) "." base64url(crypto_auth tag over the first part).
 */
#ifndef PM_SESSION_H
#define PM_SESSION_H

#include <stddef.h>
#include <sodium.h>

#define SESSION_KEY_BYTES crypto_auth_KEYBYTES
#define SESSION_ID_LEN 36
#define SESSION_TOKEN_MAX 1024	/* longer input is refused before decoding */

struct session_claims {
	char user_id[SESSION_ID_LEN + 1];
	char company_id[SESSION_ID_LEN + 1];
	char branch_id[SESSION_ID_LEN + 1];	/* "" = company-wide */
	char role[8];				/* "admin" or "viewer" */
	long long expires;			/* Unix seconds */
	long long version;			/* users.token_version when signed */
};

enum session_status {
	SESSION_OK = 0,
	SESSION_INVALID = -1,	/* malformed, tampered, or signed with another key */
	SESSION_EXPIRED = -2,	/* authentic, but expires <= now */
};

/* Sign claims into out (NUL-terminated). 0, or -1 when out is too small or a
 * claim is out of range. */
int session_sign(const unsigned char key[SESSION_KEY_BYTES],
    const struct session_claims *c, char *out, size_t outlen);

/* Verify the tag in constant time, then parse and check the expiry against
 * now. Fills *out only on SESSION_OK. */
enum session_status session_verify(const unsigned char key[SESSION_KEY_BYTES],
    const char *token, long long now, struct session_claims *out);

#endif
