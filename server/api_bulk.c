/*
 * api_bulk.c: POST /api/v1/printing/printers/bulk. Validate every item, then
 * in one transaction, a fixed number of statements whatever the batch size
 * and two round trips (pipelines): (1) BEGIN, lock the branch, look up a known
 * Idempotency-Key, fetch the stored printers any item could be; decide each
 * item here (identity.c); (2) write every row with one statement, the events
 * with one more, the batch record, COMMIT. The response goes out after COMMIT.
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
#define BULK_LOCK_FIRST 64	/* larger batches take the branch lock at once */
#define BULK_IDEM_CHARS " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

enum bulk_mode { BULK_REFRESH, BULK_MERGE, BULK_SKIP };

enum bulk_status {
	BS_NEW, BS_CHANGED, BS_UNCHANGED, BS_SKIPPED, BS_DUPLICATE, BS_FAILED,
};

static const char *const bulk_status_names[] = { "new", "updated", "unchanged",
	"skipped", "duplicate", "failed" };

/* Discovered fields: refreshed by update, filled when empty by merge. */
static const char *const bulk_discovered[] = { "name", "connectionType", "protocol",
	"address", "port", "uri", "manufacturer", "model", "makeAndModel", "serialNumber",
	"macAddress", "uuid", "capabilities", "location", NULL };

struct bulk_item {
	const json_t *raw;	/* the item as sent, borrowed from the body */
	json_t *in;		/* normalised item, or NULL when invalid */
	json_t *errors;		/* field errors when invalid */
	struct identity id;
	enum bulk_status status;
	enum printer_ident matched;
	int dup_of;		/* index of the first item, for duplicates */
	int cand;		/* index into candidates, or -1 */
	char row_id[UUID_TEXT_LEN + 1];
	json_t *row;		/* the row to write (new/updated/unchanged), owned */
	const char *event;	/* event type to emit, or NULL */
};

struct bulk_cand {
	json_t *p;		/* stored printer_json */
	struct identity id;
	int claimed_by;		/* item index, or -1 */
};

struct bulk {
	struct http_req *r;
	struct scope sc;
	enum bulk_mode mode;
	const char *agent_id;	/* NULL unless an agent is asking */
	struct bulk_item *items;
	size_t n;
	struct bulk_cand *cands;
	size_t ncand;
	json_t *keys;		/* deviceKeys the branch will hold: {"key": true} */
	char batch_id[UUID_TEXT_LEN + 1];
	char now[40];
	char req_hash[65];
	int counts[6];
	int check_branch;	/* a company-wide credential named the branch */
};

static void
bulk_free(struct bulk *b)
{
	for (size_t i = 0; i < b->n; i++) {
		json_decref(b->items[i].in);
		json_decref(b->items[i].errors);
		json_decref(b->items[i].row);
	}
	for (size_t i = 0; i < b->ncand; i++)
		json_decref(b->cands[i].p);
	json_decref(b->keys);
	free(b->items);
	free(b->cands);
}

/* Forget a decision (and the candidates it was made on), to decide again on
 * a fresh read. Validation results stay. */
static void
bulk_undecide(struct bulk *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct bulk_item *it = &b->items[i];

		if (it->in) {
			json_decref(it->errors);
			it->errors = NULL;
		}
		json_decref(it->row);
		it->row = NULL;
		it->status = BS_NEW;
		it->matched = PIDENT_NONE;
		it->dup_of = -1;
		it->cand = -1;
		it->row_id[0] = '\0';
		it->event = NULL;
	}
	for (size_t i = 0; i < b->ncand; i++)
		json_decref(b->cands[i].p);
	free(b->cands);
	b->cands = NULL;
	b->ncand = 0;
	json_decref(b->keys);
	b->keys = NULL;
	memset(b->counts, 0, sizeof(b->counts));
}

/* The identity arrays the candidate query filters on, as one JSON parameter. */
static json_t *
bulk_lookup_keys(const struct bulk *b)
{
	json_t *keys = json_array(), *uuids = json_array(), *serials = json_array();
	json_t *macs = json_array(), *addrs = json_array(), *names = json_array();

	for (size_t i = 0; i < b->n; i++) {
		const struct identity *id = &b->items[i].id;

		if (!b->items[i].in)
			continue;
		if (id->key)
			json_array_append_new(keys, json_string(id->key));
		if (id->uuid)
			json_array_append_new(uuids, json_string(id->uuid));
		if (id->serial)
			json_array_append_new(serials, json_string(id->serial));
		if (id->mac)
			json_array_append_new(macs, json_string(id->mac));
		if (id->addr[0] && id->port > 0)
			json_array_append_new(addrs, json_string(id->addr));
		if (id->name[0])
			json_array_append_new(names, json_string(id->name));
	}
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "keys", keys, "uuids", uuids,
	    "serials", serials, "macs", macs, "addrs", addrs, "names", names);
}

