/*
 * api_bulk.c: POST /api/v1/printing/printers/bulk. Validate every item, then
 * in one transaction, a fixed number of statements whatever the batch size
 * and two round trips (pipelines), three for a small batch that inserts:
 * (1) BEGIN, look up a known Idempotency-Key, fetch the stored printers any
 * item could be; decide each item (bulk.c); a batch that inserts reads and
 * decides again under the branch's lock (a large one takes it at once);
 * (2) write the rows (a statement for each of new, updated and unchanged rows
 * the batch has), the batch record, the events, COMMIT. The response goes
 * out after COMMIT. Not here: the decision itself (bulk.c) and the SQL
 * (store_*.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "common/clock.h"
#include "log.h"
#include "common/printer.h"
#include "common/uuid.h"
#include "server/api_bulk.h"
#include "server/bulk.h"
#include "server/db.h"
#include "common/identity.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/scope.h"
#include "server/store_batches.h"
#include "server/store_credentials.h"
#include "server/store_events.h"
#include "server/store_printers.h"

#define BULK_IDEM_MAX 200
#define BULK_IDEM_CHARS " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

/* BLAKE2b of len bytes as hex into out[65]. */
static void
bulk_hash(const void *data, size_t len, char out[65])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), data, len, NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* A stored response for this key: reply with it (or 422 when the key came
 * with another body). A key stored by an older version holds the hash of the
 * request's bytes, not of its JSON: looked at only when the JSON's differs.
 * Returns the handler's result code. */
static int
bulk_replay(struct bulk *b, const char *response, const char *request_hash)
{
	char raw[65];
	json_t *resp;

	if (strcmp(request_hash, b->req_hash) != 0) {
		bulk_hash(b->r->body, b->r->body_len, raw);
		if (strcmp(request_hash, raw) != 0)
			return http_error(b->r, 422, "idempotency_key_reused",
			    "this Idempotency-Key was used for a different request", NULL);
	}
	if ((resp = json_loads(response, 0, NULL)) == NULL)
		return http_error(b->r, 500, "internal", "the stored response is unreadable",
		    NULL);
	http_add_header(b->r, "Idempotent-Replayed", "true");
	return http_reply_json(b->r, 200, resp);
}

/*
 * A read round trip: with `first`, BEGIN, the named branch's check (for a
 * company-wide credential) and the stored response for the key; with `lock`,
 * the branch's writer lock; then the candidates. 1 answered (a replay or 403:
 * *rc set, the transaction rolled back), 0 go on, -1 database error.
 */
static int
bulk_read(struct bulk *b, PGconn *c, const char *idem, int first, int lock, int *rc)
{
	char *resp = NULL, *hash = NULL;
	json_t *lk = bulk_lookup_keys(b);
	PGresult *res = NULL;
	int found = 0, live = 1, ok;

	if (!lk || db_pipe_begin(c) < 0) {
		json_decref(lk);
		return -1;
	}
	ok = (!first || db_pipe_send_cmd(c, "BEGIN") == 0) &&
	    (!first || !b->check_branch || store_credentials_branch_live_send(c,
	    b->sc.company_id, b->sc.branch_id) == 0) &&
	    (!lock || store_printers_lock_send(c, b->sc.branch_id, b->n) == 0) &&
	    (!first || !idem || store_batches_find_send(c, b->sc.company_id, b->sc.branch_id,
	    b->agent_id, idem) == 0) &&
	    store_printers_candidates_send(c, b->sc.company_id, b->sc.branch_id, lk,
	    b->n) == 0 &&
	    db_pipe_flush(c) == 0;
	json_decref(lk);
	ok = ok && (!first || db_pipe_done(c, PGRES_COMMAND_OK) == 0);	/* BEGIN */
	if (ok && first && b->check_branch)
		ok = (live = store_credentials_branch_live_recv(c)) >= 0;
	ok = ok && (!lock || store_printers_lock_recv(c) == 0);
	if (ok && first && idem)
		ok = (found = store_batches_find_recv(c, &resp, &hash)) >= 0;
	ok = ok && (res = store_printers_candidates_recv(c)) != NULL;
	if (db_pipe_end(c) < 0)
		ok = 0;
	if (ok && !live) {
		/* A company-wide credential named a branch that is not its own. */
		db_rollback(c);
		*rc = http_error(b->r, 403, "forbidden",
		    "the credential does not cover that company or branch", NULL);
		found = 1;
	} else if (ok && found) {
		db_rollback(c);
		*rc = bulk_replay(b, resp, hash);
	} else if (ok) {
		ok = bulk_take_candidates(b, res) == 0;
		res = NULL;	/* the bulk's now */
	}
	PQclear(res);
	free(resp);
	free(hash);
	if (!ok)
		return -1;
	return found ? 1 : 0;
}

