/*
 * api_jobs.c: print jobs over REST. Admins and integration keys (pmi_) create
 * and cancel; they and viewers read. Every query is scoped by the
 * credential's company and branch: another tenant's job or printer is 404.
 * Delivery to the agents is jobs_dispatch.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "log.h"
#include "server/api_jobs.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/jobs_dispatch.h"
#include "server/jobs_input.h"
#include "common/uuid.h"
#include "server/scope.h"
#include "server/store_jobs.h"

#define JOBS_LIST_DEFAULT 100
#define JOBS_LIST_MAX 500
#define JOBS_IDEM_MAX 200

#define JOBS_ALLOW_READ (AUTH_ALLOW_USERS | AUTH_ALLOW_INTEGRATION)
#define JOBS_ALLOW_WRITE (AUTH_ALLOW_ADMIN | AUTH_ALLOW_INTEGRATION)

static const char *const jobs_statuses[] = { "queued", "sent", "printed", "failed",
	"cancelled", "expired", NULL };

/* Connection and scope from the credential (and a companyId/branchId query). */
static int
jobs_prepare(struct http_req *r, int roles, PGconn **c, struct scope *sc, int *rc)
{
	if (auth_require_role(r, roles, rc) < 0)
		return -1;
	if ((*c = db_conn()) == NULL) {
		*rc = http_db_unavailable(r);
		return -1;
	}
	return scope_resolve(r, *c, http_query(r, "companyId"), http_query(r, "branchId"),
	    0, sc, rc);
}

/* The same for a /jobs/{id} handler: the id checked (404) after the role. */
static int
jobs_prepare_id(struct http_req *r, int roles, PGconn **c, struct scope *sc,
    char id[UUID_TEXT_LEN + 1], int *rc)
{
	if (auth_require_role(r, roles, rc) < 0)
		return -1;
	if (uuid_norm(r->params[0], id, UUID_TEXT_LEN + 1) < 0) {
		*rc = http_error(r, 404, "not_found", "no such job", NULL);
		return -1;
	}
	return jobs_prepare(r, roles, c, sc, rc);
}

static const char *
jobs_branch(const struct scope *sc)
{
	return sc->branch_id[0] ? sc->branch_id : NULL;
}

static int
jobs_create(struct http_req *r)
{
	const char *idem = http_header(r, "Idempotency-Key"), *field, *why;
	char printer[UUID_TEXT_LEN + 1], proto[16], conn[16], hash_hex[65];
	unsigned char hash[32];
	crypto_generichash_state hs;
	struct jobs_input in;
	struct store_job_new nj;
	struct scope sc;
	json_t *body = NULL, *job = NULL;
	PGconn *c;
	int rc, status;

	if (auth_require_role(r, JOBS_ALLOW_WRITE, &rc) < 0)
		return rc;
	if (uuid_norm(r->params[0], printer, UUID_TEXT_LEN + 1) < 0)
		return http_error(r, 404, "not_found", "no such printer", NULL);
	if (idem && (strlen(idem) == 0 || strlen(idem) > JOBS_IDEM_MAX ||
	    strspn(idem, "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") != strlen(idem)))
		return http_error(r, 400, "bad_request",
		    "Idempotency-Key must be 1 to 200 printable ASCII characters", NULL);
	if ((body = http_body_json(r, &rc)) == NULL)
		return rc;
	status = jobs_input_parse(body, (size_t)http_config()->max_job_bytes, &in, &field,
	    &why);
	if (status != 0) {
		rc = status == 413 ?
		    http_error(r, 413, "payload_too_large", "the job's content is larger "
		    "than max_job_bytes", json_pack("{s:s}", field, why)) :
		    http_error(r, 422, "validation_failed", "the job is not valid",
		    json_pack("{s:{s:s}}", "fields", field, why));
		goto out;
	}
	if (jobs_prepare(r, JOBS_ALLOW_WRITE, &c, &sc, &rc) < 0)
		goto out;
	if ((rc = store_jobs_printer(c, sc.company_id, jobs_branch(&sc), printer, proto,
	    conn)) <= 0) {
		rc = rc < 0 ? http_db_failed(r, c) :
		    http_error(r, 404, "not_found", "no such printer", NULL);
		goto out;
	}
	if (!jobs_input_fits(in.content_type, proto, conn)) {
		rc = http_error(r, 422, "validation_failed", "the job is not valid",
		    json_pack("{s:{s:s}}", "fields", "contentType", "pdf goes to IPP or CUPS "
		    "printers only; this printer takes raw and text"));
		goto out;
	}
	/* The same key with another printer or body is another request. */
	crypto_generichash_init(&hs, NULL, 0, sizeof(hash));
	crypto_generichash_update(&hs, (const unsigned char *)printer, strlen(printer));
	crypto_generichash_update(&hs, (const unsigned char *)r->body, r->body_len);
	crypto_generichash_final(&hs, hash, sizeof(hash));
	sodium_bin2hex(hash_hex, sizeof(hash_hex), hash, sizeof(hash));
	memset(&nj, 0, sizeof(nj));
	nj.company = sc.company_id;
	nj.branch = jobs_branch(&sc);
	nj.printer = printer;
	nj.title = in.title;
	nj.content_type = in.content_type;
	nj.content_b64 = in.content_b64;
	nj.copies = in.copies;
	nj.created_by = r->auth.principal_id;
	nj.idempotency_key = idem;
	nj.request_hash = hash_hex;
	nj.ttl_s = http_config()->job_ttl;
	switch ((rc = store_jobs_create(c, &nj, &job))) {
	case 1:
		jobs_dispatch_count("queued");
		log_info("[API] %s job %s queued for printer %s (%s, %zu bytes, %d copies)",
		    r->id, json_string_value(json_object_get(job, "id")), printer,
		    in.content_type, in.size, in.copies);
		rc = http_reply_json(r, 202, job);
		break;
	case 2:
		http_add_header(r, "Idempotent-Replayed", "true");
		rc = http_reply_json(r, 202, job);
		break;
	case STORE_JOBS_KEY_REUSED:
		rc = http_error(r, 422, "idempotency_key_reused",
		    "this Idempotency-Key was used for a different request", NULL);
		break;
	case 0:
		rc = http_error(r, 404, "not_found", "no such printer", NULL);
		break;
	default:
		rc = http_db_failed(r, c);
	}
out:
	json_decref(body);
	return rc;
}

