/*
 * scope.h: which tenant a request acts for. The credential decides; a
 * companyId/branchId named in the body or query must agree with it (else 403).
 * A request without a credential gets 401.
 */
#ifndef PM_SCOPE_H
#define PM_SCOPE_H

#include <libpq-fe.h>

#include "server/http.h"

struct scope {
	char company_id[HTTP_ID_LEN + 1];
	char branch_id[HTTP_ID_LEN + 1];	/* "" = every branch of the company */
};

#define SCOPE_NEED_BRANCH 0x1	/* the operation is on one branch */
#define SCOPE_NO_LOOKUP 0x2	/* the caller's own statement checks a named branch */

/*
 * Fill `out`. On refusal the error reply is queued, *rc holds its result and
 * -1 is returned. `company`/`branch` are the ids the request named, or NULL.
 */
int scope_resolve(struct http_req *r, PGconn *c, const char *company,
    const char *branch, int flags, struct scope *out, int *rc);

/* True when s is a canonical or acceptable UUID; writes the canonical form. */
int scope_uuid(const char *s, char out[HTTP_ID_LEN + 1]);

/* The standard 503 for "database unreachable: nothing was changed". */
int scope_db_unavailable(struct http_req *r);
/* After a failed statement on c (which may be NULL): the 503 above when the
 * connection is gone, else 500, since retrying a statement that fails on a
 * healthy connection would fail again. */
int scope_db_failed(struct http_req *r, PGconn *c);

#endif
