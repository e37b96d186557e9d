/*
 * session.c: session tokens. The tag covers the encoded payload text exactly as
 * sent, so any change to it fails crypto_auth_verify; the tag part must be the
 * canonical encoding of 32 bytes, so no two strings carry the same tag. Not
 * here: cookies and the user row (auth.c).
 */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "server/session.h"

#define SESSION_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SESSION_PAYLOAD_MAX 512		/* decoded payload JSON */

static int
session_id_ok(const char *s, int may_be_empty)
{
	size_t n = strlen(s);

	if (n == 0)
		return may_be_empty;
	if (n != SESSION_ID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
session_role_ok(const char *s)
{
	return strcmp(s, "admin") == 0 || strcmp(s, "viewer") == 0;
}

int
session_sign(const unsigned char key[SESSION_KEY_BYTES], const struct session_claims *c,
    char *out, size_t outlen)
{
	unsigned char tag[crypto_auth_BYTES];
	json_t *j;
	char *payload = NULL;
	size_t plen, enc_len, tag_len = sodium_base64_ENCODED_LEN(sizeof(tag), SESSION_B64);
	int rc = -1;

	if (!session_id_ok(c->user_id, 0) || !session_id_ok(c->company_id, 0) ||
	    !session_id_ok(c->branch_id, 1) || !session_role_ok(c->role) ||
	    c->expires <= 0 || c->version < 0)
		return -1;
	j = json_pack("{s:s,s:s,s:s?,s:s,s:I,s:I}", "sub", c->user_id, "cid",
	    c->company_id, "bid", c->branch_id[0] ? c->branch_id : NULL, "role", c->role,
	    "exp", (json_int_t)c->expires, "ver", (json_int_t)c->version);
	if (!j)
		return -1;
	payload = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!payload)
		return -1;
	plen = strlen(payload);
	enc_len = sodium_base64_ENCODED_LEN(plen, SESSION_B64);
	/* enc_len and tag_len each count a NUL; one of them pays for the '.'. */
	if (plen > SESSION_PAYLOAD_MAX || enc_len + tag_len > outlen ||
	    enc_len + tag_len > SESSION_TOKEN_MAX)
		goto err;
	sodium_bin2base64(out, enc_len, (const unsigned char *)payload, plen, SESSION_B64);
	crypto_auth(tag, (const unsigned char *)out, strlen(out), key);
	enc_len = strlen(out);
	out[enc_len] = '.';
	sodium_bin2base64(out + enc_len + 1, tag_len, tag, sizeof(tag), SESSION_B64);
	rc = 0;
err:
	free(payload);
	return rc;
}

/* Copy a string claim of a known shape; 0 or -1. */
static int
session_get_id(json_t *j, const char *name, char *dst, int may_be_null)
{
	json_t *v = json_object_get(j, name);

	if (may_be_null && (!v || json_is_null(v))) {
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || !session_id_ok(json_string_value(v), 0))
		return -1;
	strcpy(dst, json_string_value(v));
	return 0;
}

static int
session_parse(const unsigned char *payload, size_t len, struct session_claims *c)
{
	json_t *j, *role, *exp, *ver;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	j = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j))
		goto err;
	role = json_object_get(j, "role");
	exp = json_object_get(j, "exp");
	ver = json_object_get(j, "ver");
	if (session_get_id(j, "sub", c->user_id, 0) < 0 ||
	    session_get_id(j, "cid", c->company_id, 0) < 0 ||
	    session_get_id(j, "bid", c->branch_id, 1) < 0 ||
	    !json_is_string(role) || !session_role_ok(json_string_value(role)) ||
	    !json_is_integer(exp) || !json_is_integer(ver) || json_integer_value(ver) < 0)
		goto err;
	strcpy(c->role, json_string_value(role));
	c->expires = json_integer_value(exp);
	c->version = json_integer_value(ver);
	rc = 0;
err:
	json_decref(j);
	return rc;
}

enum session_status
session_verify(const unsigned char key[SESSION_KEY_BYTES], const char *token,
    long long now, struct session_claims *out)
{
	unsigned char tag[crypto_auth_BYTES], payload[SESSION_PAYLOAD_MAX];
	char canon[sodium_base64_ENCODED_LEN(crypto_auth_BYTES, SESSION_B64)];
	struct session_claims c;
	const char *dot;
	size_t tlen, plen, taglen, bin_len;

	if (!token || (tlen = strnlen(token, SESSION_TOKEN_MAX + 1)) > SESSION_TOKEN_MAX)
		return SESSION_INVALID;
	if ((dot = strchr(token, '.')) == NULL || dot == token)
		return SESSION_INVALID;
	plen = (size_t)(dot - token);
	taglen = tlen - plen - 1;
	if (taglen != sizeof(canon) - 1 ||
	    sodium_base642bin(tag, sizeof(tag), dot + 1, taglen, NULL, &bin_len, NULL,
	    SESSION_B64) != 0 || bin_len != sizeof(tag))
		return SESSION_INVALID;
	/* Canonical tag text only: a string that decodes to the same bytes is not
	 * the token that was issued. */
	sodium_bin2base64(canon, sizeof(canon), tag, sizeof(tag), SESSION_B64);
	if (sodium_memcmp(canon, dot + 1, taglen) != 0)
		return SESSION_INVALID;
	if (crypto_auth_verify(tag, (const unsigned char *)token, plen, key) != 0)
		return SESSION_INVALID;
	if (sodium_base642bin(payload, sizeof(payload), token, plen, NULL, &bin_len, NULL,
	    SESSION_B64) != 0 || session_parse(payload, bin_len, &c) < 0)
		return SESSION_INVALID;
	if (c.expires <= now)
		return SESSION_EXPIRED;
	*out = c;
	return SESSION_OK;
}
