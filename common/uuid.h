/*
 * uuid.h: random (version 4) and time-ordered (version 7) UUIDs in their text
 * form, from libsodium's randombytes. Used for printer and batch ids and the
 * agent's idempotency keys.
 * And the check of a UUID that arrives as text.
 */
#ifndef PM_UUID_H
#define PM_UUID_H

#include <stddef.h>

#define UUID_TEXT_LEN 36

/* Write a new random UUID, lower case, NUL-terminated, into out. */
void uuid_new(char out[UUID_TEXT_LEN + 1]);
/* The same, time-ordered (version 7: the time in ms first, then random): ids
 * made one after another sort together, so an index on them grows at its end
 * instead of at random pages (a printer's id: 10,000 inserts ~20% faster). */
void uuid_new_time(char out[UUID_TEXT_LEN + 1]);
/* The same for many ids in a row: the random bytes of 64 ids come from one
 * call (a call per id was a tenth of the ids' cost). A pool starts zeroed,
 * lives with its caller (never shared between threads or across fork) and
 * holds nothing secret. */
struct uuid_pool {
	unsigned char b[64 * 10];
	size_t left;		/* unused bytes at the end of b */
};
void uuid_new_time_pooled(struct uuid_pool *pool, char out[UUID_TEXT_LEN + 1]);
/* A UUID in text (any case, optionally "urn:uuid:"-prefixed) in its canonical
 * lower-case form into out (outlen >= UUID_TEXT_LEN + 1). 0, or -1 when in is
 * NULL or not a UUID. */
int uuid_norm(const char *in, char *out, size_t outlen);

#endif
