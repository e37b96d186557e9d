/*
 * store_batches.h: sync_batches, the record of every bulk request and the
 * stored response an Idempotency-Key replays. Pipelined _send/_recv pairs,
 * used inside the bulk transaction.
 */
#ifndef PM_STORE_BATCHES_H
#define PM_STORE_BATCHES_H

#include <libpq-fe.h>

/* The stored response of (company, branch, agent or NULL, key). */
int store_batches_find_send(PGconn *c, const char *company_id, const char *branch_id,
    const char *agent_id, const char *idem_key);
/* 1 found (*response: JSON text, *request_hash: hex, both malloc'd, caller
 * frees), 0 none, -1 error. */
int store_batches_find_recv(PGconn *c, char **response, char **request_hash);

struct store_batch {
	const char *id, *company_id, *branch_id, *agent_id;	/* agent may be NULL */
	const char *idem_key, *request_hash;			/* NULL without a key */
	long total;
	int counts[6];		/* new, updated, unchanged, skipped, duplicate, failed */
	double duration_ms;
	const char *response;	/* JSON text */
};

int store_batches_record_send(PGconn *c, const struct store_batch *b);
int store_batches_record_recv(PGconn *c);

/* Delete at most `batch` rows older than `hours` (their Idempotency-Keys are
 * forgotten with them); the number deleted, or -1. Outside a transaction. */
long store_batches_prune(PGconn *c, long hours, long batch);

#endif
