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
	char company_id[UUID_TEXT_LEN + 1];
	char branch_id[UUID_TEXT_LEN + 1];	/* "" = every branch of the company */
};

#define SCOPE_NEED_BRANCH 0x1	/* the operation is on one branch */
#define SCOPE_NO_LOOKUP 0x2	/* the caller's own statement checks a named branch */

/*
 * Fill `out`. On refusal the error reply is queued, *rc holds its result and
 * -1 is returned. `company`/`branch` are the ids the request named, or NULL.
 */
int scope_resolve(struct http_req *r, PGconn *c, const char *company,
    const char *branch, int flags, struct scope *out, int *rc);

#endif
