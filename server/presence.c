/*
 * presence.c: the per-instance set of connected agents and the agents-table
 * updates that go with a connection's life (online, hello, stats, offline).
 * The set is tiny and touched rarely, so one mutex and a linear array do.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "log.h"
#include "server/db.h"
#include "server/events.h"
#include "server/http.h"
#include "server/presence.h"

#define PRESENCE_MAX_KEYS 32

struct presence_slot {
	char id[HTTP_ID_LEN + 1];
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

/* Run `sql` (returning company_id, branch_id, name, hostname, version) and, when
 * it matched a row, append event `type` built from it; one transaction. */
static int
pres_update_emit(PGconn *c, const char *sql, int n, const char *const *p,
    const char *type)
{
	PGresult *r;
	json_t *ev;
	int rc;

	if (db_begin(c) < 0)
		return -1;
	if ((r = db_exec(c, PGRES_TUPLES_OK, sql, n, p)) == NULL)
		goto err;
	if (PQntuples(r) == 0) {
		PQclear(r);
		db_rollback(c);
		return 0;
	}
	ev = json_pack("[{s:s,s:s,s:{s:s,s:s,s:s?,s:s?}}]", "type", type,
	    "branchId", PQgetvalue(r, 0, 1), "payload", "agentId", p[0],
	    "name", PQgetvalue(r, 0, 2),
	    "hostname", PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3),
	    "version", PQgetisnull(r, 0, 4) ? NULL : PQgetvalue(r, 0, 4));
	rc = ev ? events_append(c, PQgetvalue(r, 0, 0), ev) : -1;
	json_decref(ev);
	PQclear(r);
	if (rc < 0 || db_commit(c) < 0)
		goto err;
	return 0;
err:
	db_rollback(c);
	db_check_broken(c);
	return -1;
}

int
presence_db_connected(PGconn *c, const char *agent_id)
{
	const char *p[2] = { agent_id, pres_instance };
	PGresult *r;

	r = db_exec(c, PGRES_COMMAND_OK, "UPDATE agents SET online_instance = $2, "
	    "connected_at = now(), last_seen = now() WHERE id = $1", 2, p);
	if (!r) {
		db_check_broken(c);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
presence_db_hello(PGconn *c, const char *agent_id, const char *hostname,
    const char *version)
{
	const char *p[4] = { agent_id, pres_instance, hostname, version };

	return pres_update_emit(c, "UPDATE agents SET online_instance = $2, "
	    "hostname = coalesce($3, hostname), version = coalesce($4, version), "
	    "last_seen = now(), connected_at = coalesce(connected_at, now()) "
	    "WHERE id = $1 AND revoked_at IS NULL "
	    "RETURNING company_id, branch_id, name, hostname, version", 4, p,
	    "agent:online");
}

int
presence_db_disconnected(PGconn *c, const char *agent_id)
{
	const char *p[2] = { agent_id, pres_instance };

	return pres_update_emit(c, "UPDATE agents SET online_instance = NULL, "
	    "last_seen = now() WHERE id = $1 AND online_instance = $2 "
	    "RETURNING company_id, branch_id, name, hostname, version", 2, p,
	    "agent:offline");
}

int
presence_db_stats(PGconn *c, const char *agent_id, const json_t *stats)
{
	char *s = json_dumps(stats, JSON_COMPACT);
	const char *p[2] = { agent_id, s };
	PGresult *r = NULL;
	json_t *ev = NULL;
	int rc = -1;

	if (!s)
		return -1;
	if (db_begin(c) < 0)
		goto out;
	r = db_exec(c, PGRES_TUPLES_OK, "UPDATE agents SET stats = $2::jsonb, "
	    "last_seen = now() WHERE id = $1 RETURNING company_id, branch_id", 2, p);
	if (!r || PQntuples(r) != 1)
		goto out;
	ev = json_pack("[{s:s,s:s,s:{s:s,s:O}}]", "type", "printer:sync:stats",
	    "branchId", PQgetvalue(r, 0, 1), "payload", "agentId", agent_id,
	    "stats", stats);
	if (!ev || events_append(c, PQgetvalue(r, 0, 0), ev) < 0 || db_commit(c) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		db_rollback(c);
		db_check_broken(c);
	}
	PQclear(r);
	json_decref(ev);
	free(s);
	return rc;
}

int
presence_db_heartbeat(PGconn *c)
{
	json_t *ids = json_array();
	const char *p[2] = { NULL, pres_instance };
	PGresult *r;
	char *s;

	pthread_mutex_lock(&pres_lock);
	for (size_t i = 0; i < pres_n; i++)
		json_array_append_new(ids, json_string(pres_slots[i].id));
	pthread_mutex_unlock(&pres_lock);
	s = json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
	json_decref(ids);
	if (!s)
		return 0;
	p[0] = s;
	r = db_exec(c, PGRES_COMMAND_OK, "UPDATE agents SET last_seen = now(), "
	    "online_instance = $2 WHERE id IN (SELECT value::uuid FROM "
	    "jsonb_array_elements_text($1::jsonb))", 2, p);
	free(s);
	if (!r) {
		db_check_broken(c);
		return -1;
	}
	PQclear(r);
	return 0;
}
