/*
 * api_auth.c: login (Argon2id check, rate limited per address and per email,
 * one answer for every kind of failure), logout (optionally of every session),
 * who-am-I, and the branches a credential may see.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "log.h"
#include "server/api_auth.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/ratelimit.h"
#include "server/scope.h"
#include "server/session.h"

#define LOGIN_EMAIL_MAX 254
#define LOGIN_WINDOW 60
#define LOGIN_TABLE_SLOTS 4096

static struct ratelimit *login_limit;

int
api_auth_start(const struct server_config *cfg)
{
	login_limit = ratelimit_new(LOGIN_TABLE_SLOTS, cfg->login_rate_limit, LOGIN_WINDOW);
	return login_limit ? 0 : -1;
}

void
api_auth_stop(void)
{
	ratelimit_free(login_limit);
	login_limit = NULL;
}

static json_t *
api_auth_user_json(const struct auth *a)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s?}", "id", a->principal_id, "email", a->email,
	    "role", a->role == ROLE_ADMIN ? "admin" : "viewer", "companyId", a->company_id,
	    "branchId", a->branch_id[0] ? a->branch_id : NULL);
}

static void
api_auth_cookie(struct http_req *r, const char *token, long max_age)
{
	char c[SESSION_TOKEN_MAX + 128];

	snprintf(c, sizeof(c), "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%ld",
	    AUTH_COOKIE, token, max_age);
	http_add_header(r, "Set-Cookie", c);
	sodium_memzero(c, sizeof(c));
}

static int
api_auth_too_many(struct http_req *r, long wait)
{
	char s[24];

	snprintf(s, sizeof(s), "%ld", wait);
	http_add_header(r, "Retry-After", s);
	log_info("[API] %s login refused: rate limit (%s)", r->id, r->client_ip);
	return http_error(r, 429, "too_many_requests",
	    "too many login attempts; retry later", NULL);
}

/* Find the login's user; 1 found (fields in *a, hash and version copied),
 * 0 not found, -1 database error. */
static int
api_auth_find_user(PGconn *c, const char *email, struct auth *a,
    char hash[crypto_pwhash_STRBYTES], long long *version)
{
	const char *p[1] = { email };
	PGresult *res;
	int found;

	res = db_exec(c, PGRES_TUPLES_OK,
	    "SELECT u.id, u.company_id, coalesce(u.branch_id::text, ''), u.role, u.email, "
	    "u.password_hash, u.token_version FROM users u "
	    "JOIN companies co ON co.id = u.company_id "
	    "LEFT JOIN branches b ON b.id = u.branch_id "
	    "WHERE lower(u.email) = lower($1) AND u.revoked_at IS NULL "
	    "AND co.revoked_at IS NULL AND b.revoked_at IS NULL", 1, p);
	if (!res)
		return -1;
	found = PQntuples(res) == 1 &&
	    strlen(PQgetvalue(res, 0, 5)) < crypto_pwhash_STRBYTES;
	if (found) {
		memset(a, 0, sizeof(*a));
		a->kind = AUTH_USER;
		a->role = strcmp(PQgetvalue(res, 0, 3), "admin") == 0 ? ROLE_ADMIN :
		    ROLE_VIEWER;
		snprintf(a->principal_id, sizeof(a->principal_id), "%s", PQgetvalue(res, 0, 0));
		snprintf(a->company_id, sizeof(a->company_id), "%s", PQgetvalue(res, 0, 1));
		snprintf(a->branch_id, sizeof(a->branch_id), "%s", PQgetvalue(res, 0, 2));
		snprintf(a->email, sizeof(a->email), "%s", PQgetvalue(res, 0, 4));
		snprintf(hash, crypto_pwhash_STRBYTES, "%s", PQgetvalue(res, 0, 5));
		*version = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	}
	PQclear(res);
	return found;
}