/* Rows of the candidate lookup into b->cands. */
static int
bulk_take_candidates(struct bulk *b, PGresult *res)
{
	int n = PQntuples(res);

	b->cands = calloc((size_t)n + 1, sizeof(*b->cands));
	if (!b->cands)
		return -1;
	for (int i = 0; i < n; i++) {
		struct bulk_cand *cd = &b->cands[b->ncand];

		if ((cd->p = store_printers_candidate(res, i)) == NULL)
			return -1;
		identity_from_json(&cd->id, cd->p);
		cd->claimed_by = -1;
		b->ncand++;
	}
	return 0;
}

static int
bulk_empty(const json_t *v)
{
	return !v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
	    (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0);
}

/* A shallow copy of `v` when it is of the wanted type (a new empty one
 * otherwise), set as `key` of obj; returned borrowed, to be changed. */
static json_t *
bulk_own(json_t *obj, const char *key, const json_t *v, int array)
{
	json_t *copy = (array ? json_is_array(v) : json_is_object(v)) ?
	    json_copy((json_t *)v) : array ? json_array() : json_object();

	json_object_set_new(obj, key, copy);
	return copy;
}

/*
 * sources: {"methods":[...], "agents":{"<id>":{"status","lastSeen"}}}. The
 * stored one is shared with the candidate, so only the containers that change
 * are copied (shallow; a deep copy of every printer's sources was a tenth of a
 * large batch's time).
 */
static json_t *
bulk_sources(const struct bulk *b, const json_t *stored, const json_t *in)
{
	json_t *src = json_is_object(stored) ? json_copy((json_t *)stored) : json_object();
	json_t *methods, *agents, *m;
	size_t i, j;

	methods = bulk_own(src, "methods", json_object_get(src, "methods"), 1);
	json_array_foreach(json_object_get(in, "sources"), i, m) {
		json_t *x;
		int seen = 0;

		json_array_foreach(methods, j, x)
			if (json_equal(x, m))
				seen = 1;
		if (!seen)
			json_array_append(methods, m);
	}
	if (b->agent_id) {
		agents = bulk_own(src, "agents", json_object_get(src, "agents"), 0);
		json_object_set_new(agents, b->agent_id, json_pack("{s:O,s:s}", "status",
		    json_object_get(in, "status"), "lastSeen", b->now));
	}
	return src;
}

/* The row's status: online while any agent still sees it online. */
static const char *
bulk_status_of(const json_t *sources, const char *reported)
{
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(sources, "agents"), k, v) {
		const char *s = json_string_value(json_object_get(v, "status"));

		if (s && strcmp(s, "online") == 0)
			return "online";
	}
	return reported;
}

/* Decide the stored row's new content for an update or merge. */
static void
bulk_apply(struct bulk *b, struct bulk_item *it, const struct bulk_cand *cd)
{
	/* Shallow: the candidate's values stay alive for its identity (whose
	 * strings point into them) while the row replaces some. */
	json_t *row = json_copy(cd->p), *in = it->in, *src, *reasons;
	int changed = 0, status_changed = 0;
	const char *status, *key, *old_key;

	for (const char *const *f = bulk_discovered; *f; f++) {
		json_t *nv = json_object_get(in, *f), *ov = json_object_get(row, *f);

		if (bulk_empty(nv))
			continue;
		if (b->mode == BULK_MERGE && !bulk_empty(ov))
			continue;
		if (!json_equal(nv, ov)) {
			json_object_set(row, *f, nv);
			changed = 1;
		}
	}
	/* Upgrade the deviceKey when a stronger identity is now known. */
	key = json_string_value(json_object_get(in, "deviceKey"));
	old_key = json_string_value(json_object_get(row, "deviceKey"));
	if (identity_key_stronger(key, old_key) &&
	    !json_object_get(b->keys, key)) {
		/* The old key stays reserved too: PostgreSQL checks the unique key
		 * row by row, so no two rows may trade keys in one statement. */
		json_object_set_new(b->keys, key, json_true());
		json_object_set_new(row, "deviceKey", json_string(key));
		changed = 1;
	}
	src = bulk_sources(b, json_object_get(cd->p, "sources"), in);
	status = bulk_status_of(src, json_string_value(json_object_get(in, "status")));
	reasons = json_object_get(in, "stateReasons");
	if (strcmp(status, json_string_value(json_object_get(row, "status"))) != 0)
		status_changed = 1;
	json_object_set_new(row, "status", json_string(status));
	reasons = reasons ? json_incref(reasons) : json_array();
	if (!json_equal(reasons, json_object_get(row, "stateReasons")))
		status_changed = 1;
	json_object_set_new(row, "stateReasons", reasons);
	json_object_set_new(row, "sources", src);
	it->row = row;
	if (changed) {
		it->status = BS_CHANGED;
		it->event = "printer:updated";
	} else if (status_changed) {
		it->status = BS_CHANGED;
		it->event = strcmp(status, "offline") == 0 ? "printer:lost" : "printer:status";
	} else
		it->status = BS_UNCHANGED;
}