/*
 * Read and decide. Rows that exist are locked by the candidate read (row
 * locks), which is all a batch that only refreshes known printers (the
 * everyday heartbeat) needs. A batch that inserts must also exclude other
 * writers of the branch, so that two agents reporting one new printer at once
 * make one row: it takes the branch lock and decides again on what it reads
 * under the lock (one more round trip, in the same transaction). A large
 * batch takes the lock at once (store_printers_large: its plan settings come
 * with the lock). 1 replayed, 0 go on, -1 database error.
 */
static int
bulk_read_decide(struct bulk *b, PGconn *c, const char *idem, int *rc)
{
	int idle = PQtransactionStatus(c) == PQTRANS_IDLE;
	int lock = store_printers_large(b->n), found;

	if ((found = bulk_read(b, c, idem, 1, lock, rc)) < 0 &&
	    (!db_retry_after_loss(c, idle) ||
	    (found = bulk_read(b, c, idem, 1, lock, rc)) < 0))
		return -1;
	if (found)
		return 1;
	if (bulk_decide(b) < 0)
		return -1;
	if (lock || !bulk_inserts(b))
		return 0;
	bulk_undecide(b);
	if (bulk_read(b, c, idem, 0, 1, rc) < 0 || bulk_decide(b) < 0)
		return -1;
	return 0;
}

/* Round trip 2: the rows, the events, the batch record (with `resp`, the
 * response's text), COMMIT. 0 or -1. */
static int
bulk_commit(struct bulk *b, PGconn *c, const char *idem, const json_t *events,
    const char *resp, double ms)
{
	struct store_batch rec = { .id = b->batch_id, .company_id = b->sc.company_id,
	    .branch_id = b->sc.branch_id, .agent_id = b->agent_id, .idem_key = idem,
	    .request_hash = idem ? b->req_hash : NULL, .total = (long)b->n,
	    .duration_ms = ms };
	json_t *rows = bulk_rows(b);
	int ok, sent = 0;

	memcpy(rec.counts, b->counts, sizeof(rec.counts));
	rec.response = resp;
	if (!rows || db_pipe_begin(c) < 0) {
		json_decref(rows);
		return -1;
	}
	/* The events last: their company lock is then held only to COMMIT. */
	ok = (sent = store_printers_write_send(c, b->sc.company_id, b->sc.branch_id,
	    rows)) >= 0 &&
	    store_batches_record_send(c, &rec) == 0 &&
	    store_events_append_send(c, b->sc.company_id, events) == 0 &&
	    db_pipe_send_cmd(c, "COMMIT") == 0 && db_pipe_flush(c) == 0;
	json_decref(rows);
	ok = ok && store_printers_write_recv(c, sent) == 0;
	ok = ok && store_batches_record_recv(c) == 0;
	ok = ok && store_events_append_recv(c) == 0;
	ok = ok && db_pipe_done(c, PGRES_COMMAND_OK) == 0;	/* COMMIT */
	if (db_pipe_end(c) < 0)
		ok = 0;
	return ok ? 0 : -1;
}

