/*
 * scope.c: tenant resolution for every handler, in one place, so the rule
 * "never trust ids in the body over the credential" has a single home. Not
 * here: parsing ids (common/uuid.c), database errors as answers (http.c).
 */
#include <string.h>

#include "common/uuid.h"
#include "server/scope.h"
#include "server/store_credentials.h"

int
scope_resolve(struct http_req *r, PGconn *c, const char *company, const char *branch,
    int flags, struct scope *out, int *rc)
{
	char cid[UUID_TEXT_LEN + 1] = "", bid[UUID_TEXT_LEN + 1] = "";
	int found;

	memset(out, 0, sizeof(*out));
	if ((company && *company && uuid_norm(company, cid, sizeof(cid)) < 0) ||
	    (branch && *branch && uuid_norm(branch, bid, sizeof(bid)) < 0)) {
		*rc = http_error(r, 422, "validation_failed",
		    "companyId and branchId must be UUIDs", NULL);
		return -1;
	}

	/* Every route that needs a tenant requires a credential (http.c). */
	if (r->auth.kind == AUTH_NONE) {
		*rc = http_error(r, 401, "unauthorized", "a credential is required", NULL);
		return -1;
	}
	if (cid[0] && strcmp(cid, r->auth.company_id) != 0)
		goto forbidden;
	if (r->auth.branch_id[0] && bid[0] && strcmp(bid, r->auth.branch_id) != 0)
		goto forbidden;
	strcpy(out->company_id, r->auth.company_id);
	strcpy(out->branch_id, r->auth.branch_id[0] ? r->auth.branch_id : bid);
	if (bid[0] && !r->auth.branch_id[0] && !(flags & SCOPE_NO_LOOKUP)) {
		/* A company-wide credential naming a branch: it must be ours. */
		if ((found = store_credentials_branch_live(c, out->company_id, bid)) < 0) {
			*rc = http_db_failed(r, c);
			return -1;
		}
		if (!found)
			goto forbidden;
	}
	if ((flags & SCOPE_NEED_BRANCH) && !out->branch_id[0]) {
		*rc = http_error(r, 422, "validation_failed", "branchId is required", NULL);
		return -1;
	}
	return 0;
forbidden:
	*rc = http_error(r, 403, "forbidden",
	    "the credential does not cover that company or branch", NULL);
	return -1;
}