static int
jobs_list(struct http_req *r)
{
	const char *status = http_query(r, "status"), *after = http_query(r, "after");
	const char *lim = http_query(r, "limit"), *pq = http_query(r, "printerId");
	char after_id[UUID_TEXT_LEN + 1] = "", printer[UUID_TEXT_LEN + 1] = "";
	struct scope sc;
	json_t *list, *job;
	PGresult *res;
	PGconn *c;
	long limit = JOBS_LIST_DEFAULT;
	int rc, n, known = !status;

	for (int i = 0; status && jobs_statuses[i]; i++)
		known |= strcmp(status, jobs_statuses[i]) == 0;
	if (!known)
		return http_error(r, 400, "bad_request", "status must be queued, sent, printed, "
		    "failed, cancelled or expired", NULL);
	if (lim) {
		char *end;

		limit = strtol(lim, &end, 10);
		if (*end || limit < 1 || limit > JOBS_LIST_MAX)
			return http_error(r, 400, "bad_request", "limit must be 1 to 500", NULL);
	}
	if (after && uuid_norm(after, after_id, UUID_TEXT_LEN + 1) < 0)
		return http_error(r, 400, "bad_request", "after must be a cursor from next",
		    NULL);
	if (pq && uuid_norm(pq, printer, UUID_TEXT_LEN + 1) < 0)
		return http_error(r, 400, "bad_request", "printerId must be a printer's id",
		    NULL);
	if (jobs_prepare(r, JOBS_ALLOW_READ, &c, &sc, &rc) < 0)
		return rc;
	if ((res = store_jobs_list(c, sc.company_id, jobs_branch(&sc), printer[0] ? printer :
	    NULL, status, after_id[0] ? after_id : NULL, limit)) == NULL)
		return http_db_failed(r, c);
	n = PQntuples(res);
	list = json_array();
	for (int i = 0; i < n && i < limit; i++)
		if ((job = json_loads(PQgetvalue(res, i, 1), 0, NULL)) != NULL)
			json_array_append_new(list, job);
	rc = http_reply_json(r, 200, json_pack("{s:o,s:s?}", "jobs", list, "next",
	    n > limit ? PQgetvalue(res, (int)limit - 1, 0) : NULL));
	PQclear(res);
	return rc;
}

static int
jobs_get(struct http_req *r)
{
	char id[UUID_TEXT_LEN + 1];
	struct scope sc;
	json_t *job;
	PGconn *c;
	int rc, found;

	if (jobs_prepare_id(r, JOBS_ALLOW_READ, &c, &sc, id, &rc) < 0)
		return rc;
	job = store_jobs_get(c, sc.company_id, jobs_branch(&sc), id, &found);
	if (found < 0)
		return http_db_failed(r, c);
	if (!found)
		return http_error(r, 404, "not_found", "no such job", NULL);
	return http_reply_json(r, 200, job);
}

static int
jobs_cancel(struct http_req *r)
{
	char id[UUID_TEXT_LEN + 1];
	struct scope sc;
	json_t *job = NULL;
	PGconn *c;
	int rc, found;

	if (jobs_prepare_id(r, JOBS_ALLOW_WRITE, &c, &sc, id, &rc) < 0)
		return rc;
	if ((rc = store_jobs_cancel(c, sc.company_id, jobs_branch(&sc), id, &job)) < 0)
		return http_db_failed(r, c);
	if (rc == 1) {
		jobs_dispatch_count("cancelled");
		return http_reply_json(r, 200, job);
	}
	job = store_jobs_get(c, sc.company_id, jobs_branch(&sc), id, &found);
	if (found < 0)
		return http_db_failed(r, c);
	if (!found)
		return http_error(r, 404, "not_found", "no such job", NULL);
	rc = http_error(r, 409, "not_cancellable", "only a queued job can be cancelled; "
	    "this one is already on its way or done", json_pack("{s:O}", "status",
	    json_object_get(job, "status")));
	json_decref(job);
	return rc;
}

const struct http_route api_jobs_routes[] = {
	{ "POST", "/api/v1/printing/printers/{id}/jobs", jobs_create,
	  HTTP_AUTH | HTTP_LARGE_BODY, NULL },
	{ "GET", "/api/v1/printing/jobs", jobs_list, HTTP_AUTH, NULL },
	{ "GET", "/api/v1/printing/jobs/{id}", jobs_get, HTTP_AUTH, NULL },
	{ HTTP_METHOD_DEL, "/api/v1/printing/jobs/{id}", jobs_cancel, HTTP_AUTH, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
