/*
 * presence.c: the per-instance set of connected agents and the agents-table
 * updates that go with a connection's life (online, hello, stats, offline),
 * each with its event in one transaction; the SQL is in store_agents.c.
 * The set is tiny and touched rarely, so one mutex and a linear array do. Not
 * here: the websocket itself (gateway*.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "log.h"
#include "server/db.h"
#include "server/store_events.h"
#include "server/auth.h"
#include "server/presence.h"
#include "server/store_agents.h"

#define PRESENCE_MAX_KEYS 32

struct presence_slot {
	char id[UUID_TEXT_LEN + 1];
	int count;
};

static pthread_mutex_t pres_lock = PTHREAD_MUTEX_INITIALIZER;
static struct presence_slot *pres_slots;
static size_t pres_n, pres_cap;
static char pres_instance[33];

int
presence_init(void)
{
	unsigned char rnd[16];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pres_instance, sizeof(pres_instance), rnd, sizeof(rnd));
	return 0;
}

const char *
presence_instance(void)
{
	return pres_instance;
}

static int
pres_change(const char *agent_id, int delta)
{
	size_t i;
	int n = 0;

	pthread_mutex_lock(&pres_lock);
	for (i = 0; i < pres_n && strcmp(pres_slots[i].id, agent_id) != 0; i++)
		;
	if (i == pres_n && delta > 0) {
		if (pres_n == pres_cap) {
			size_t ncap = pres_cap ? pres_cap * 2 : 16;
			struct presence_slot *p = realloc(pres_slots, ncap * sizeof(*p));

			if (!p)
				goto out;
			pres_slots = p;
			pres_cap = ncap;
		}
		snprintf(pres_slots[pres_n].id, sizeof(pres_slots[pres_n].id), "%s", agent_id);
		pres_slots[pres_n++].count = 0;
	}
	if (i == pres_n)
		goto out;
	n = pres_slots[i].count += delta;
	if (n <= 0) {
		pres_slots[i] = pres_slots[--pres_n];
		n = 0;
	}
	if (pres_n == 0) {
		free(pres_slots);
		pres_slots = NULL;
		pres_cap = 0;
	}
out:
	pthread_mutex_unlock(&pres_lock);
	return n;
}

int
presence_add(const char *agent_id)
{
	return pres_change(agent_id, 1);
}

int
presence_remove(const char *agent_id)
{
	return pres_change(agent_id, -1);
}

size_t
presence_count(void)
{
	size_t n;

	pthread_mutex_lock(&pres_lock);
	n = pres_n;
	pthread_mutex_unlock(&pres_lock);
	return n;
}

int
presence_stats_valid(const json_t *stats)
{
	const char *k;
	json_t *v;
	char *s;
	size_t len;

	if (!json_is_object(stats) || json_object_size(stats) > PRESENCE_MAX_KEYS)
		return 0;
	json_object_foreach((json_t *)stats, k, v) {
		if (json_is_object(v) || json_is_array(v) || strlen(k) > 64)
			return 0;
	}
	if ((s = json_dumps(stats, JSON_COMPACT)) == NULL)
		return 0;
	len = strlen(s);
	free(s);
	return len <= PRESENCE_STATS_MAX_BYTES;
}

int
presence_db_event(PGconn *c, const char *agent_id, const json_t *row, const char *type)
{
	json_t *ev;
	int rc;

	ev = json_pack("[{s:s,s:O,s:{s:s,s:O,s:O?,s:O?}}]", "type", type,
	    "branchId", json_object_get(row, "branchId"), "payload", "agentId", agent_id,
	    "name", json_object_get(row, "name"),
	    "hostname", json_object_get(row, "hostname"),
	    "version", json_object_get(row, "version"));
	rc = ev ? store_events_append(c, json_string_value(json_object_get(row, "companyId")),
	    ev) : -1;
	json_decref(ev);
	return rc;
}

/* The end of a presence change begun with db_begin: `found` is what the store
 * call returned. Appends the event when a row matched, then commits. */
static int
pres_finish(PGconn *c, const char *agent_id, int found, json_t *row, const char *type)
{
	int rc = -1;

	if (found == 0) {
		db_rollback(c);
		return 0;
	}
	if (found > 0 && presence_db_event(c, agent_id, row, type) == 0 && db_commit(c) == 0)
		rc = 0;
	json_decref(row);
	if (rc < 0) {
		db_rollback(c);
		db_check_broken(c);
	}
	return rc;
}

int
presence_db_connected(PGconn *c, const char *agent_id)
{
	if (store_agents_connected(c, agent_id, pres_instance) < 0) {
		db_check_broken(c);
		return -1;
	}
	return 0;
}

int
presence_db_hello(PGconn *c, const char *agent_id, const char *hostname,
    const char *version)
{
	json_t *row;
	int found;

	if (db_begin(c) < 0) {
		db_check_broken(c);
		return -1;
	}
	found = store_agents_hello(c, agent_id, pres_instance, hostname, version, &row);
	return pres_finish(c, agent_id, found, row, "agent:online");
}

int
presence_db_disconnected(PGconn *c, const char *agent_id)
{
	json_t *row;
	int found;

	if (db_begin(c) < 0) {
		db_check_broken(c);
		return -1;
	}
	found = store_agents_disconnected(c, agent_id, pres_instance, &row);
	return pres_finish(c, agent_id, found, row, "agent:offline");
}

int
presence_db_stats(PGconn *c, const char *agent_id, const json_t *stats)
{
	char company[STORE_ID_LEN + 1], branch[STORE_ID_LEN + 1];
	json_t *ev = NULL;
	int found, rc = -1;

	if (db_begin(c) < 0)
		goto out;
	if ((found = store_agents_stats(c, agent_id, stats, company, branch)) <= 0) {
		rc = found == 0 ? 1 : -1;
		goto out;
	}
	ev = json_pack("[{s:s,s:s,s:{s:s,s:O}}]", "type", "printer:sync:stats",
	    "branchId", branch, "payload", "agentId", agent_id, "stats", stats);
	if (!ev || store_events_append(c, company, ev) < 0 || db_commit(c) < 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		db_rollback(c);
	if (rc < 0)
		db_check_broken(c);
	json_decref(ev);
	return rc;
}

int
presence_db_heartbeat(PGconn *c)
{
	json_t *ids = json_array();
	int rc = 0;

	pthread_mutex_lock(&pres_lock);
	for (size_t i = 0; i < pres_n; i++)
		json_array_append_new(ids, json_string(pres_slots[i].id));
	pthread_mutex_unlock(&pres_lock);
	if (json_array_size(ids) > 0 &&
	    store_agents_heartbeat(c, ids, pres_instance) < 0) {
		db_check_broken(c);
		rc = -1;
	}
	json_decref(ids);
	return rc;
}
