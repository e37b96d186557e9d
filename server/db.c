/*
 * db.c: one libpq connection per thread (thread-local), reconnected lazily;
 * named statements prepared once per connection (the set of prepared ones is
 * libpq instance data of the connection, so it dies with it); pipelines.
 * Connections are registered in a list so shutdown can close them after the
 * worker threads are gone. The SQL itself lives in server/store_*.c; array
 * literals for parameters are built by db_array.c.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <stdint.h>

#include "log.h"
#include <libpq-events.h>

#include "db.h"

struct db_slot {
	PGconn *conn;
	struct db_slot *next;
};

#define DB_PREP_SLOTS 512	/* open addressing, at most half full */
#define DB_PIPE_MAX 64		/* results outstanding in one pipeline */

/* What the storage layer knows about one connection (libpq instance data). */
struct db_conn_data {
	const struct db_stmt *prepared[DB_PREP_SLOTS];
	int nprepared;
	/* Pipeline: one entry per result still to read; prep marks a Prepare. */
	struct {
		const struct db_stmt *s;
		int prep;
	} pipe[DB_PIPE_MAX];
	int pipe_head, pipe_len;
	int pipe_sync;		/* a Sync was sent and its result not yet read */
	int broken;		/* protocol state unknown: replace the connection */
	int no_reset;		/* its owner handles a lost connection itself */
};

static char *db_url, *db_session_url;
static char db_timeout[16] = "3";
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static struct db_slot *db_slots;
static _Thread_local struct db_slot *db_mine;
static _Thread_local unsigned long db_stmts, db_trips;
static _Thread_local char db_last_state[6];	/* SQLSTATE of the last failure */
static atomic_ulong db_errors;

int
db_init(const char *url, const char *session_url, long connect_timeout_s)
{
	free(db_url);
	free(db_session_url);
	db_session_url = NULL;
	if ((db_url = strdup(url)) == NULL ||
	    (db_session_url = strdup(session_url && *session_url ? session_url : url)) == NULL)
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
db_thread_round_trips(void)
{
	return db_trips;
}

static int
db_event_proc(PGEventId id, void *info, void *pass)
{
	(void)pass;
	if (id == PGEVT_CONNDESTROY) {
		PGEventConnDestroy *e = info;

		free(PQinstanceData(e->conn, db_event_proc));
	} else if (id == PGEVT_CONNRESET) {
		PGEventConnReset *e = info;
		struct db_conn_data *d = PQinstanceData(e->conn, db_event_proc);

		if (d) {
			int no_reset = d->no_reset;

			memset(d, 0, sizeof(*d));
			d->no_reset = no_reset;
		}
	}
	return 1;
}

/* The connection's storage data, made on first use; NULL without memory. */
static struct db_conn_data *
db_data(PGconn *c)
{
	struct db_conn_data *d = PQinstanceData(c, db_event_proc);

	if (d)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if (!PQregisterEventProc(c, db_event_proc, "printmaster", NULL) ||
	    !PQsetInstanceData(c, db_event_proc, d)) {
		free(d);
		return NULL;
	}
	return d;
}

static size_t
db_prep_slot(const struct db_conn_data *d, const struct db_stmt *s)
{
	size_t h = ((uintptr_t)s >> 4) % DB_PREP_SLOTS;

	while (d->prepared[h] && d->prepared[h] != s)
		h = (h + 1) % DB_PREP_SLOTS;
	return h;
}

static int
db_is_prepared(const struct db_conn_data *d, const struct db_stmt *s)
{
	return d->prepared[db_prep_slot(d, s)] == s;
}

static void
db_mark_prepared(struct db_conn_data *d, const struct db_stmt *s)
{
	size_t h = db_prep_slot(d, s);

	if (d->prepared[h] || d->nprepared >= DB_PREP_SLOTS / 2)
		return;
	d->prepared[h] = s;
	d->nprepared++;
}

/* Forget every mark (the server forgot its statements). */
static void
db_unmark_all(struct db_conn_data *d)
{
	memset(d->prepared, 0, sizeof(d->prepared));
	d->nprepared = 0;
}

/* Forget one mark: rebuilding the table is simpler than deleting from it. */
static void
db_unmark(struct db_conn_data *d, const struct db_stmt *s)
{
	const struct db_stmt *keep[DB_PREP_SLOTS];
	int n = 0;

	for (int i = 0; i < DB_PREP_SLOTS; i++)
		if (d->prepared[i] && d->prepared[i] != s)
			keep[n++] = d->prepared[i];
	db_unmark_all(d);
	for (int i = 0; i < n; i++)
		db_mark_prepared(d, keep[i]);
}

unsigned long
db_error_count(void)
{
	return atomic_load(&db_errors);
}

/*
 * Session settings travel in the startup packet ("options"), so a reset
 * connection (PQreset) gets them again. Quiet NOTICEs; a statement never hangs
 * a worker forever; no JIT: our statements are short, and compiling them
 * costs more than it saves. Generic plans: every statement is written so that
 * its parameters are index conditions, so planning it again on each call buys
 * nothing (the default re-plans the optional filters of the list every time).
 */
#define DB_SESSION_OPTIONS "-c client_min_messages=warning -c statement_timeout=30s " \
	"-c jit=off -c plan_cache_mode=force_generic_plan"

static PGconn *
db_connect_to(const char *url)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name",
	    "keepalives_idle", "options", NULL };
	const char *vals[] = { url, db_timeout, "printmaster", "30", DB_SESSION_OPTIONS,
	    NULL };
	PGconn *c;

	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK || db_data(c) == NULL) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", c ? PQerrorMessage(c) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		log_warnx("[DB] connect failed: %s", msg);
		atomic_fetch_add(&db_errors, 1);
		PQfinish(c);
		return NULL;
	}
	return c;
}

