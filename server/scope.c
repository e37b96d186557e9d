/*
 * scope.c: tenant resolution for every handler, in one place, so the rule
 * "never trust ids in the body over the credential" has a single home.
 */
#include <string.h>

#include "common/printer.h"
#include "server/db.h"
#include "server/scope.h"
#include "server/store_credentials.h"

int
scope_uuid(const char *s, char out[HTTP_ID_LEN + 1])
{
	return s && printer_norm_uuid(s, out, HTTP_ID_LEN + 1) == 0;
}

int
scope_db_unavailable(struct http_req *r)
{
	http_add_header(r, "Retry-After", "1");
	return http_error(r, 503, "database_unavailable",
	    "the database is unavailable; nothing was changed, retry later", NULL);
}

int
scope_db_failed(struct http_req *r, PGconn *c)
{
	if (db_check_broken(c) || db_last_error_transient())
		return scope_db_unavailable(r);
	return http_error(r, 500, "internal",
	    "the request failed in the database; nothing was changed", NULL);
}

int
scope_resolve(struct http_req *r, PGconn *c, const char *company, const char *branch,
    int flags, struct scope *out, int *rc)
{
	char cid[HTTP_ID_LEN + 1] = "", bid[HTTP_ID_LEN + 1] = "";
	int found;

	memset(out, 0, sizeof(*out));
	if ((company && *company && !scope_uuid(company, cid)) ||
	    (branch && *branch && !scope_uuid(branch, bid))) {
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
			*rc = scope_db_failed(r, c);
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
