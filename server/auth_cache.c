/*
 * auth_cache.c: a small fixed-size hash table of checked credentials. Each key
 * may sit in one of AUTH_CACHE_PROBE slots after its hash; a full run evicts
 * the entry closest to expiry. Invalidation scans the table: it is rare. Not
 * here: checking a credential (auth.c) or hearing about changes (listener.c).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "common/strhash.h"
#include "server/auth_cache.h"

#define AUTH_CACHE_SLOTS 4096
#define AUTH_CACHE_PROBE 8

struct auth_cache_ent {
	char key[AUTH_CACHE_KEY_MAX];
	long long expires;
	struct auth a;
};

static pthread_mutex_t ac_lock = PTHREAD_MUTEX_INITIALIZER;
static struct auth_cache_ent ac_tab[AUTH_CACHE_SLOTS];

static size_t
ac_hash(const char *key)
{
	return (size_t)(strhash(key) % AUTH_CACHE_SLOTS);
}

int
auth_cache_get(const char *key, long long now_ms, struct auth *out)
{
	size_t h = ac_hash(key);
	int hit = 0;

	pthread_mutex_lock(&ac_lock);
	for (int i = 0; i < AUTH_CACHE_PROBE; i++) {
		struct auth_cache_ent *e = &ac_tab[(h + (size_t)i) % AUTH_CACHE_SLOTS];

		if (e->key[0] && strcmp(e->key, key) == 0) {
			if (e->expires > now_ms) {
				*out = e->a;
				hit = 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&ac_lock);
	return hit;
}

void
auth_cache_put(const char *key, long long now_ms, const struct auth *a)
{
	size_t h = ac_hash(key);
	struct auth_cache_ent *victim = NULL;

	if (strlen(key) >= AUTH_CACHE_KEY_MAX)
		return;
	pthread_mutex_lock(&ac_lock);
	for (int i = 0; i < AUTH_CACHE_PROBE; i++) {
		struct auth_cache_ent *e = &ac_tab[(h + (size_t)i) % AUTH_CACHE_SLOTS];

		if (!e->key[0] || strcmp(e->key, key) == 0 || e->expires <= now_ms) {
			victim = e;
			break;
		}
		if (!victim || e->expires < victim->expires)
			victim = e;
	}
	strcpy(victim->key, key);
	victim->expires = now_ms + AUTH_CACHE_TTL_MS;
	victim->a = *a;
	pthread_mutex_unlock(&ac_lock);
}

int
auth_cache_covers(const struct auth *a, const char *what)
{
	const char *id = strchr(what, ':');
	size_t kind_len;

	if (!id)
		return 0;
	kind_len = (size_t)(id - what);
	id++;
	if (kind_len == 4 && strncmp(what, "user", 4) == 0)
		return a->kind == AUTH_USER && strcmp(a->principal_id, id) == 0;
	if (kind_len == 5 && strncmp(what, "agent", 5) == 0)
		return a->kind == AUTH_AGENT && strcmp(a->principal_id, id) == 0;
	if (kind_len == 6 && strncmp(what, "apikey", 6) == 0)
		return a->kind == AUTH_INTEGRATION && strcmp(a->principal_id, id) == 0;
	if (kind_len == 7 && strncmp(what, "company", 7) == 0)
		return strcmp(a->company_id, id) == 0;
	if (kind_len == 6 && strncmp(what, "branch", 6) == 0)
		return strcmp(a->branch_id, id) == 0;
	return 1;	/* a kind we do not know: be safe */
}

int
auth_cache_invalidate(const char *what)
{
	int dropped = 0;

	if (what && !strchr(what, ':'))
		return 0;
	pthread_mutex_lock(&ac_lock);
	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
		struct auth_cache_ent *e = &ac_tab[i];

		if (e->key[0] && (!what || auth_cache_covers(&e->a, what))) {
			memset(e, 0, sizeof(*e));
			dropped++;
		}
	}
	pthread_mutex_unlock(&ac_lock);
	return dropped;
}
