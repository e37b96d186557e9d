/*
 * bulk.h: the decision of a bulk sync, apart from HTTP and SQL: which stored
 * printer each item is (the identity rule, common/identity.c), what each row
 * becomes, the response and the events. api_bulk.c reads the candidates and
 * writes what is decided here; this module owns no connection and no request.
 */
#ifndef PM_BULK_H
#define PM_BULK_H

#include <jansson.h>
#include <libpq-fe.h>

#include "common/identity.h"
#include "common/uuid.h"
#include "server/scope.h"

enum bulk_mode { BULK_REFRESH, BULK_MERGE, BULK_SKIP };

enum bulk_status {
	BS_NEW, BS_CHANGED, BS_UNCHANGED, BS_SKIPPED, BS_DUPLICATE, BS_FAILED,
};

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

/* A stored printer: row `row` of b->cand_res (store_printers_cand_*). Only
 * what the decision compares is read from it; the whole printer object is
 * made for a row that changes. */
struct bulk_cand {
	int row;
	json_t *p;		/* the stored printer object, or NULL until needed */
	struct identity id;	/* its strings point into cand_res */
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
	PGresult *cand_res;	/* the candidates' rows, owned */
	json_t *keys;		/* deviceKeys the branch will hold: {"key": true} */
	char batch_id[UUID_TEXT_LEN + 1];
	char now[40];
	char req_hash[65];	/* the request's fingerprint (api_bulk.c) */
	int counts[6];
	int check_branch;	/* a company-wide credential named the branch */
	int oom;		/* the decision ran out of memory */
};

/* Free what a bulk owns (not the struct itself). */
void bulk_free(struct bulk *b);
/* Forget a decision (and the candidates it was made on), to decide again on
 * a fresh read. Validation results stay. */
void bulk_undecide(struct bulk *b);
/* The identity arrays the candidate query filters on, as one JSON object. */
json_t *bulk_lookup_keys(const struct bulk *b);
/* Take the candidate lookup's result `res` (owned from here on, also on
 * failure) as b->cands: 0, or -1 when out of memory. */
int bulk_take_candidates(struct bulk *b, PGresult *res);
/* Decide every item against b->cands: 0, or -1 when out of memory. */
int bulk_decide(struct bulk *b);
/* Does the decision insert a row? */
int bulk_inserts(const struct bulk *b);
/* Every new, updated and unchanged row, for the write statement. */
json_t *bulk_rows(struct bulk *b);
/* The response body. */
json_t *bulk_response(struct bulk *b);
/* The events to append: per printer, or one refresh-required past
 * `threshold`, then the batch's own. */
json_t *bulk_events(struct bulk *b, const json_t *response, long threshold, double ms);

#endif
