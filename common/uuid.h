/*
 * uuid.h: random (version 4) UUIDs in their text form, from libsodium's
 * randombytes. Used for printer and batch ids and the agent's idempotency keys.
 */
#ifndef PM_UUID_H
#define PM_UUID_H

#define UUID_TEXT_LEN 36

/* Write a new random UUID, lower case, NUL-terminated, into out. */
void uuid_new(char out[UUID_TEXT_LEN + 1]);

#endif