/* Which earlier item, or which stored printer, is this item? (index callbacks) */
struct bulk_pick {
	struct bulk *b;
	const struct identity *id;
	enum printer_ident best;
	int pick;
};

static void
bulk_pick_item(void *arg, int j)
{
	struct bulk_pick *p = arg;
	enum printer_ident m = identity_match(p->id, &p->b->items[j].id);

	/* The first of the earlier items wins, whatever identity proves it. */
	if (m != PIDENT_NONE && (p->pick < 0 || j < p->pick)) {
		p->pick = j;
		p->best = m;
	}
}

static void
bulk_pick_cand(void *arg, int c)
{
	struct bulk_pick *p = arg;
	enum printer_ident m = identity_match(p->id, &p->b->cands[c].id);

	/* The strongest match wins; among equals the oldest printer. */
	if (m != PIDENT_NONE && (m < p->best || (m == p->best && c < p->pick))) {
		p->pick = c;
		p->best = m;
	}
}

static int
bulk_decide(struct bulk *b)
{
	struct identity_index seen, stored;

	if ((b->keys = json_object()) == NULL)
		return -1;
	for (size_t c = 0; c < b->ncand; c++)
		json_object_set_new(b->keys, json_string_value(json_object_get(b->cands[c].p,
		    "deviceKey")), json_true());
	if (identity_index_init(&seen, (int)b->n) < 0)
		return -1;
	if (identity_index_init(&stored, (int)b->ncand) < 0) {
		identity_index_free(&seen);
		return -1;
	}
	for (size_t c = 0; c < b->ncand; c++)
		identity_index_add(&stored, &b->cands[c].id, (int)c);
	for (size_t i = 0; i < b->n; i++) {
		struct bulk_item *it = &b->items[i];
		struct bulk_pick dup = { b, &it->id, PIDENT_NONE, -1 };
		struct bulk_pick cand = { b, &it->id, PIDENT_NONE, -1 };
		int bi;

		if (!it->in) {
			it->status = BS_FAILED;
			continue;
		}
		/* Repeated inside the request: the first wins. */
		identity_index_each(&seen, &it->id, bulk_pick_item, &dup);
		if (dup.pick >= 0) {
			it->dup_of = dup.pick;
			it->matched = dup.best;
		} else {
			identity_index_each(&stored, &it->id, bulk_pick_cand, &cand);
			if (cand.pick >= 0 && b->cands[cand.pick].claimed_by >= 0) {
				/* Another item of this request already is that printer. */
				it->dup_of = b->cands[cand.pick].claimed_by;
				it->matched = cand.best;
			}
		}
		if (it->dup_of >= 0) {
			it->status = BS_DUPLICATE;
			strcpy(it->row_id, b->items[it->dup_of].row_id);
			continue;
		}
		if (cand.pick < 0 && json_object_get(b->keys, it->id.key)) {
			/* Identity says another printer, yet the key is taken: the
			 * item fails alone instead of the write failing the batch. */
			it->status = BS_FAILED;
			it->errors = json_pack("{s:s}", "deviceKey",
			    "is the deviceKey of another printer of this branch");
			continue;
		}
		identity_index_add(&seen, &it->id, (int)i);
		if ((bi = cand.pick) < 0) {
			json_t *src = bulk_sources(b, NULL, it->in);

			json_object_set_new(b->keys, it->id.key, json_true());
			it->status = BS_NEW;
			it->event = "printer:discovered";
			uuid_new(it->row_id);
			it->row = json_copy(it->in);
			json_object_set_new(it->row, "id", json_string(it->row_id));
			json_object_set_new(it->row, "status", json_string(bulk_status_of(src,
			    json_string_value(json_object_get(it->in, "status")))));
			json_object_set_new(it->row, "sources", src);
			continue;
		}
		b->cands[bi].claimed_by = (int)i;
		it->cand = bi;
		it->matched = cand.best;
		snprintf(it->row_id, sizeof(it->row_id), "%s",
		    json_string_value(json_object_get(b->cands[bi].p, "id")));
		if (b->mode == BULK_SKIP) {
			it->status = BS_SKIPPED;
			continue;
		}
		bulk_apply(b, it, &b->cands[bi]);
	}
	identity_index_free(&seen);
	identity_index_free(&stored);
	return 0;
}

