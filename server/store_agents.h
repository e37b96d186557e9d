/*
 * store_agents.h: the SQL of agents: the admin CLI's create/list/revoke, the
 * agents API (list, sync statistics, command targets) and presence (online,
 * hello, stats, heartbeat, offline). Each function runs named statements
 * prepared once per connection (db_run) on the caller's connection, from the
 * thread that owns it; none opens a transaction of its own.
 */
#ifndef PM_STORE_AGENTS_H
#define PM_STORE_AGENTS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "server/store_tenants.h"

/*
 * Admin CLI. create: an agent of the active `branch` (of an active company)
 * with the key's hash (auth_key_new's text form); 1 and the id in `id`, 0 when
 * there is no such active branch, -1 on failure. list: rows of four text
 * columns, id, name, "branch:<id>", "active" or "revoked"; filters `company`,
 * `branch`, each or NULL; NULL on failure, caller PQclear()s. revoke: 1 when
 * it was active and is revoked now (announced on STORE_AUTH_CHANNEL as
 * "agent:<id>"), 0 when no active agent has that id, -1. exists: 1, 0 or -1.
 */
int store_agents_create(PGconn *c, const char *branch, const char *name,
    const char *key_hash, char id[STORE_ID_LEN + 1]);
PGresult *store_agents_list_rows(PGconn *c, const char *company, const char *branch);
int store_agents_revoke(PGconn *c, const char *id);
int store_agents_exists(PGconn *c, const char *id);

#define STORE_AGENTS_NAME_MAX 800	/* bytes: 200 characters of UTF-8 */

/* The name of agent `id` of `company` into `name` (STORE_AGENTS_NAME_MAX + 1
 * bytes hold any); 1 found, 0 not, -1. */
int store_agents_name(PGconn *c, const char *id, const char *company, char *name,
    size_t len);

/*
 * The agents API, scoped to `company` and `branch` (NULL: all of the
 * company's). Each returns a new object, caller json_decref()s, or NULL on
 * failure. list_json: {"agents":[{id, name, branchId, hostname, version, online,
 * lastSeen, connectedAt, offlineSince, stats}...]} of the active agents.
 * sync_stats_json: {agents, online, printers, printersOnline, batches,
 * lastBatchAt, printersSynced, itemsFailed, avgDurationMs} over the kept
 * batches, plus over the last windowSeconds: processingRate,
 * printersSyncedRecent, itemsFailedRecent, successRate, batchesRecent, responseMs {mean, p95}; the sums
 * of the agents' reported queueSize, retries, activeBatches; and alerts
 * [{branchId, reason, since}].
 */
json_t *store_agents_list_json(PGconn *c, const char *company, const char *branch);
json_t *store_agents_sync_stats_json(PGconn *c, const char *company, const char *branch);

/* Is printer `printer` in the scope? Active agent `agent`? 1, 0 or -1. */
int store_agents_printer_in_scope(PGconn *c, const char *company, const char *branch,
    const char *printer);
int store_agents_active_in_scope(PGconn *c, const char *company, const char *branch,
    const char *agent);

/*
 * Online agents a command goes to, as a new array of at most `max` id
 * strings (possibly empty), or NULL on failure; caller json_decref()s.
 * for_printer: the active agents of the printer's branch that report it, or
 * every online one of that branch when none does. one: `agent` itself, if
 * online. branch: every active online agent of `branch` (required here).
 */
json_t *store_agents_online_for_printer(PGconn *c, const char *company,
    const char *branch, const char *printer, size_t max);
json_t *store_agents_online_one(PGconn *c, const char *company, const char *branch,
    const char *agent, size_t max);
json_t *store_agents_online_in_branch(PGconn *c, const char *company, const char *branch,
    size_t max);

/*
 * Presence, `instance` being this server instance's id. connected: mark the
 * agent held here (0 or -1). hello: the same, plus hostname and version when
 * not NULL, for an active agent; disconnected: clear the mark when this
 * instance still holds it. Both return 1 with *row a new object {companyId,
 * branchId, name, hostname, version} (the last two may be null; caller
 * json_decref()s), 0 when no row matched, -1 on failure.
 */
int store_agents_connected(PGconn *c, const char *agent, const char *instance);
int store_agents_hello(PGconn *c, const char *agent, const char *instance,
    const char *hostname, const char *version, json_t **row);
int store_agents_disconnected(PGconn *c, const char *agent, const char *instance,
    json_t **row);

/*
 * Store the agent's statistics and refresh last_seen, unless the agent, its
 * branch or its company is revoked. 1 written (the agent's company and branch
 * in the buffers), 0 not written, -1 on failure.
 */
int store_agents_stats(PGconn *c, const char *agent, const json_t *stats,
    char company[STORE_ID_LEN + 1], char branch[STORE_ID_LEN + 1]);

/* Refresh last_seen and the holding instance of the agents `ids` (an array
 * of id strings). 0 or -1. */
int store_agents_heartbeat(PGconn *c, const json_t *ids, const char *instance);

/*
 * Leases (the sweeper, server/sweeper.c; `offline_after` in seconds).
 * expired: agents heard from once (websocket or bulk request) that have had no
 * contact for longer and are not swept yet, a new array of at most `max` ids
 * or NULL. sweep: for one of them, under its row lock and only if that still
 * holds, mark it swept (and offline, if its websocket had not already said
 * so); 1 with *row as store_agents_hello's and *was_offline 1 when
 * agent:offline was already written, 0 when it no longer applies, -1.
 * back: swept agents that made contact since without a websocket (HTTP
 * only), at most `max` ids or NULL. renew: clear that agent's offline
 * and swept marks under its row lock; 1 with *row, 0, -1.
 */
json_t *store_agents_lease_expired(PGconn *c, long offline_after, size_t max);
int store_agents_lease_sweep(PGconn *c, const char *agent, long offline_after,
    json_t **row, int *was_offline);
json_t *store_agents_lease_back(PGconn *c, size_t max);
int store_agents_lease_renew(PGconn *c, const char *agent, json_t **row);

#endif
