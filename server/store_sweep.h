/*
 * store_sweep.h: the printers side of the agent lease (server/sweeper.c): the
 * printers an offline agent was the last live witness of turn `unknown` with
 * the state reason `agent-offline`. The agents side is in store_agents.h.
 */
#ifndef PM_STORE_SWEEP_H
#define PM_STORE_SWEEP_H

#include <jansson.h>
#include <libpq-fe.h>

#define STORE_SWEEP_REASON "agent-offline"

/*
 * In the caller's transaction, after store_agents_lease_sweep() marked
 * `agent` swept: every printer of the agent's branch with a sighting of it
 * and none of an agent that is not swept (nor revoked) becomes `unknown` /
 * STORE_SWEEP_REASON (those already so are left alone). A new array of the
 * changed printers' ids (possibly empty), or NULL on failure; caller
 * json_decref()s.
 */
json_t *store_sweep_printers(PGconn *c, const char *company_id, const char *branch_id,
    const char *agent);

/* Take the sweeper's session lock (STORE_LOCK_SWEEPER) if no instance holds
 * it: 1 taken (it stays with this connection), 0 another instance holds it,
 * -1 database error. */
int store_sweep_try_lead(PGconn *c);

#endif