/*
 * Every new, updated and unchanged row, for one statement, with the folded
 * name and address that matching looks them up by next time.
 */
static json_t *
bulk_rows(struct bulk *b)
{
	json_t *rows = json_array();

	for (size_t i = 0; i < b->n; i++) {
		struct bulk_item *it = &b->items[i];
		struct identity id;
		json_t *row;

		if (!it->row)
			continue;
		/* The row is not needed after this: annotate it in place. */
		row = json_incref(it->row);
		identity_from_json(&id, row);
		json_object_set_new(row, "op", json_string(it->status == BS_NEW ? "new" :
		    it->status == BS_CHANGED ? "update" : "touch"));
		json_object_set_new(row, "id", json_string(it->row_id));
		json_object_set_new(row, "nameKey", json_string(id.name));
		json_object_set_new(row, "addrKey", id.addr[0] ? json_string(id.addr) :
		    json_null());
		json_array_append_new(rows, row);
	}
	return rows;
}

static json_t *
bulk_response(struct bulk *b)
{
	json_t *results = json_array(), *summary;
	int *n = b->counts;

	for (size_t i = 0; i < b->n; i++) {
		struct bulk_item *it = &b->items[i];
		json_t *src = it->in, *res;
		const json_t *raw;

		res = json_pack("{s:I,s:s}", "index", (json_int_t)i, "status",
		    bulk_status_names[it->status]);
		json_object_set_new(res, "id", it->row_id[0] ? json_string(it->row_id) :
		    json_null());
		if (src) {
			json_object_set(res, "name", json_object_get(src, "name"));
			json_object_set(res, "deviceKey", json_object_get(src, "deviceKey"));
		} else {
			/* Echo an invalid item's name only when it is a sane string. */
			raw = json_object_get(it->raw, "name");
			json_object_set_new(res, "name", json_is_string(raw) &&
			    json_string_length(raw) <= PRINTER_NAME_MAX * 4 ?
			    json_incref((json_t *)raw) : json_null());
			json_object_set_new(res, "deviceKey", json_null());
		}
		if (it->status == BS_CHANGED || it->status == BS_UNCHANGED ||
		    it->status == BS_SKIPPED || it->status == BS_DUPLICATE)
			json_object_set_new(res, "matchedBy",
			    json_string(printer_ident_name(it->matched)));
		if (it->status == BS_DUPLICATE)
			json_object_set_new(res, "duplicateOf", json_integer(it->dup_of));
		if (it->status == BS_FAILED)
			json_object_set_new(res, "error", json_pack("{s:s,s:s,s:O}", "code",
			    "validation_failed", "message", "the printer is not valid",
			    "fields", it->errors));
		json_array_append_new(results, res);
	}
	summary = json_pack("{s:I,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "total", (json_int_t)b->n,
	    "success", n[BS_NEW] + n[BS_CHANGED] + n[BS_UNCHANGED] + n[BS_SKIPPED],
	    "new", n[BS_NEW], "updated", n[BS_CHANGED], "unchanged", n[BS_UNCHANGED],
	    "skipped", n[BS_SKIPPED], "duplicate", n[BS_DUPLICATE], "failed", n[BS_FAILED]);
	return json_pack("{s:b,s:s,s:o,s:o}", "success", n[BS_FAILED] == 0, "batchId",
	    b->batch_id, "results", results, "summary", summary);
}

/* Per-printer events (their payload, the stored printer, is read by the
 * events statement), or one refresh-required past the threshold; then the
 * batch's own events. */
