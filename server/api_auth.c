/*
 * api_auth.c: login (Argon2id check, rate limited per address and per email,
 * one answer for every kind of failure), logout (optionally of every session),
 * who-am-I, and the branches a credential may see. Not here: token signing and
 * checks (auth.c, session.c) or SQL (store_tenants.c).
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
#include "server/auth_cache.h"
#include "server/db.h"
#include "server/ratelimit.h"
#include "server/scope.h"
#include "server/session.h"
#include "server/store_agents.h"
#include "server/store_tenants.h"

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
	struct store_tenants_login u;
	int found;

	if ((found = store_tenants_user_find_login(c, email, &u)) <= 0)
		return found;
	memset(a, 0, sizeof(*a));
	a->kind = AUTH_USER;
	a->role = u.admin ? ROLE_ADMIN : ROLE_VIEWER;
	snprintf(a->principal_id, sizeof(a->principal_id), "%s", u.id);
	snprintf(a->company_id, sizeof(a->company_id), "%s", u.company_id);
	snprintf(a->branch_id, sizeof(a->branch_id), "%s", u.branch_id);
	snprintf(a->email, sizeof(a->email), "%s", u.email);
	snprintf(hash, crypto_pwhash_STRBYTES, "%s", u.password_hash);
	*version = u.token_version;
	sodium_memzero(&u, sizeof(u));
	return 1;
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
		return http_db_unavailable(r);
	}
	if ((found = api_auth_find_user(c, email, &a, hash, &version)) < 0) {
		json_decref(body);
		return http_db_failed(r, c);
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
	char what[64];
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
		PGconn *c = db_conn();

		json_decref(body);
		if (!c || store_tenants_user_logout_all(c, r->auth.principal_id,
		    r->auth.company_id) < 0)
			return http_db_failed(r, c);
		/* Here at once; other instances (and this one's sockets) when the
		 * announcement of the change reaches their listeners. */
		snprintf(what, sizeof(what), "user:%s", r->auth.principal_id);
		auth_cache_invalidate(what);
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
	char name[STORE_AGENTS_NAME_MAX + 1] = "";
	PGconn *c;
	json_t *agent;

	if (r->auth.kind == AUTH_USER)
		return http_reply_json(r, 200, json_pack("{s:o,s:s}", "user",
		    api_auth_user_json(&r->auth), "kind", "user"));
	if (r->auth.kind != AUTH_AGENT)
		return http_error(r, 401, "unauthorized", "a credential is required", NULL);
	if ((c = db_conn()) == NULL)
		return http_db_unavailable(r);
	if (store_agents_name(c, r->auth.principal_id, r->auth.company_id, name,
	    sizeof(name)) < 0)
		return http_db_failed(r, c);
	agent = json_pack("{s:s,s:s,s:s,s:s}", "id", r->auth.principal_id, "name", name,
	    "companyId", r->auth.company_id, "branchId", r->auth.branch_id);
	return http_reply_json(r, 200, json_pack("{s:o,s:s}", "agent", agent, "kind",
	    "agent"));
}

static int
api_auth_branches(struct http_req *r)
{
	PGconn *c;
	json_t *list;
	int rc;

	if (auth_require_role(r, AUTH_ALLOW_USERS | AUTH_ALLOW_AGENT, &rc) < 0)
		return rc;
	if ((c = db_conn()) == NULL)
		return http_db_unavailable(r);
	if ((list = store_tenants_branches(c, r->auth.company_id,
	    r->auth.branch_id[0] ? r->auth.branch_id : NULL)) == NULL)
		return http_db_failed(r, c);
	return http_reply_json(r, 200, json_pack("{s:o}", "branches", list));
}

const struct http_route api_auth_routes[] = {
	{ "POST", "/api/v1/auth/login", api_auth_login, HTTP_PUBLIC, NULL },
	{ "POST", "/api/v1/auth/logout", api_auth_logout, HTTP_AUTH, NULL },
	{ "GET", "/api/v1/auth/me", api_auth_me, HTTP_AUTH, NULL },
	{ "GET", "/api/v1/branches", api_auth_branches, HTTP_AUTH, NULL },
	{ NULL, NULL, NULL, 0, NULL },
};