PGconn *
db_connect(void)
{
	return db_connect_to(db_url);
}

PGconn *
db_connect_session(void)
{
	return db_connect_to(db_session_url);
}

/*
 * After a failed call that began outside a transaction: when the failure was
 * the connection's (PostgreSQL restarted, the backend was terminated), make it
 * anew in place (the same PGconn, settings from the startup packet, statements
 * prepared again on use) and say the call may be retried: nothing of it can
 * have happened. 1 retry, 0 not.
 */
static int
db_reset_for_retry(PGconn *c, PGTransactionStatusType before)
{
	struct db_conn_data *d = PQinstanceData(c, db_event_proc);

	if (before != PQTRANS_IDLE || PQstatus(c) == CONNECTION_OK || !d || d->no_reset)
		return 0;
	PQreset(c);
	if (PQstatus(c) != CONNECTION_OK) {
		log_warnx("[DB] reconnect failed");
		return 0;
	}
	log_info("[DB] connection was lost; reconnected, retrying once");
	return 1;
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
	struct db_conn_data *d = PQinstanceData(c, db_event_proc);
	PGnotify *n;

	if (PQstatus(c) != CONNECTION_OK || p.fd < 0 || (d && d->broken) ||
	    PQtransactionStatus(c) != PQTRANS_IDLE)
		return 0;
	/*
	 * A server that ends a connection sends its goodbye and then end of file;
	 * libpq only notices the end on the read after the one that got the
	 * goodbye. Read while there is something to read (bounded).
	 */
	for (int i = 0; i < 4 && poll(&p, 1, 0) > 0; i++) {
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
			return 0;
		while ((n = PQnotifies(c)) != NULL)
			PQfreemem(n);
	}
	return PQstatus(c) == CONNECTION_OK;
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
db_retry_after_loss(PGconn *c, int was_idle)
{
	return db_reset_for_retry(c, was_idle ? PQTRANS_IDLE : PQTRANS_UNKNOWN);
}

void
db_no_reset(PGconn *c)
{
	struct db_conn_data *d = db_data(c);

	if (d)
		d->no_reset = 1;
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

/* Keep a result of status `want`; otherwise count, remember and log the
 * failure and return NULL. */
static PGresult *
db_result(PGconn *c, PGresult *r, int want)
{
	const char *state;
	char msg[512];

	if (r && PQresultStatus(r) == (ExecStatusType)want) {
		db_last_state[0] = '\0';
		return r;
	}
	if (r && PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
		/* Skipped after the pipeline's real failure, which set the state. */
		log_debug("[DB] statement skipped after an earlier failure");
		PQclear(r);
		return NULL;
	}
	atomic_fetch_add(&db_errors, 1);
	state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(db_last_state, sizeof(db_last_state), "%s", state ? state : "");
	snprintf(msg, sizeof(msg), "%s", r && PQresultErrorMessage(r)[0] ?
	    PQresultErrorMessage(r) : PQerrorMessage(c));
	msg[strcspn(msg, "\n")] = '\0';
	log_warnx("[DB] statement failed: %s", msg);
	PQclear(r);
	return NULL;
}

PGresult *
db_exec(PGconn *c, int want, const char *sql, int n, const char *const *params)
{
	PGTransactionStatusType before = PQtransactionStatus(c);
	PGresult *r;

	db_stmts++;
	db_trips++;
	r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != (ExecStatusType)want && db_reset_for_retry(c, before)) {
		PQclear(r);
		db_stmts++;
		db_trips++;
		r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	}
	return db_result(c, r, want);
}

static int
db_prepare(PGconn *c, struct db_conn_data *d, const struct db_stmt *s)
{
	PGresult *r;

	db_trips++;
	r = PQprepare(c, s->name, s->sql, s->nparams, NULL);
	/* 42P05: prepared already (our marks were lost); just as good. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK && !db_sqlstate_is(r, "42P05")) {
		log_warnx("[DB] could not prepare %s", s->name);
		return db_result(c, r, PGRES_COMMAND_OK) ? 0 : -1;
	}
	PQclear(r);
	db_mark_prepared(d, s);
	return 0;
}

PGresult *
db_run(PGconn *c, const struct db_stmt *s, int want, const char *const *params)
{
	PGTransactionStatusType before = PQtransactionStatus(c);
	struct db_conn_data *d = db_data(c);
	PGresult *r;
	int retried = 0;

	if (!d)
		return db_exec(c, want, s->sql, s->nparams, params);
again:
	if (!db_is_prepared(d, s) && db_prepare(c, d, s) < 0) {
		if (!retried && db_reset_for_retry(c, before)) {
			retried = 1;
			goto again;
		}
		return NULL;
	}
	db_stmts++;
	db_trips++;
	r = PQexecPrepared(c, s->name, s->nparams, params, NULL, NULL, 0);
	if (PQresultStatus(r) == (ExecStatusType)want || retried)
		return db_result(c, r, want);
	/*
	 * 26000: the server no longer knows the statement (DISCARD ALL, a pooler
	 * that switched connections). Outside a transaction nothing was done, so
	 * prepare again and retry once; likewise on a connection that was lost.
	 */
	if (db_sqlstate_is(r, "26000") && before == PQTRANS_IDLE) {
		PQclear(r);
		db_unmark_all(d);
		retried = 1;
		goto again;
	}
	if (db_reset_for_retry(c, before)) {
		PQclear(r);
		retried = 1;
		goto again;
	}
	return db_result(c, r, want);
}

int
db_pipe_begin(PGconn *c)
{
	struct db_conn_data *d = db_data(c);

	if (!d || !PQenterPipelineMode(c))
		return -1;
	d->pipe_head = d->pipe_len = d->pipe_sync = 0;
	return 0;
}

static int
db_pipe_push(struct db_conn_data *d, const struct db_stmt *s, int prep)
{
	int i;

	if (d->pipe_len >= DB_PIPE_MAX)
		return -1;
	i = (d->pipe_head + d->pipe_len++) % DB_PIPE_MAX;
	d->pipe[i].s = s;
	d->pipe[i].prep = prep;
	return 0;
}

int
db_pipe_send(PGconn *c, const struct db_stmt *s, const char *const *params)
{
	struct db_conn_data *d = db_data(c);

	if (!d || d->pipe_len + 2 > DB_PIPE_MAX)
		return -1;
	if (!db_is_prepared(d, s)) {
		if (!PQsendPrepare(c, s->name, s->sql, s->nparams, NULL))
			return -1;
		/* Marked now; unmarked again if its result says it failed. */
		db_mark_prepared(d, s);
		db_pipe_push(d, s, 1);
	}
	db_stmts++;
	if (!PQsendQueryPrepared(c, s->name, s->nparams, params, NULL, NULL, 0))
		return -1;
	return db_pipe_push(d, s, 0);
}

int
db_pipe_send_cmd(PGconn *c, const char *cmd)
{
	struct db_conn_data *d = db_data(c);

	if (!d || d->pipe_len + 1 > DB_PIPE_MAX)
		return -1;
	db_stmts++;
	if (!PQsendQueryParams(c, cmd, 0, NULL, NULL, NULL, NULL, 0))
		return -1;
	return db_pipe_push(d, NULL, 0);
}

int
db_pipe_flush(PGconn *c)
{
	struct db_conn_data *d = db_data(c);

	if (!d || !PQpipelineSync(c))
		return -1;
	db_trips++;
	d->pipe_sync = 1;
	return 0;
}

/* The next statement's result (NULL after a failure), its trailing NULL read. */
static PGresult *
db_pipe_next(PGconn *c, struct db_conn_data *d, int *prep)
{
	const struct db_stmt *s;
	PGresult *r, *extra;

	if (d->pipe_len == 0)
		return NULL;
	s = d->pipe[d->pipe_head].s;
	*prep = d->pipe[d->pipe_head].prep;
	d->pipe_head = (d->pipe_head + 1) % DB_PIPE_MAX;
	d->pipe_len--;
	if ((r = PQgetResult(c)) == NULL) {
		d->broken = 1;
		return NULL;
	}
	/* A Prepare that did not happen (skipped after a failure): forget its mark. */
	if (*prep && PQresultStatus(r) != PGRES_COMMAND_OK)
		db_unmark(d, s);
	/* Each statement's results end with a NULL; anything else is out of step. */
	while ((extra = PQgetResult(c)) != NULL) {
		d->broken = 1;
		PQclear(extra);
		if (PQstatus(c) != CONNECTION_OK)
			break;
	}
	return r;
}

PGresult *
db_pipe_recv(PGconn *c, int want)
{
	struct db_conn_data *d = db_data(c);
	PGresult *r;
	int prep;

	if (!d)
		return NULL;
	for (;;) {
		if (d->pipe_len == 0 || d->broken) {
			db_result(c, NULL, want);
			return NULL;
		}
		r = db_pipe_next(c, d, &prep);
		if (!prep)
			break;
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			/* The statement after a failed Prepare fails too. */
			if (r && PQresultStatus(r) != PGRES_PIPELINE_ABORTED)
				log_warnx("[DB] could not prepare %s", d->pipe[(d->pipe_head +
				    DB_PIPE_MAX - 1) % DB_PIPE_MAX].s->name);
			db_result(c, r, PGRES_COMMAND_OK);
			continue;
		}
		PQclear(r);
	}
	return db_result(c, r, want);
}

int
db_first(PGresult *r, char *out, size_t len)
{
	int n;

	if (!r)
		return -1;
	n = PQntuples(r) > 0;
	if (n && out)
		snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

int
db_pipe_done(PGconn *c, int want)
{
	PGresult *r = db_pipe_recv(c, want);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

int
db_pipe_send_json(PGconn *c, const struct db_stmt *s, const char **params, int json_at,
    const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	int rc;

	if (!text)
		return -1;
	params[json_at] = text;
	rc = db_pipe_send(c, s, params);
	params[json_at] = NULL;
	free(text);
	return rc;
}

int
db_pipe_end(PGconn *c)
{
	struct db_conn_data *d = db_data(c);
	PGresult *r;
	int prep, rc = 0;

	if (!d)
		return -1;
	while (d->pipe_len > 0 && !d->broken)
		PQclear(db_pipe_next(c, d, &prep));
	if (d->pipe_sync && !d->broken) {
		r = PQgetResult(c);
		if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC)
			d->broken = 1;
		PQclear(r);
		d->pipe_sync = 0;
	}
	if (d->broken || !PQexitPipelineMode(c)) {
		d->broken = 1;
		rc = -1;
	}
	d->pipe_len = 0;
	return rc;
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