static int
bulk_parse(struct bulk *b, json_t *body, const json_t **printers, int *rc)
{
	const json_t *dh = json_object_get(body, "duplicateHandling");

	*printers = json_object_get(body, "printers");
	if (!json_is_array(*printers)) {
		*rc = http_error(b->r, 400, "bad_request",
		    "the body must have a \"printers\" array", NULL);
		return -1;
	}
	if (json_array_size(*printers) > (size_t)http_config()->max_printers_per_request) {
		char msg[128];

		snprintf(msg, sizeof(msg), "at most %ld printers per request",
		    http_config()->max_printers_per_request);
		*rc = http_error(b->r, 413, "too_many_printers", msg, NULL);
		return -1;
	}
	b->mode = BULK_REFRESH;
	if (dh && !json_is_null(dh)) {
		const char *s = json_string_value(dh);

		if (s && strcmp(s, "update") == 0)
			b->mode = BULK_REFRESH;
		else if (s && strcmp(s, "merge") == 0)
			b->mode = BULK_MERGE;
		else if (s && strcmp(s, "skip") == 0)
			b->mode = BULK_SKIP;
		else {
			*rc = http_error(b->r, 422, "validation_failed",
			    "duplicateHandling must be update, merge or skip", NULL);
			return -1;
		}
	}
	for (const char *k = "companyId"; k; k = strcmp(k, "companyId") == 0 ?
	    "branchId" : NULL) {
		const json_t *v = json_object_get(body, k);

		if (v && !json_is_null(v) && !json_is_string(v)) {
			*rc = http_error(b->r, 422, "validation_failed",
			    "companyId and branchId must be strings", NULL);
			return -1;
		}
	}
	return 0;
}

/*
 * The request's fingerprint, against which a repeated Idempotency-Key is
 * checked: of its JSON (keys sorted, compact), not of its bytes, so one batch
 * sent over HTTP and again over the agent's websocket (in another message,
 * another serialization) is one request. 0 or -1.
 */
static int
bulk_fingerprint(struct bulk *b, const json_t *body)
{
	char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	if (!canon)
		return -1;
	bulk_hash(canon, strlen(canon), b->req_hash);
	free(canon);
	return 0;
}

/* What a bulk built, freed once its answer has gone out (a 10,000-printer
 * batch's trees took ~50 ms to free; the client need not wait for that). */
struct bulk_reap {
	struct bulk b;
	json_t *body, *response, *events;
	char *resp_text;
};

static void
bulk_reap_contents(struct bulk_reap *z)
{
	free(z->resp_text);
	json_decref(z->response);
	json_decref(z->events);
	json_decref(z->body);
	bulk_free(&z->b);
}

static void
bulk_reap(void *arg)
{
	bulk_reap_contents(arg);
	free(arg);
}

static void
bulk_reap_later(struct http_req *r, const struct bulk *b, json_t *body, json_t *response,
    json_t *events, char *resp_text)
{
	struct bulk_reap now = { *b, body, response, events, resp_text };
	struct bulk_reap *z = malloc(sizeof(*z));

	if (!z) {
		bulk_reap_contents(&now);
		return;
	}
	*z = now;
	http_defer(r, bulk_reap, z);
}

