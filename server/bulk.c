/*
 * bulk.c: the decision of a bulk sync (see bulk.h). Items are matched to the
 * stored candidates and to each other by the identity rule; a match is
 * refreshed (update) or filled (merge) field by field, and its sources keep
 * each agent's sighting. Not here: validation of an item (common/printer.c),
 * reading and writing the rows (api_bulk.c, store_printers.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/printer.h"
#include "server/bulk.h"
#include "server/store_printers.h"

static const char *const bulk_status_names[] = { "new", "updated", "unchanged",
	"skipped", "duplicate", "failed" };

/* The stored printer's fields the decision reads, by name (the printer
 * object's) and, once looked up, by their column in the candidates' result. */
enum bulk_field {
	BF_ID, BF_KEY, BF_NAME, BF_CONN, BF_PROTO, BF_ADDR, BF_PORT, BF_URI, BF_MFR,
	BF_MODEL, BF_MAM, BF_SERIAL, BF_MAC, BF_UUID, BF_CAPS, BF_LOC, BF_STATUS,
	BF_REASONS, BF_SOURCES, BF_N
};
static const char *const bulk_field_names[BF_N] = {
	[BF_ID] = "id", [BF_KEY] = "deviceKey", [BF_NAME] = "name",
	[BF_CONN] = "connectionType", [BF_PROTO] = "protocol", [BF_ADDR] = "address",
	[BF_PORT] = "port", [BF_URI] = "uri", [BF_MFR] = "manufacturer", [BF_MODEL] = "model",
	[BF_MAM] = "makeAndModel", [BF_SERIAL] = "serialNumber", [BF_MAC] = "macAddress",
	[BF_UUID] = "uuid", [BF_CAPS] = "capabilities", [BF_LOC] = "location",
	[BF_STATUS] = "status", [BF_REASONS] = "stateReasons", [BF_SOURCES] = "sources",
};
static int bulk_field_col[BF_N];
static pthread_once_t bulk_field_once = PTHREAD_ONCE_INIT;

static void
bulk_field_cols(void)
{
	for (int f = 0; f < BF_N; f++)
		bulk_field_col[f] = store_printers_cand_field(bulk_field_names[f]);
}

/* Discovered fields: refreshed by update, filled when empty by merge. */
static const enum bulk_field bulk_discovered[] = { BF_NAME, BF_CONN, BF_PROTO, BF_ADDR,
	BF_PORT, BF_URI, BF_MFR, BF_MODEL, BF_MAM, BF_SERIAL, BF_MAC, BF_UUID, BF_CAPS,
	BF_LOC };
#define BULK_NDISCOVERED (sizeof(bulk_discovered) / sizeof(bulk_discovered[0]))

/* Let go of the candidates and their rows. */
static void
bulk_drop_candidates(struct bulk *b)
{
	for (size_t i = 0; i < b->ncand; i++)
		json_decref(b->cands[i].p);
	free(b->cands);
	b->cands = NULL;
	b->ncand = 0;
	PQclear(b->cand_res);
	b->cand_res = NULL;
}

void
bulk_free(struct bulk *b)
{
	for (size_t i = 0; i < b->n; i++) {
		json_decref(b->items[i].in);
		json_decref(b->items[i].errors);
		json_decref(b->items[i].row);
	}
	bulk_drop_candidates(b);
	json_decref(b->keys);
	free(b->items);
}

/* Forget a decision (and the candidates it was made on), to decide again on
 * a fresh read. Validation results stay. */
void
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
	bulk_drop_candidates(b);
	json_decref(b->keys);
	b->keys = NULL;
	memset(b->counts, 0, sizeof(b->counts));
	b->oom = 0;
}

/* A stored printer's field: its text (NULL for none), or its value (new
 * reference, NULL when out of memory). */
static const char *
bulk_cand_text(const struct bulk *b, const struct bulk_cand *cd, enum bulk_field f)
{
	return store_printers_cand_text(b->cand_res, cd->row, bulk_field_col[f]);
}

static json_t *
bulk_cand_value(const struct bulk *b, const struct bulk_cand *cd, enum bulk_field f)
{
	return store_printers_cand_value(b->cand_res, cd->row, bulk_field_col[f]);
}

