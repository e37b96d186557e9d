/*
 * store_jobs.h: the SQL of print jobs. Every state change is an UPDATE (or
 * the INSERT) of print_jobs plus its job:<state> event appended through
 * store_events_append in the same transaction; creation also NOTIFYs
 * STORE_JOBS_CHANNEL so every instance's dispatcher looks at once (the
 * listener LISTENs on it). Functions
 * run on the caller's connection from the thread that owns it.
 */
#ifndef PM_STORE_JOBS_H
#define PM_STORE_JOBS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "server/store_tenants.h"

#define STORE_JOBS_CHANNEL "printmaster_jobs"

/* What a create needs; ids are canonical UUIDs, `branch` NULL for a
 * company-wide credential. `content_b64` is valid standard base64. */
struct store_job_new {
	const char *company, *branch, *printer;
	const char *title, *content_type, *content_b64;
	int copies;
	const char *created_by;		/* the credential's principal id */
	const char *idempotency_key;	/* or NULL */
	const char *request_hash;	/* hex digest of the request, with a key */
	long ttl_s;
};

/* The printer a job would go to, in scope: 1 (protocol and connection type
 * copied, "" when unknown), 0 not in scope, -1 failure. */
int store_jobs_printer(PGconn *c, const char *company, const char *branch,
    const char *printer, char protocol[16], char connection[16]);

/*
 * Create a queued job in one transaction with its job:queued event.
 * Returns 1 created, 2 an earlier job of the same sender and key with the
 * same request (replayed), STORE_JOBS_KEY_REUSED (that key with another
 * request), 0 the printer vanished, -1 failure. *job: a new object (the job)
 * on 1 and 2; caller json_decref()s.
 */
#define STORE_JOBS_KEY_REUSED (-2)
int store_jobs_create(PGconn *c, const struct store_job_new *in, json_t **job);

/* One job in scope: a new object, or NULL with *found 0 (not there) or -1. */
json_t *store_jobs_get(PGconn *c, const char *company, const char *branch,
    const char *id, int *found);

/* A page of jobs in id order: rows of (id, job json text); filters may be
 * NULL; `limit` + 1 rows are asked for so the caller sees whether more
 * follow. NULL on failure; caller PQclear()s. */
PGresult *store_jobs_list(PGconn *c, const char *company, const char *branch,
    const char *printer, const char *status, const char *after, long limit);

/* Cancel a queued job: 1 cancelled (*job the new state), 0 not cancellable
 * or not there (caller looks with store_jobs_get), -1 failure. */
int store_jobs_cancel(PGconn *c, const char *company, const char *branch,
    const char *id, json_t **job);

/* The state changes one dispatcher pass made. */
struct store_jobs_moves {
	int expired, requeued, sent;
};

/*
 * The dispatcher's steps, each its own transaction, at most `limit` jobs each.
 * maintain: expire queued jobs past their time; put back to queued the sent
 * jobs whose agent went away before accepting (both need no hurry: run once a
 * second). hand_out: hand queued jobs to an online agent held by `instance`
 * that sees the printer (-> sent), and pick the sent jobs to offer again to
 * their own agent (it reconnected, or said nothing for a while); `out` gets
 * one {"agentId", "message"} (the websocket message) per job to send. Both
 * add their counts to *moves; 0 or -1.
 */
int store_jobs_maintain(PGconn *c, int limit, struct store_jobs_moves *moves);
int store_jobs_hand_out(PGconn *c, const char *instance, int limit, json_t *out,
    struct store_jobs_moves *moves);

/* Whether any job is still queued or sent anywhere (1, 0 or -1), so an idle
 * dispatcher stops looking until the next notification (which the listener,
 * the instance's one LISTEN, hands it). */
int store_jobs_any_open(PGconn *c);

/* An agent's answer. accepted: 1 when the job is sent to that agent (it may
 * print), 0 not (it must not), -1. finish: state "printed" or "failed" with
 * reason (or NULL); 1 done (*queued_s: seconds since the job was created),
 * 0 not that agent's sent job, -1. */
int store_jobs_accepted(PGconn *c, const char *agent, const char *id);
int store_jobs_finish(PGconn *c, const char *agent, const char *id, const char *state,
    const char *reason, double *queued_s);

#endif
