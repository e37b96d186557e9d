/*
 * db.h: PostgreSQL access. Each thread that talks to the database (every HTTP
 * worker) owns one libpq connection, made on first use and remade after the
 * database comes back; while it is away db_conn() returns NULL and the caller
 * answers 503. Migrations run once at start under an advisory lock.
 */
#ifndef PM_DB_H
#define PM_DB_H

#include <jansson.h>
#include <libpq-fe.h>

/* Remember the connection settings: `url` for the request connections,
 * `session_url` (NULL or "": url) for connections whose session state matters
 * (LISTEN, a session advisory lock), which a transaction-mode pooler would not
 * keep. Call once before any thread uses db_conn. */
int db_init(const char *url, const char *session_url, long connect_timeout_s);
/* Close every thread's connection; call after the threads have stopped. */
void db_shutdown(void);

/* A fresh connection (for the listener, the admin CLI); NULL on failure, with
 * the reason logged. Caller PQfinish()es it. */
PGconn *db_connect(void);
/* The same on session_url: for LISTEN and session locks. */
PGconn *db_connect_session(void);

/* A statement that fails because the connection was lost outside a
 * transaction is retried once on the same PGconn, made anew (PQreset). A
 * connection whose session state matters (LISTEN) opts out: its owner sees
 * the failure and starts over. */
void db_no_reset(PGconn *c);
/* The same for a pipeline the caller began outside a transaction (was_idle):
 * 1 when the connection was lost and is made anew, so the caller may run the
 * pipeline again; 0 otherwise. */
int db_retry_after_loss(PGconn *c, int was_idle);

/* This thread's connection, connected; NULL when the database is unreachable. */
PGconn *db_conn(void);
/* After a failed statement: if the connection is broken, forget it so the next
 * db_conn() reconnects. Returns 1 when the failure was the connection's. */
int db_check_broken(PGconn *c);


/*
 * A statement of the storage layer (server/store_*.c): a fixed name, its SQL
 * and its parameter count. Defined `static const` in the store file that owns
 * it; prepared on a connection the first time it runs there (PQprepare) and
 * from then on executed by name, so PostgreSQL parses it once per connection.
 */
struct db_stmt {
	const char *name;
	const char *sql;
	int nparams;
};

/* Run a stored statement with text parameters (s->nparams of them); logs and
 * returns NULL unless the result status is `want`. Caller PQclear()s. */
PGresult *db_run(PGconn *c, const struct db_stmt *s, int want, const char *const *params);

/*
 * Pipeline mode (libpq 14+): several statements in one round trip.
 *   db_pipe_begin(c); db_pipe_send(c, ...) ...; db_pipe_flush(c);
 *   r = db_pipe_recv(c, want) once per statement sent, in order;
 *   db_pipe_end(c).
 * Statements not yet prepared on the connection are prepared inside the same
 * pipeline. After a failed statement the ones after it fail too (NULL from
 * db_pipe_recv); db_pipe_end() drains them and leaves pipeline mode. 0 or -1.
 */
int db_pipe_begin(PGconn *c);
int db_pipe_send(PGconn *c, const struct db_stmt *s, const char *const *params);
/* A parameterless command such as BEGIN or COMMIT, in the pipeline. */
int db_pipe_send_cmd(PGconn *c, const char *cmd);
int db_pipe_flush(PGconn *c);
PGresult *db_pipe_recv(PGconn *c, int want);
/* Whether a result (NULL: the statement failed) has a row, its first value
 * copied to out (len bytes, when out is given); clears the result.
 * 1 a row, 0 none, -1 failed. For db_run(...) and db_pipe_recv(...) alike. */
int db_first(PGresult *r, char *out, size_t len);
/* db_pipe_recv for a statement whose rows nobody reads: 0 or -1. */
int db_pipe_done(PGconn *c, int want);
/* db_pipe_send with params[json_at] set to j serialized (compact). */
int db_pipe_send_json(PGconn *c, const struct db_stmt *s, const char **params,
    int json_at, const json_t *j);
int db_pipe_end(PGconn *c);

/* Run an unnamed statement (migrations, session settings: things run once).
 * Same contract as db_run. */
PGresult *db_exec(PGconn *c, int want, const char *sql, int n, const char *const *params);
/* A PostgreSQL array literal ("{\"a\",\"b\"}") of the strings in a JSON
 * array (other values are skipped), for a text[] parameter. Caller frees. */
char *db_text_array(const json_t *strings);
/* The same from n C strings. Caller frees. */
char *db_text_array_of(const char *const *v, size_t n);
/*
 * An array literal built one element at a time, for a column of a set of rows
 * sent as arrays (`unnest($1::uuid[], $2::text[], ...)`: PostgreSQL parses
 * array literals several times faster than json_to_recordset parses JSON).
 * Start from `struct db_array a = { 0 }`; db_array_add(&a, NULL) adds a NULL;
 * db_array_finish() returns the literal (caller frees; NULL when out of
 * memory) and resets a.
 */
struct db_array {
	char *buf;
	size_t len, cap;
	int n, failed;
};
void db_array_add(struct db_array *a, const char *s);
char *db_array_finish(struct db_array *a);

/* BEGIN/COMMIT/ROLLBACK helpers: 0 or -1. */
int db_begin(PGconn *c);
int db_commit(PGconn *c);
void db_rollback(PGconn *c);

/* True when SQLSTATE of res is a unique violation or similar class string. */
int db_sqlstate_is(const PGresult *res, const char *state);
/* True when this thread's last failed db_exec failed for a reason that may
 * pass on retry (connection, deadlock or serialization, lock or statement
 * timeout, resources, shutdown), false for one that would fail again. */
int db_last_error_transient(void);

/* Statements db_run, db_pipe_send and db_exec have sent from the calling thread so far (a request's
 * handler reads it before and after to log how many it used). */
unsigned long db_thread_statements(void);

/* Round trips to PostgreSQL from the calling thread so far (a pipeline's
 * flush counts one). The bulk handler logs how many a request used. */
unsigned long db_thread_round_trips(void);

/* Counter of database errors, for /metrics. */
unsigned long db_error_count(void);

#endif