int
bulk_take_candidates(struct bulk *b, PGresult *res)
{
	int n = PQntuples(res);

	pthread_once(&bulk_field_once, bulk_field_cols);
	bulk_drop_candidates(b);	/* a read again replaces them */
	b->cand_res = res;
	if ((b->cands = calloc((size_t)n + 1, sizeof(*b->cands))) == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		struct bulk_cand *cd = &b->cands[i];
		struct identity_fields f;
		const char *port;

		cd->row = i;
		cd->claimed_by = -1;
		port = bulk_cand_text(b, cd, BF_PORT);
		f = (struct identity_fields){
			.key = bulk_cand_text(b, cd, BF_KEY),
			.uuid = bulk_cand_text(b, cd, BF_UUID),
			.serial = bulk_cand_text(b, cd, BF_SERIAL),
			.mac = bulk_cand_text(b, cd, BF_MAC),
			.manufacturer = bulk_cand_text(b, cd, BF_MFR),
			.address = bulk_cand_text(b, cd, BF_ADDR),
			.name = bulk_cand_text(b, cd, BF_NAME),
			.port = port ? atoi(port) : 0,
		};
		identity_from_fields(&cd->id, &f);
		b->ncand++;
	}
	return 0;
}

/* The identity arrays the candidate query filters on, as one JSON parameter. */
json_t *
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

/* Whether an item's value of a discovered field replaces the stored one. */
static int
bulk_takes(const struct bulk *b, const json_t *nv, const json_t *ov)
{
	if (bulk_empty(nv))
		return 0;
	if (b->mode == BULK_MERGE && !bulk_empty(ov))
		return 0;
	return !json_equal(nv, ov);
}

/* Whether an item's value of a discovered field replaces the stored one,
 * which is read from the candidate only when the item has a value. */
static int
bulk_takes_stored(struct bulk *b, const json_t *nv, const struct bulk_cand *cd,
    enum bulk_field field)
{
	json_t *ov;
	int takes;

	if (bulk_empty(nv))
		return 0;
	if ((ov = bulk_cand_value(b, cd, field)) == NULL) {
		b->oom = 1;
		return 0;
	}
	takes = bulk_takes(b, nv, ov);
	json_decref(ov);
	return takes;
}

/*
 * Decide the stored row's new content for an update or merge. A printer seen
 * again unchanged (most of every batch) gets a row of its sightings only
 * (written as op "touch"): the decision reads only the stored columns it
 * compares, and the whole stored printer is made only for a change.
 */
