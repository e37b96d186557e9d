/*
 * uuid.c: version 4 UUIDs (RFC 4122: 122 random bits, version and variant set)
 * and version 7 (RFC 9562: Unix time in ms, then 74 random bits),
 * and the one check and canonical form of a UUID given as text (ids in URLs,
 * bodies, room names, IPP and DNS-SD attributes). Not here: which ids a request
 * may use (server/scope.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>

#include "uuid.h"

/* The 8-4-4-4-12 text form (hex through libsodium, not printf: a large bulk
 * makes one per new printer). */
static void
uuid_text(const unsigned char b[16], char out[UUID_TEXT_LEN + 1])
{
	static const unsigned char seg[] = { 4, 2, 2, 2, 6 };
	char *o = out;

	for (size_t s = 0, at = 0; s < sizeof(seg); at += seg[s], s++) {
		if (s > 0)
			*o++ = '-';
		sodium_bin2hex(o, (size_t)seg[s] * 2 + 1, b + at, seg[s]);
		o += seg[s] * 2;
	}
}

void
uuid_new(char out[UUID_TEXT_LEN + 1])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	uuid_text(b, out);
}

/* Version 7 from 10 random bytes. */
static void
uuid_v7(const unsigned char rnd[10], char out[UUID_TEXT_LEN + 1])
{
	unsigned char b[16];
	struct timespec ts;
	unsigned long long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
	for (int i = 0; i < 6; i++)	/* 48-bit big-endian Unix time in ms */
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	memcpy(b + 6, rnd, 10);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);	/* version 7 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 9562 variant */
	uuid_text(b, out);
}

void
uuid_new_time(char out[UUID_TEXT_LEN + 1])
{
	unsigned char rnd[10];

	randombytes_buf(rnd, sizeof(rnd));
	uuid_v7(rnd, out);
}

void
uuid_new_time_pooled(struct uuid_pool *pool, char out[UUID_TEXT_LEN + 1])
{
	if (pool->left < 10 || pool->left > sizeof(pool->b)) {
		randombytes_buf(pool->b, sizeof(pool->b));
		pool->left = sizeof(pool->b);
	}
	uuid_v7(pool->b + sizeof(pool->b) - pool->left, out);
	pool->left -= 10;
}

int
uuid_norm(const char *in, char *out, size_t outlen)
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t i;
	int d = 0;

	if (!in)
		return -1;
	if (strncasecmp(in, "urn:uuid:", 9) == 0)
		in += 9;
	if (strlen(in) != 36 || outlen < 37)
		return -1;
	for (i = 0; i < 36; i++) {
		if (d < 4 && (int)i == dash[d]) {
			if (in[i] != '-')
				return -1;
			out[i] = '-';
			d++;
			continue;
		}
		if (!isxdigit((unsigned char)in[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[36] = '\0';
	return 0;
}
