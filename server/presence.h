/*
 * presence.h: which agents hold a websocket. In memory, per instance: a count
 * of connections per agent id (any thread). In the database: agents.online_instance
 * and last_seen (refreshed by a heartbeat), so every instance and the REST API
 * agree on who is online, and agent:online / agent:offline events are written.
 */
#ifndef PM_PRESENCE_H
#define PM_PRESENCE_H

#include <jansson.h>
#include <libpq-fe.h>

#define PRESENCE_HEARTBEAT_S 30
#define PRESENCE_STATS_MAX_BYTES 4096

/* Once at start: picks this instance's random id. 0 or -1. */
int presence_init(void);
const char *presence_instance(void);

/* In-memory set, any thread. Return the agent's connection count after. */
int presence_add(const char *agent_id);
int presence_remove(const char *agent_id);
size_t presence_count(void);

/* Pure: stats must be a flat JSON object of scalars, at most
 * PRESENCE_STATS_MAX_BYTES serialized. 1 when acceptable. */
int presence_stats_valid(const json_t *stats);

/*
 * Database side (SQL in store_agents.c), each in its own transaction on the
 * caller's connection, for the calling thread (never the lws thread). 0 or -1.
 * connected: mark the agent held by this instance. hello: record hostname and
 * version and write agent:online. disconnected: when this instance still holds
 * it, clear that and write agent:offline. stats: store agents.stats and write
 * printer:sync:stats; 1 (nothing written) when the agent, its branch or its
 * company is revoked. heartbeat: refresh last_seen of every agent held here.
 */
int presence_db_connected(PGconn *c, const char *agent_id);
int presence_db_hello(PGconn *c, const char *agent_id, const char *hostname,
    const char *version);
int presence_db_disconnected(PGconn *c, const char *agent_id);
int presence_db_stats(PGconn *c, const char *agent_id, const json_t *stats);
int presence_db_heartbeat(PGconn *c);

/* Append agent event `type` (agent:online, agent:offline) for the agent `row`
 * describes ({companyId, branchId, name, hostname, version}, as the presence
 * and lease functions of store_agents.h return it), in the caller's open
 * transaction. 0 or -1. */
int presence_db_event(PGconn *c, const char *agent_id, const json_t *row,
    const char *type);

#endif
