/*
 * store_sweep.c: the SQL that turns the printers only offline agents see
 * `unknown` / agent-offline. A branch's printers with the agent's sighting are
 * read over the (company, branch) index; a sweep is rare (an agent going dark),
 * so no index on the sightings is kept for it.
 */
#include <stdio.h>
#include <string.h>

#include "server/db.h"
#include "server/store_locks.h"
#include "server/store_sweep.h"

static const struct db_stmt st_sweep = { "sweep_printers",
	"UPDATE printers p SET status = 'unknown', state_reasons = "
	"ARRAY['" STORE_SWEEP_REASON "'], updated_at = now() "
	"WHERE p.company_id = $1 AND p.branch_id = $2 AND p.sources -> 'agents' ? $3 "
	"AND (p.status <> 'unknown' OR p.state_reasons <> ARRAY['" STORE_SWEEP_REASON "']) "
	"AND NOT EXISTS (SELECT 1 FROM agents o WHERE o.company_id = p.company_id "
	"AND o.branch_id = p.branch_id AND o.id <> $3::uuid AND o.swept_at IS NULL "
	"AND o.revoked_at IS NULL AND p.sources -> 'agents' ? o.id::text) "
	"RETURNING p.id", 3 };

json_t *
store_sweep_printers(PGconn *c, const char *company_id, const char *branch_id,
    const char *agent)
{
	const char *p[3] = { company_id, branch_id, agent };
	PGresult *r = db_run(c, &st_sweep, PGRES_TUPLES_OK, p);
	json_t *ids;

	if (!r)
		return NULL;
	ids = json_array();
	for (int i = 0; ids && i < PQntuples(r); i++)
		json_array_append_new(ids, json_string(PQgetvalue(r, i, 0)));
	PQclear(r);
	return ids;
}

static const struct db_stmt st_try_lead = { "sweep_try_lead",
	"SELECT pg_try_advisory_lock(" STORE_LOCK_SWEEPER ")", 0 };

int
store_sweep_try_lead(PGconn *c)
{
	char v[8];

	if (db_first(db_run(c, &st_try_lead, PGRES_TUPLES_OK, NULL), v, sizeof(v)) < 0)
		return -1;
	return strcmp(v, "t") == 0;
}
