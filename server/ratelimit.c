/*
 * ratelimit.c: the login rate limit. A full table evicts the entry whose window
 * started first (an expired one when there is any), so memory stays bounded
 * whatever the number of distinct addresses or emails tried. Not here: the
 * login itself (api_auth.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "server/ratelimit.h"

#define RL_HASH_BYTES 16

struct rl_entry {
	unsigned char key[RL_HASH_BYTES];
	long long start;	/* window start; 0 = free slot */
	long count;
};

struct ratelimit {
	pthread_mutex_t lock;
	long limit, window;
	int nslots;
	struct rl_entry slots[];
};

struct ratelimit *
ratelimit_new(int slots, long limit, long window)
{
	struct ratelimit *rl;

	if (slots < 1 || limit < 1 || window < 1)
		return NULL;
	if ((rl = calloc(1, sizeof(*rl) + (size_t)slots * sizeof(struct rl_entry))) == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->limit = limit;
	rl->window = window;
	rl->nslots = slots;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* The entry for h, or NULL; with `make`, a fresh or recycled one. Locked. */
static struct rl_entry *
rl_find(struct ratelimit *rl, const unsigned char *h, long long now, int make)
{
	struct rl_entry *victim = NULL;

	for (int i = 0; i < rl->nslots; i++) {
		struct rl_entry *e = &rl->slots[i];

		if (e->start && memcmp(e->key, h, RL_HASH_BYTES) == 0) {
			if (now - e->start >= rl->window) {
				e->start = now;
				e->count = 0;
			}
			return e;
		}
		if (!victim || e->start < victim->start)
			victim = e;
	}
	if (!make)
		return NULL;
	memcpy(victim->key, h, RL_HASH_BYTES);
	victim->start = now > 0 ? now : 1;
	victim->count = 0;
	return victim;
}

static void
rl_hash(const char *key, unsigned char h[RL_HASH_BYTES])
{
	crypto_generichash(h, RL_HASH_BYTES, (const unsigned char *)key, strlen(key),
	    NULL, 0);
}

long
ratelimit_take(struct ratelimit *rl, const char *key, long long now)
{
	unsigned char h[RL_HASH_BYTES];
	struct rl_entry *e;
	long wait = 0;

	rl_hash(key, h);
	pthread_mutex_lock(&rl->lock);
	e = rl_find(rl, h, now, 1);
	if (e->count >= rl->limit) {
		wait = (long)(e->start + rl->window - now);
		if (wait < 1)
			wait = 1;
	} else
		e->count++;
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void
ratelimit_refund(struct ratelimit *rl, const char *key, long long now)
{
	unsigned char h[RL_HASH_BYTES];
	struct rl_entry *e;

	rl_hash(key, h);
	pthread_mutex_lock(&rl->lock);
	if ((e = rl_find(rl, h, now, 0)) != NULL && e->count > 0)
		e->count--;
	pthread_mutex_unlock(&rl->lock);
}
