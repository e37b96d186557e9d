/*
 * store_printers.h: every statement on the printers table. Reads return the
 * printer's one public representation (SQL printer_json) as JSON text; the
 * bulk path's statements come as _send/_recv pairs so the handler can put
 * several of them in one pipeline (one round trip).
 */
#ifndef PM_STORE_PRINTERS_H
#define PM_STORE_PRINTERS_H

#include <jansson.h>
#include <libpq-fe.h>

/* List filters; NULL members are not filtered on. */
struct store_printer_filter {
	const char *company_id;		/* required */
	const char *branch_id;
	const char *status;
	const char *q;			/* substring of name, display name, model, ... */
	const char *after;		/* id cursor */
	long limit;
};

/*
 * One page of printers in id order, at most f->limit + 1 rows (one more tells
 * there is a next page): row i is printer_json text in column 0 and the id in
 * column 1. When f->branch_id is set and is not a live branch of the company,
 * *branch_ok is 0 and there are no rows. NULL on a database error; caller
 * PQclear()s. One statement, one round trip.
 */
PGresult *store_printers_list(PGconn *c, const struct store_printer_filter *f,
    int *branch_ok);

/* One printer in scope (branch_id may be NULL): 1 found (*out, caller
 * decrefs), 0 not found, -1 database error. */
int store_printers_get(PGconn *c, const char *company_id, const char *branch_id,
    const char *id, json_t **out);

/* PATCH: set_* say which fields change (display_name/role may be NULL to
 * clear), enabled "true"/"false"/NULL. 1 updated (*out: the printer), 0 not
 * found, -1 error. In the caller's transaction. */
int store_printers_patch(PGconn *c, const char *company_id, const char *branch_id,
    const char *id, int set_display_name, const char *display_name, int set_role,
    const char *role, const char *enabled, json_t **out);

/* DELETE: 1 deleted (its branch id and name copied out), 0 not found, -1 error. */
int store_printers_delete(PGconn *c, const char *company_id, const char *branch_id,
    const char *id, char branch_out[37], json_t **name_out);

/*
 * A large batch (more than STORE_PRINTERS_LARGE items) is planned for itself:
 * store_printers_lock_send() sets custom plans for it, which its candidate
 * lookup needs, so it takes the lock in its first round trip.
 */
#define STORE_PRINTERS_LARGE 64
int store_printers_large(size_t items);

/*
 * Bulk, first round trip (after BEGIN): the branch's writer lock, so matching
 * sees every committed row of the branch (other branches and companies never
 * wait for it), and the plan settings for a batch of `items` printers.
 */
int store_printers_lock_send(PGconn *c, const char *branch_id, size_t items);
int store_printers_lock_recv(PGconn *c);

/*
 * The stored printers of a branch any item could be, locked FOR NO KEY UPDATE:
 * those sharing a deviceKey, uuid, serial, MAC, folded address or folded name with
 * the lookup {"keys","uuids","serials","macs","addrs","names": [strings]},
 * for a batch of n items. An index lookup per value: the cost follows the
 * request, not the branch (a batch of more than STORE_PRINTERS_LARGE items
 * needs the custom plans store_printers_lock_send() sets for it).
 * _recv returns the rows (read with store_printers_cand_*; caller PQclear()s).
 */
int store_printers_candidates_send(PGconn *c, const char *company_id,
    const char *branch_id, const json_t *lookup, size_t n);
PGresult *store_printers_candidates_recv(PGconn *c);
/*
 * The candidates' result, a row at a time. Its columns are named by the
 * printer object's fields (id, deviceKey, the discovered fields, nameKey,
 * addrKey, status, stateReasons, sources): store_printers_cand_field() gives
 * a field's column, or -1. _text is a column's text (NULL for SQL NULL or
 * column -1); _value the column as a JSON value (new reference; JSON null for
 * SQL NULL; NULL when out of memory or for column -1). The bulk reads only
 * the columns it compares; store_printers_candidate() makes the whole printer
 * object (NULL when out of memory), for a row that changes.
 */
int store_printers_cand_field(const char *field);
const char *store_printers_cand_text(const PGresult *r, int row, int col);
json_t *store_printers_cand_value(const PGresult *r, int row, int col);
json_t *store_printers_candidate(const PGresult *r, int row);

/*
 * Write every decided row: `rows` is an array of printer objects (camelCase)
 * each with "op": "new" | "update" | "touch" (touch: last_seen and sightings
 * only), "id", "nameKey" and "addrKey" (the folded forms matching uses). One
 * statement per op present, so at most 3 whatever the batch's size. _send
 * returns how many it sent (0 to 3) or -1; _recv takes that count: 0 or -1.
 */
int store_printers_write_send(PGconn *c, const char *company_id, const char *branch_id,
    const json_t *rows);
int store_printers_write_recv(PGconn *c, int sent);

/* ANALYZE printers, so plans see a branch that was just filled. Outside any
 * transaction; takes tens of milliseconds; blocks no writer. 0 or -1. */
int store_printers_analyze(PGconn *c);

#endif
