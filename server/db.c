/*
 * db.c: one libpq connection per thread (thread-local), reconnected lazily, and
 * the migration runner. Connections are registered in a list so shutdown can
 * close them after the worker threads are gone.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

#include "log.h"
#include "db.h"
#include "migrations.h"

struct db_slot {
	PGconn *conn;
	struct db_slot *next;
};

static char *db_url;
static char db_timeout[16] = "3";
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static struct db_slot *db_slots;
static _Thread_local struct db_slot *db_mine;
static _Thread_local unsigned long db_stmts;
static _Thread_local char db_last_state[6];	/* SQLSTATE of the last failure */
static atomic_ulong db_errors;

int
db_init(const char *url, long connect_timeout_s)
{
	free(db_url);
	if ((db_url = strdup(url)) == NULL)
		return -1;
	snprintf(db_timeout, sizeof(db_timeout), "%ld", connect_timeout_s);
	return 0;
}

void
db_shutdown(void)
{
	struct db_slot *s, *next;

	pthread_mutex_lock(&db_lock);
	for (s = db_slots; s; s = next) {
		next = s->next;
		if (s->conn)
			PQfinish(s->conn);
		free(s);
	}
	db_slots = NULL;
	pthread_mutex_unlock(&db_lock);
	free(db_url);
	db_url = NULL;
}

unsigned long
db_thread_statements(void)
{
	return db_stmts;
}

unsigned long
db_error_count(void)
{
	return atomic_load(&db_errors);
}

PGconn *
db_connect(void)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name",
	    "keepalives_idle", NULL };
	const char *vals[] = { db_url, db_timeout, "printmaster", "30", NULL };
	PGconn *c;
	PGresult *r;

	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", c ? PQerrorMessage(c) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		log_warnx("[DB] connect failed: %s", msg);
		atomic_fetch_add(&db_errors, 1);
		PQfinish(c);
		return NULL;
	}
	/*
	 * Quiet NOTICEs; a statement never hangs a worker forever; no JIT: our
	 * statements are short, and compiling them costs more than it saves.
	 */
	r = PQexec(c, "SET client_min_messages = warning; SET statement_timeout = '30s';"
	    " SET jit = off");
	PQclear(r);
	return c;
}

/*
 * An idle connection has nothing to read. If its socket is readable the
 * server has said something on its own, usually "terminating connection" on
 * a restart: read it, and if that ends the connection, say so, so the request
 * about to start gets a fresh one instead of failing on a dead one.
 */
static int
db_alive(PGconn *c)
{
	struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };
	PGnotify *n;

	if (PQstatus(c) != CONNECTION_OK || p.fd < 0)
		return 0;
	if (poll(&p, 1, 0) <= 0)
		return 1;
	if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
		return 0;
	while ((n = PQnotifies(c)) != NULL)
		PQfreemem(n);
	return 1;
}

PGconn *
db_conn(void)
{
	if (!db_mine) {
		if ((db_mine = calloc(1, sizeof(*db_mine))) == NULL)
			return NULL;
		pthread_mutex_lock(&db_lock);
		db_mine->next = db_slots;
		db_slots = db_mine;
		pthread_mutex_unlock(&db_lock);
	}
	if (db_mine->conn && !db_alive(db_mine->conn)) {
		PQfinish(db_mine->conn);
		db_mine->conn = NULL;
	}
	if (!db_mine->conn) {
		db_mine->conn = db_connect();
		if (db_mine->conn)
			log_info("[DB] connected");
	}
	return db_mine->conn;
}

int
db_check_broken(PGconn *c)
{
	if (c && PQstatus(c) == CONNECTION_OK)
		return 0;
	if (db_mine && db_mine->conn == c) {
		PQfinish(c);
		db_mine->conn = NULL;
	}
	return 1;
}

int
db_sqlstate_is(const PGresult *res, const char *state)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s && strcmp(s, state) == 0;
}

PGresult *
db_exec(PGconn *c, int want, const char *sql, int n, const char *const *params)
{
	PGresult *r;

	db_stmts++;
	r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	if (r && PQresultStatus(r) == (ExecStatusType)want) {
		db_last_state[0] = '\0';
		return r;
	}
	atomic_fetch_add(&db_errors, 1);
	snprintf(db_last_state, sizeof(db_last_state), "%s",
	    r && PQresultErrorField(r, PG_DIAG_SQLSTATE) ?
	    PQresultErrorField(r, PG_DIAG_SQLSTATE) : "");
	{
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		log_warnx("[DB] statement failed: %s", msg);
	}
	PQclear(r);
	return NULL;
}

int
db_last_error_transient(void)
{
	static const char *const transient[] = { "08", "40", "53", "55P03", "57", NULL };

	/* No SQLSTATE at all: libpq failed before the server answered. */
	if (db_last_state[0] == '\0')
		return 1;
	for (const char *const *t = transient; *t; t++)
		if (strncmp(db_last_state, *t, strlen(*t)) == 0)
			return 1;
	return 0;
}

static int
db_simple(PGconn *c, const char *sql)
{
	PGresult *r = db_exec(c, PGRES_COMMAND_OK, sql, 0, NULL);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

int
db_begin(PGconn *c)
{
	return db_simple(c, "BEGIN");
}

int
db_commit(PGconn *c)
{
	return db_simple(c, "COMMIT");
}

void
db_rollback(PGconn *c)
{
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		return;
	r = PQexec(c, "ROLLBACK");
	PQclear(r);
}

int
db_migrate(PGconn *c)
{
	const struct migration *m;
	PGresult *r;
	int applied = 0;

	if (db_begin(c) < 0)
		return -1;
	/* A fixed lock id: every instance starting at once queues here. */
	if ((r = db_exec(c, PGRES_TUPLES_OK, "SELECT pg_advisory_xact_lock(7412001)", 0,
	    NULL)) == NULL)
		goto err;
	PQclear(r);
	if (db_simple(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())") < 0)
		goto err;
	for (m = migrations; m->name; m++) {
		const char *p[1] = { m->name };

		r = db_exec(c, PGRES_TUPLES_OK,
		    "SELECT 1 FROM schema_migrations WHERE version = $1", 1, p);
		if (!r)
			goto err;
		if (PQntuples(r) > 0) {
			PQclear(r);
			continue;
		}
		PQclear(r);
		r = PQexec(c, m->sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    PQresultStatus(r) != PGRES_TUPLES_OK) {
			log_warnx("[DB] migration %s failed: %s", m->name,
			    PQresultErrorMessage(r));
			PQclear(r);
			goto err;
		}
		PQclear(r);
		if ((r = db_exec(c, PGRES_COMMAND_OK,
		    "INSERT INTO schema_migrations (version) VALUES ($1)", 1, p)) == NULL)
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