static int
api_auth_login(struct http_req *r)
{
	char ip_key[80], email_key[LOGIN_EMAIL_MAX + 8], hash[crypto_pwhash_STRBYTES] = "";
	char token[SESSION_TOKEN_MAX + 1], when[CLOCK_ISO_LEN];
	const char *email, *password;
	json_t *body, *out;
	struct auth a;
	long long version = 0, expires, now = (clock_ms() / 1000 + 1);
	time_t exp_t;
	PGconn *c;
	long wait;
	int rc, found;

	if ((body = http_body_json(r, &rc)) == NULL)
		return rc;
	email = json_string_value(json_object_get(body, "email"));
	password = json_string_value(json_object_get(body, "password"));
	if (!email || !password || strlen(email) > LOGIN_EMAIL_MAX ||
	    strlen(password) > AUTH_PASSWORD_MAX) {
		json_decref(body);
		return http_error(r, 400, "bad_request",
		    "email and password are required strings (at most 254 and 1024 bytes)",
		    NULL);
	}
	snprintf(ip_key, sizeof(ip_key), "ip:%s", r->client_ip);
	snprintf(email_key, sizeof(email_key), "email:%s", email);
	for (char *p = email_key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* Each attempt is counted before the slow hash, so parallel guesses
	 * cannot slip past the limit; a success gives its attempt back. */
	if ((wait = ratelimit_take(login_limit, ip_key, now)) > 0 ||
	    (wait = ratelimit_take(login_limit, email_key, now)) > 0) {
		json_decref(body);
		return api_auth_too_many(r, wait);
	}
	if ((c = db_conn()) == NULL) {
		json_decref(body);
		return scope_db_unavailable(r);
	}
	if ((found = api_auth_find_user(c, email, &a, hash, &version)) < 0) {
		json_decref(body);
		return scope_db_failed(r, c);
	}
	/* Unknown users pay for a dummy verification: the answer and its timing
	 * are the same as for a wrong password. */
	rc = auth_password_verify(found ? hash : NULL, password);
	json_decref(body);
	sodium_memzero(hash, sizeof(hash));
	if (rc < 0) {
		if (found)
			log_info("[API] %s login failed for user %s from %s", r->id,
			    a.principal_id, r->client_ip);
		else
			log_info("[API] %s login failed (unknown email) from %s", r->id,
			    r->client_ip);
		return http_error(r, 401, "invalid_credentials", "wrong email or password",
		    NULL);
	}
	ratelimit_refund(login_limit, ip_key, now);
	ratelimit_refund(login_limit, email_key, now);
	if (auth_session_issue(&a, version, token, sizeof(token), &expires) < 0)
		return http_error(r, 500, "internal", "could not sign the session", NULL);
	exp_t = (time_t)expires;
	clock_iso8601(exp_t, when);
	api_auth_cookie(r, token, auth_session_ttl());
	out = json_pack("{s:s,s:s,s:o}", "token", token, "expiresAt", when, "user",
	    api_auth_user_json(&a));
	sodium_memzero(token, sizeof(token));
	log_info("[API] %s login of user %s (%s) from %s", r->id, a.principal_id, a.email,
	    r->client_ip);
	return http_reply_json(r, 200, out);
}

static int
api_auth_logout(struct http_req *r)
{
	json_t *body = NULL, *all = NULL;
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_USERS, &rc) < 0)
		return rc;
	if (r->body_len > 0) {
		if ((body = http_body_json(r, &rc)) == NULL)
			return rc;
		all = json_object_get(body, "all");
		if (all && !json_is_boolean(all)) {
			json_decref(body);
			return http_error(r, 422, "validation_failed", "all must be true or false",
			    json_pack("{s:s}", "all", "must be true or false"));
		}
	}
	if (json_is_true(all)) {
		/* Every token carries the version it was signed at: bumping it
		 * ends them all, on every server instance at once. */
		const char *p[2] = { r->auth.principal_id, r->auth.company_id };
		PGconn *c = db_conn();
		PGresult *res = c ? db_exec(c, PGRES_COMMAND_OK,
		    "UPDATE users SET token_version = token_version + 1 "
		    "WHERE id = $1 AND company_id = $2", 2, p) : NULL;

		json_decref(body);
		if (!res)
			return scope_db_failed(r, c);
		PQclear(res);
		log_info("[API] %s user %s logged out of every session", r->id,
		    r->auth.principal_id);
	} else
		json_decref(body);
	api_auth_cookie(r, "", 0);
	return http_reply_data(r, 204, "application/json", "", 0);
}

static int
api_auth_me(struct http_req *r)
{
	const char *p[2] = { r->auth.principal_id, r->auth.company_id };
	PGconn *c;
	PGresult *res;
	json_t *agent;

	if (r->auth.kind == AUTH_USER)
		return http_reply_json(r, 200, json_pack("{s:o,s:s}", "user",
		    api_auth_user_json(&r->auth), "kind", "user"));
	if (r->auth.kind != AUTH_AGENT)
		return http_error(r, 401, "unauthorized", "a credential is required", NULL);
	if ((c = db_conn()) == NULL)
		return scope_db_unavailable(r);
	res = db_exec(c, PGRES_TUPLES_OK, "SELECT name FROM agents WHERE id = $1 "
	    "AND company_id = $2", 2, p);
	if (!res)
		return scope_db_failed(r, c);
	agent = json_pack("{s:s,s:s,s:s,s:s}", "id", r->auth.principal_id, "name",
	    PQntuples(res) ? PQgetvalue(res, 0, 0) : "", "companyId", r->auth.company_id,
	    "branchId", r->auth.branch_id);
	PQclear(res);
	return http_reply_json(r, 200, json_pack("{s:o,s:s}", "agent", agent, "kind",
	    "agent"));
}

static int
api_auth_branches(struct http_req *r)
{
	const char *p[2] = { r->auth.company_id,
	    r->auth.branch_id[0] ? r->auth.branch_id : NULL };
	PGconn *c;
	PGresult *res;
	json_t *list;
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_USERS | AUTH_ALLOW_AGENT, &rc) < 0)
		return rc;
	if ((c = db_conn()) == NULL)
		return scope_db_unavailable(r);
	res = db_exec(c, PGRES_TUPLES_OK,
	    "SELECT id, name FROM branches WHERE company_id = $1 "
	    "AND ($2::uuid IS NULL OR id = $2) AND revoked_at IS NULL ORDER BY name, id",
	    2, p);
	if (!res)
		return scope_db_failed(r, c);
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(list, json_pack("{s:s,s:s}", "id", PQgetvalue(res, i, 0),
		    "name", PQgetvalue(res, i, 1)));
	PQclear(res);
	return http_reply_json(r, 200, json_pack("{s:o}", "branches", list));
}

const struct http_route api_auth_routes[] = {
	{ "POST", "/api/v1/auth/login", api_auth_login, HTTP_PUBLIC, NULL },
	{ "POST", "/api/v1/auth/logout", api_auth_logout, HTTP_AUTH, NULL },
	{ "GET", "/api/v1/auth/me", api_auth_me, HTTP_AUTH, NULL },
	{ "GET", "/api/v1/branches", api_auth_branches, HTTP_AUTH, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