int
api_bulk_post(struct http_req *r)
{
	struct bulk b = { 0 };
	const char *idem = http_header(r, "Idempotency-Key");
	const json_t *printers;
	json_t *body, *response = NULL, *events = NULL;
	char *resp_text = NULL;
	double t0, t_read, t_decide, t_write, t_done;
	unsigned long stmts0, trips0;
	PGconn *c = NULL;
	int rc, found;
	double ms;

	t0 = clock_ms_precise();
	stmts0 = db_thread_statements();
	trips0 = db_thread_round_trips();
	b.r = r;
	/* Printable ASCII only: any other byte may not be UTF-8, which the text
	 * column refuses only once the transaction has begun. */
	if (idem && (strlen(idem) == 0 || strlen(idem) > BULK_IDEM_MAX ||
	    strspn(idem, BULK_IDEM_CHARS) != strlen(idem)))
		return http_error(r, 400, "bad_request",
		    "Idempotency-Key must be 1 to 200 printable ASCII characters", NULL);
	if ((body = http_body_json(r, &rc)) == NULL)
		return rc;
	if (bulk_parse(&b, body, &printers, &rc) < 0)
		goto out;
	if (idem && bulk_fingerprint(&b, body) < 0) {
		rc = http_error(r, 500, "internal", "out of memory", NULL);
		goto out;
	}
	if (r->auth.kind == AUTH_AGENT)
		b.agent_id = r->auth.principal_id;

	b.n = json_array_size(printers);
	if ((b.items = calloc(b.n + 1, sizeof(*b.items))) == NULL) {
		rc = http_error(r, 500, "internal", "out of memory", NULL);
		goto out;
	}
	for (size_t i = 0; i < b.n; i++) {
		struct bulk_item *it = &b.items[i];

		it->raw = json_array_get(printers, i);
		it->in = printer_normalize(it->raw, &it->errors);
		it->dup_of = -1;
		it->cand = -1;
		if (it->in)
			identity_from_json(&it->id, it->in);
	}

	if ((c = db_conn()) == NULL) {
		rc = http_db_unavailable(r);
		goto out;
	}
	/* A branch named by a company-wide credential is checked in the first
	 * round trip, not by a statement of its own. */
	if (scope_resolve(r, c, json_string_value(json_object_get(body, "companyId")),
	    json_string_value(json_object_get(body, "branchId")),
	    SCOPE_NEED_BRANCH | SCOPE_NO_LOOKUP, &b.sc, &rc) < 0)
		goto out;
	b.check_branch = r->auth.branch_id[0] == '\0';
	uuid_new(b.batch_id);
	clock_iso8601(time(NULL), b.now);

	t_read = clock_ms_precise();
	if ((found = bulk_read_decide(&b, c, idem, &rc)) < 0)
		goto dberr;
	t_decide = clock_ms_precise();
	if (found)
		goto out;
	for (size_t i = 0; i < b.n; i++)
		b.counts[b.items[i].status]++;
	ms = (clock_ms_precise() - t0);
	response = bulk_response(&b);
	events = bulk_events(&b, response, http_config()->refresh_threshold, ms);
	t_write = clock_ms_precise();
	/* Serialized once: stored for an Idempotency-Key replay and sent. */
	resp_text = response ? json_dumps(response, JSON_COMPACT) : NULL;
	if (!resp_text || !events || bulk_commit(&b, c, idem, events, resp_text, ms) < 0)
		goto dberr;
	t_done = clock_ms_precise();
	if (b.counts[BS_NEW] > 0)
		listener_note_new_printers(b.counts[BS_NEW]);
	metrics_printers_upserted((unsigned long)(b.counts[BS_NEW] + b.counts[BS_CHANGED] +
	    b.counts[BS_UNCHANGED]));
	metrics_bulk_request();
	log_info("[API] %s bulk batch=%s branch=%s agent=%s total=%zu new=%d updated=%d "
	    "unchanged=%d skipped=%d duplicate=%d failed=%d statements=%lu round_trips=%lu "
	    "%.1fms (check %.1f, read %.1f, build %.1f, write %.1f)", r->id,
	    b.batch_id, b.sc.branch_id, b.agent_id ? b.agent_id : "-", b.n,
	    b.counts[BS_NEW], b.counts[BS_CHANGED], b.counts[BS_UNCHANGED],
	    b.counts[BS_SKIPPED], b.counts[BS_DUPLICATE], b.counts[BS_FAILED],
	    db_thread_statements() - stmts0, db_thread_round_trips() - trips0, t_done - t0,
	    t_read - t0, t_decide - t_read, t_write - t_decide, t_done - t_write);
	rc = http_reply_data(r, 200, "application/json", resp_text, strlen(resp_text));
	goto out;
dberr:
	db_rollback(c);
	rc = http_db_failed(r, c);
out:
	bulk_reap_later(r, &b, body, response, events, resp_text);
	return rc;
}