static json_t *
bulk_events(struct bulk *b, const json_t *response, long threshold, double ms)
{
	json_t *ev = json_array(), *summary = json_object_get(response, "summary");
	json_t *failures = json_array();
	const char *br = b->sc.branch_id;
	long nchanged = 0;

	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].event)
			nchanged++;
	if (nchanged > threshold) {
		json_array_append_new(ev, json_pack("{s:s,s:s,s:n,s:{s:s,s:I}}", "type",
		    "printer:refresh-required", "branchId", br, "printerId", "payload",
		    "reason", "bulk", "count", (json_int_t)nchanged));
	} else {
		for (size_t i = 0; i < b->n; i++) {
			struct bulk_item *it = &b->items[i];

			if (!it->event)
				continue;
			json_array_append_new(ev, json_pack("{s:s,s:s,s:s,s:b}", "type",
			    it->event, "branchId", br, "printerId", it->row_id,
			    "withPrinter", 1));
		}
	}
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].status == BS_FAILED)
			json_array_append_new(failures, json_pack("{s:I,s:O,s:{s:s,s:O}}",
			    "index", (json_int_t)i, "name", json_object_get(json_array_get(
			    json_object_get(response, "results"), i), "name"), "error",
			    "code", "validation_failed", "fields", b->items[i].errors));
	json_array_append_new(ev, json_pack("{s:s,s:s,s:n,s:{s:s,s:s?,s:O,s:O}}", "type",
	    b->counts[BS_FAILED] ? "printer:sync:failed" : "printer:sync:success",
	    "branchId", br, "printerId", "payload", "batchId", b->batch_id, "agentId",
	    b->agent_id, "summary", summary, "failures", failures));
	json_array_append_new(ev, json_pack("{s:s,s:s,s:n,s:{s:s,s:s?,s:O,s:f}}", "type",
	    "printer:sync:batch-completed", "branchId", br, "printerId", "payload",
	    "batchId", b->batch_id, "agentId", b->agent_id, "summary", summary,
	    "durationMs", ms));
	json_decref(failures);
	return ev;
}

/* A stored response for this key: reply with it (or 422 when the key came
 * with another body). Returns the handler's result code. */
static int
bulk_replay(struct bulk *b, const char *response, const char *request_hash)
{
	json_t *resp;

	if (strcmp(request_hash, b->req_hash) != 0)
		return http_error(b->r, 422, "idempotency_key_reused",
		    "this Idempotency-Key was used for a different request", NULL);
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
	    store_printers_candidates_send(c, b->sc.company_id, b->sc.branch_id, lk) == 0 &&
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
	} else if (ok && bulk_take_candidates(b, res) < 0) {
		ok = 0;
	}
	PQclear(res);
	free(resp);
	free(hash);
	if (!ok)
		return -1;
	return found ? 1 : 0;
}

/* Does the decision insert a row? */
static int
bulk_inserts(const struct bulk *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].in && b->items[i].status == BS_NEW)
			return 1;
	return 0;
}

/*
 * Read and decide. Rows that exist are locked by the candidate read (FOR
 * UPDATE), which is all a batch that only refreshes known printers (the
 * everyday heartbeat) needs. A batch that inserts must also exclude other
 * writers of the branch, so that two agents reporting one new printer at once
 * make one row: it takes the branch lock and decides again on what it reads
 * under the lock (one more round trip, in the same transaction). A large
 * batch takes the lock at once. 1 replayed, 0 go on, -1 database error.
 */
static int
bulk_read_decide(struct bulk *b, PGconn *c, const char *idem, int *rc)
{
	int idle = PQtransactionStatus(c) == PQTRANS_IDLE;
	int lock = b->n > BULK_LOCK_FIRST, found;

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
	int ok, write = json_array_size(rows) > 0;

	memcpy(rec.counts, b->counts, sizeof(rec.counts));
	rec.response = resp;
	if (!rows || db_pipe_begin(c) < 0) {
		json_decref(rows);
		return -1;
	}
	/* The events last: their company lock is then held only to COMMIT. */
	ok = (!write || store_printers_write_send(c, b->sc.company_id, b->sc.branch_id,
	    rows) == 0) &&
	    store_batches_record_send(c, &rec) == 0 &&
	    store_events_append_send(c, b->sc.company_id, events) == 0 &&
	    db_pipe_send_cmd(c, "COMMIT") == 0 && db_pipe_flush(c) == 0;
	json_decref(rows);
	ok = ok && (!write || store_printers_write_recv(c) == 0);
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
	unsigned char hash[32];
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
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)r->body, r->body_len,
	    NULL, 0);
	sodium_bin2hex(b.req_hash, sizeof(b.req_hash), hash, sizeof(hash));
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
	free(resp_text);
	json_decref(response);
	json_decref(events);
	json_decref(body);
	bulk_free(&b);
	return rc;
}
