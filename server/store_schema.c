/*
 * store_schema.c: the migration runner and the readiness ping. Not here: the
 * migrations' SQL (sql/, embedded at build time).
 */
#include "log.h"
#include "migrations.h"
#include "server/db.h"
#include "server/store_locks.h"
#include "server/store_schema.h"

static const struct db_stmt st_lock = { "schema_lock",
	"SELECT pg_advisory_xact_lock(" STORE_LOCK_MIGRATIONS ")", 0 };
static const struct db_stmt st_applied = { "schema_applied",
	"SELECT 1 FROM schema_migrations WHERE version = $1", 1 };
static const struct db_stmt st_record = { "schema_record",
	"INSERT INTO schema_migrations (version) VALUES ($1)", 1 };
static const struct db_stmt st_ping = { "schema_ping", "SELECT 1", 0 };

int
store_schema_migrate(PGconn *c)
{
	const struct migration *m;
	PGresult *r;
	int applied = 0;

	if (db_begin(c) < 0)
		return -1;
	if ((r = db_run(c, &st_lock, PGRES_TUPLES_OK, NULL)) == NULL)
		goto err;
	PQclear(r);
	/* Not prepared: the table may not exist before this. */
	if ((r = db_exec(c, PGRES_COMMAND_OK, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
	    0, NULL)) == NULL)
		goto err;
	PQclear(r);
	for (m = migrations; m->name; m++) {
		const char *p[1] = { m->name };
		int done = db_first(db_run(c, &st_applied, PGRES_TUPLES_OK, p), NULL, 0);

		if (done < 0)
			goto err;
		if (done)
			continue;
		r = PQexec(c, m->sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    PQresultStatus(r) != PGRES_TUPLES_OK) {
			log_warnx("[DB] migration %s failed: %s", m->name,
			    PQresultErrorMessage(r));
			PQclear(r);
			goto err;
		}
		PQclear(r);
		if ((r = db_run(c, &st_record, PGRES_COMMAND_OK, p)) == NULL)
			goto err;
		PQclear(r);
		log_info("[DB] applied migration %s", m->name);
		applied++;
	}
	if (db_commit(c) < 0)
		goto err;
	if (applied == 0)
		log_debug("[DB] schema up to date");
	return 0;
err:
	db_rollback(c);
	return -1;
}

int
store_schema_ping(PGconn *c)
{
	PGresult *r = db_run(c, &st_ping, PGRES_TUPLES_OK, NULL);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}