static void
bulk_apply(struct bulk *b, struct bulk_item *it, struct bulk_cand *cd)
{
	json_t *in = it->in, *row, *src, *reasons, *stored_src, *stored_reasons;
	int changed = 0, status_changed = 0, upgrade;
	const char *status, *key, *old_key, *old_status;

	for (size_t i = 0; i < BULK_NDISCOVERED && !changed; i++)
		changed = bulk_takes_stored(b, json_object_get(in,
		    bulk_field_names[bulk_discovered[i]]), cd, bulk_discovered[i]);
	/* Upgrade the deviceKey when a stronger identity is now known. */
	key = json_string_value(json_object_get(in, "deviceKey"));
	old_key = bulk_cand_text(b, cd, BF_KEY);
	upgrade = identity_key_stronger(key, old_key) && !json_object_get(b->keys, key);
	stored_src = bulk_cand_value(b, cd, BF_SOURCES);
	stored_reasons = bulk_cand_value(b, cd, BF_REASONS);
	if (!stored_src || !stored_reasons) {
		json_decref(stored_src);
		json_decref(stored_reasons);
		b->oom = 1;
		return;
	}
	src = bulk_sources(b, stored_src, in);
	json_decref(stored_src);
	status = bulk_status_of(src, json_string_value(json_object_get(in, "status")));
	old_status = bulk_cand_text(b, cd, BF_STATUS);
	if (!old_status || strcmp(status, old_status) != 0)
		status_changed = 1;
	reasons = json_object_get(in, "stateReasons");
	reasons = reasons ? json_incref(reasons) : json_array();
	if (!json_equal(reasons, stored_reasons))
		status_changed = 1;
	json_decref(stored_reasons);
	if (!changed && !upgrade && !status_changed) {
		json_decref(reasons);
		it->row = json_pack("{s:o}", "sources", src);
		it->status = BS_UNCHANGED;
		return;
	}
	if (!cd->p && (cd->p = store_printers_candidate(b->cand_res, cd->row)) == NULL) {
		json_decref(reasons);
		json_decref(src);
		b->oom = 1;
		return;
	}
	/* Shallow: the stored printer stays as it was read while the row
	 * replaces some of its values. */
	row = json_copy(cd->p);
	for (size_t i = 0; i < BULK_NDISCOVERED; i++) {
		const char *f = bulk_field_names[bulk_discovered[i]];
		json_t *nv = json_object_get(in, f);

		if (bulk_takes(b, nv, json_object_get(row, f)))
			json_object_set(row, f, nv);
	}
	if (upgrade) {
		/* The old key stays reserved too: PostgreSQL checks the unique key
		 * row by row, so no two rows may trade keys in one statement. */
		json_object_set_new(b->keys, key, json_true());
		json_object_set_new(row, "deviceKey", json_string(key));
		changed = 1;
	}
	json_object_set_new(row, "status", json_string(status));
	json_object_set_new(row, "stateReasons", reasons);
	json_object_set_new(row, "sources", src);
	it->row = row;
	it->status = BS_CHANGED;
	if (changed)
		it->event = "printer:updated";
	else
		it->event = strcmp(status, "offline") == 0 ? "printer:lost" : "printer:status";
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

int
bulk_decide(struct bulk *b)
{
	struct identity_index seen, stored;
	struct uuid_pool ids = { .left = 0 };
	int rc;

	if ((b->keys = json_object()) == NULL)
		return -1;
	for (size_t c = 0; c < b->ncand; c++)
		json_object_set_new(b->keys, bulk_cand_text(b, &b->cands[c], BF_KEY),
		    json_true());
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
			uuid_new_time_pooled(&ids, it->row_id);	/* the index grows at its end */
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
		    bulk_cand_text(b, &b->cands[bi], BF_ID));
		if (b->mode == BULK_SKIP) {
			it->status = BS_SKIPPED;
			continue;
		}
		bulk_apply(b, it, &b->cands[bi]);
	}
	/* Out of memory: matches missed, or a stored value not read. */
	rc = seen.failed || stored.failed || b->oom ? -1 : 0;
	identity_index_free(&seen);
	identity_index_free(&stored);
	return rc;
}

/*
 * Every new, updated and unchanged row, for one statement, with the folded
 * name and address that matching looks them up by next time.
 */
json_t *
bulk_rows(struct bulk *b)
{
	json_t *rows = json_array();

	for (size_t i = 0; i < b->n; i++) {
		struct bulk_item *it = &b->items[i];
		const struct identity *idp;
		struct identity id;
		json_t *row;

		if (!it->row)
			continue;
		/* The row is not needed after this: annotate it in place. */
		row = json_incref(it->row);
		json_object_set_new(row, "id", json_string(it->row_id));
		if (it->status == BS_UNCHANGED) {
			/* A sighting: its id and sources are all that is written. */
			json_object_set_new(row, "op", json_string("touch"));
			json_array_append_new(rows, row);
			continue;
		}
		/* A new row is the item as sent: its identity is the item's. */
		if (it->status == BS_NEW) {
			idp = &it->id;
		} else {
			identity_from_json(&id, row);
			idp = &id;
		}
		json_object_set_new(row, "op", json_string(it->status == BS_NEW ? "new" :
		    "update"));
		json_object_set_new(row, "nameKey", json_string(idp->name));
		json_object_set_new(row, "addrKey", idp->addr[0] ? json_string(idp->addr) :
		    json_null());
		json_array_append_new(rows, row);
	}
	return rows;
}

json_t *
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
json_t *
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
/* Does the decision insert a row? */
int
bulk_inserts(const struct bulk *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].in && b->items[i].status == BS_NEW)
			return 1;
	return 0;
}
