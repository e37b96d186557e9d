/*
 * strhash.h: the one string hash of the in-memory tables (the identity
 * index, the credential cache): FNV-1a, 64 bits. Not for anything an attacker
 * could aim at a table's worst case with (the rate limiter keys by BLAKE2b).
 */
#ifndef PM_STRHASH_H
#define PM_STRHASH_H

#include <stdint.h>

static inline uint64_t
strhash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

#endif
