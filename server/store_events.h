/*
 * store_events.h: the one owner of printer_events, the durable event log.
 * Events are appended in the caller's transaction and announced with NOTIFY on
 * STORE_EVENTS_CHANNEL, so none is seen for a rolled-back write. Order is per
 * company: an append takes a transaction-level advisory lock of its company
 * only, so one company's ids commit in id order while other companies' writes
 * never wait for it. The notification names the company and the id range.
 */
#ifndef PM_STORE_EVENTS_H
#define PM_STORE_EVENTS_H

#include <jansson.h>
#include <libpq-fe.h>

#define STORE_EVENTS_CHANNEL "printmaster_events"
#define STORE_COMMANDS_CHANNEL "printmaster_commands"

/*
 * One event row as the gateway needs it (gw_feed_events_from() makes the
 * envelopes). The strings point into the PGresult they came from and live as
 * long as it.
 */
struct store_event {
	long long id;
	const char *company_id;
	const char *branch_id;		/* "" for company-level events */
	const char *type;		/* "printer:updated", ... */
	long long ts_us;		/* created_at, Unix microseconds */
	const char *payload;		/* a JSON object */
	size_t payload_len;
};

/*
 * Append events inside the caller's open transaction. `events` is an array of
 * {"type", "branchId": uuid|null, "printerId": uuid|null, "payload": {...}}; an
 * item with "withPrinter": true gets {"printer": <the stored printer>} as its
 * payload, read in the same statement. One statement whatever the count.
 * 0 or -1 (the caller rolls back).
 */
int store_events_append(PGconn *c, const char *company_id, const json_t *events);
/* The same as a pipelined pair (see db_pipe_*). */
int store_events_append_send(PGconn *c, const char *company_id, const json_t *events);
int store_events_append_recv(PGconn *c);

/* A NOTIFY payload of STORE_EVENTS_CHANNEL: "<company>:<first id>:<last id>".
 * 0, or -1 when malformed. */
int store_events_parse_notice(const char *payload, char company[37], long long *first,
    long long *last);

/*
 * Read events of several companies: for each i, the rows of company[i] with
 * after[i] < id <= upto[i] (upto < 0: no upper bound), at most `limit` rows in
 * all, in (company, id) order. The result's rows are read with
 * store_events_row(). NULL on a database error. Caller PQclear()s.
 */
PGresult *store_events_read(PGconn *c, int n, const char *const *company,
    const long long *after, const long long *upto, int limit);
/* Row i of a store_events_read / store_events_replay result. */
void store_events_row(const PGresult *res, int i, struct store_event *ev);

/*
 * Replay for one connection: the highest event id of the company (head) and,
 * read in the same snapshot, up to `limit` events after `since` in the
 * company (branches NULL) or in those branches. NULL on error; *head set.
 * Rows are read with store_events_row(); a result may hold one row with a
 * NULL event when there are none (store_events_row gives id 0 then).
 */
PGresult *store_events_replay(PGconn *c, const char *company_id, long long since,
    const char *const *branches, int nbranches, int limit, long long *head);
/* The highest event id of a company, 0 when it has none; -1 on error. */
long long store_events_head(PGconn *c, const char *company_id);

/* Delete at most `batch` events older than `hours`; the number deleted or -1. */
long store_events_prune(PGconn *c, long hours, long batch);

/* NOTIFY a command for agents (payload JSON, ids only: under 7900 bytes). */
int store_events_command(PGconn *c, const json_t *payload);

#endif
