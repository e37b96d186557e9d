/*
 * auth.c: who is asking. Agent keys are looked up by their BLAKE2b hash; session
 * tokens are checked by MAC and expiry (session.c), then against the user row
 * in one indexed query, so revoking a user or bumping its token version ends
 * every session at once. Nothing here logs a key, token or password. Not here:
 * tenant resolution (scope.c), the cache (auth_cache.c), SQL
 * (store_credentials.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "server/auth.h"
#include "server/auth_cache.h"
#include "server/db.h"
#include "server/gateway.h"
#include "server/store_apikeys.h"
#include "server/store_credentials.h"
#include "server/scope.h"
#include "server/session.h"

#define AUTH_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define AUTH_KEY_RAW 32
#define AUTH_SECRET_FILE "session.key"
#define AUTH_SECRET_TEXT_MAX 256

enum auth_result {
	AUTH_OK = 0,
	AUTH_BAD = -1,		/* invalid, expired or revoked */
	AUTH_DB = -2,		/* the database could not be asked */
};

static unsigned char auth_key[SESSION_KEY_BYTES];
static int auth_key_ready;
static long auth_ttl = 43200;
static char auth_dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t auth_dummy_once = PTHREAD_ONCE_INIT;

static void
auth_dummy_make(void)
{
	unsigned char pw[16];

	/* A hash of a password nobody knows, with the same cost as real ones. */
	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(auth_dummy_hash, (const char *)pw, sizeof(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		auth_dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof(pw));
}

/* Decode a base64 secret (standard or URL-safe alphabet) of exactly 32 bytes. */
static int
auth_decode_secret(const char *text, unsigned char key[SESSION_KEY_BYTES])
{
	static const int variants[] = { sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING, sodium_base64_VARIANT_URLSAFE,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING };
	size_t n = strcspn(text, " \t\r\n"), len;

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (sodium_base642bin(key, SESSION_KEY_BYTES, text, n, NULL, &len, NULL,
		    variants[i]) == 0 && len == SESSION_KEY_BYTES)
			return 0;
	return -1;
}

/* mkdir -p with mode 0700 for the parts we create. */
static int
auth_mkdirs(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -1;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST)
				return -1;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

static int
auth_read_secret(const char *path)
{
	char text[AUTH_SECRET_TEXT_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		log_warnx("[API] %s is readable by others; chmod 600 it", path);
	n = read(fd, text, AUTH_SECRET_TEXT_MAX);
	close(fd);
	if (n > 0) {
		text[n] = '\0';
		rc = auth_decode_secret(text, auth_key);
	}
	if (rc < 0)
		log_error("[API] %s does not hold a base64 32-byte key", path);
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* Create data_dir/session.key once; a concurrent start that wins the race is
 * read instead (O_EXCL). */
static int
auth_load_or_create(const char *data_dir)
{
	char path[4096], text[sodium_base64_ENCODED_LEN(SESSION_KEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL) + 1];
	size_t len;
	int fd, rc = -1;

	if (snprintf(path, sizeof(path), "%s/%s", data_dir, AUTH_SECRET_FILE) >=
	    (int)sizeof(path))
		return -1;
	if (access(path, F_OK) == 0)
		return auth_read_secret(path);
	if (auth_mkdirs(data_dir) < 0) {
		log_warn("[API] cannot create data_dir %s", data_dir);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return auth_read_secret(path);
		log_warn("[API] cannot create %s", path);
		return -1;
	}
	crypto_auth_keygen(auth_key);
	sodium_bin2base64(text, sizeof(text) - 1, auth_key, sizeof(auth_key),
	    sodium_base64_VARIANT_ORIGINAL);
	len = strlen(text);
	text[len++] = '\n';
	if (write(fd, text, len) == (ssize_t)len && fsync(fd) == 0)
		rc = 0;
	else
		log_warn("[API] cannot write %s", path);
	close(fd);
	sodium_memzero(text, sizeof(text));
	if (rc < 0)
		unlink(path);
	else
		log_info("[API] generated a new session signing key in %s", path);
	return rc;
}

int
auth_init(const struct server_config *cfg)
{
	auth_ttl = cfg->session_ttl;
	if (cfg->session_secret && cfg->session_secret[0]) {
		if (auth_decode_secret(cfg->session_secret, auth_key) < 0) {
			log_error("[API] session_secret must be base64 of 32 bytes");
			return -1;
		}
	} else if (auth_load_or_create(cfg->data_dir) < 0)
		return -1;
	auth_key_ready = 1;
	pthread_once(&auth_dummy_once, auth_dummy_make);
	if (!auth_dummy_hash[0]) {
		log_error("[API] cannot compute password hashes (out of memory?)");
		return -1;
	}
	return 0;
}

void
auth_shutdown(void)
{
	sodium_memzero(auth_key, sizeof(auth_key));
	auth_key_ready = 0;
}

long
auth_session_ttl(void)
{
	return auth_ttl;
}

int
auth_key_hash(const char *key, char hash[AUTH_KEY_HASH_LEN + 1])
{
	unsigned char h[crypto_generichash_BYTES];
	size_t n = strnlen(key, AUTH_KEY_LEN + 1);

	if (n != AUTH_KEY_LEN || (strncmp(key, AUTH_KEY_PREFIX, 4) != 0 &&
	    strncmp(key, AUTH_INTEGRATION_PREFIX, 4) != 0) ||
	    strspn(key + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != AUTH_KEY_LEN - 4)
		return -1;
	crypto_generichash(h, sizeof(h), (const unsigned char *)key, n, NULL, 0);
	memcpy(hash, "\\x", 2);
	sodium_bin2hex(hash + 2, AUTH_KEY_HASH_LEN - 1, h, sizeof(h));
	return 0;
}

int
auth_key_new(const char *prefix, char key[AUTH_KEY_LEN + 1],
    char hash[AUTH_KEY_HASH_LEN + 1])
{
	unsigned char raw[AUTH_KEY_RAW];

	randombytes_buf(raw, sizeof(raw));
	memcpy(key, prefix, 4);
	sodium_bin2base64(key + 4, AUTH_KEY_LEN - 3, raw, sizeof(raw), AUTH_B64);
	sodium_memzero(raw, sizeof(raw));
	return auth_key_hash(key, hash);
}

int
auth_password_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
	return crypto_pwhash_str(out, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ?
	    0 : -1;
}

int
auth_password_verify(const char *hash, const char *password)
{
	if (!hash) {
		volatile int sink;

		pthread_once(&auth_dummy_once, auth_dummy_make);
		if (auth_dummy_hash[0]) {
			sink = crypto_pwhash_str_verify(auth_dummy_hash, password,
			    strlen(password));
			(void)sink;
		}
		return -1;
	}
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0 : -1;
}

int
auth_session_issue(const struct auth *a, long long version, char *token, size_t len,
    long long *expires)
{
	struct session_claims c;

	if (!auth_key_ready || a->kind != AUTH_USER)
		return -1;
	memset(&c, 0, sizeof(c));
	snprintf(c.user_id, sizeof(c.user_id), "%s", a->principal_id);
	snprintf(c.company_id, sizeof(c.company_id), "%s", a->company_id);
	snprintf(c.branch_id, sizeof(c.branch_id), "%s", a->branch_id);
	snprintf(c.role, sizeof(c.role), "%s", a->role == ROLE_ADMIN ? "admin" : "viewer");
	c.expires = (long long)time(NULL) + auth_ttl;
	c.version = version;
	*expires = c.expires;
	return session_sign(auth_key, &c, token, len);
}

/* A key of either kind (pmk_ agent, pmi_ integration) by its hash. */
static enum auth_result
auth_by_key(PGconn *c, const char *key, struct auth *out)
{
	char hash[AUTH_KEY_HASH_LEN + 1], ckey[AUTH_CACHE_KEY_MAX];
	long long now = clock_ms();
	int found;

	if (auth_key_hash(key, hash) < 0)
		return AUTH_BAD;
	snprintf(ckey, sizeof(ckey), "a:%s", hash);
	if (auth_cache_get(ckey, now, out))
		return AUTH_OK;
	/* A miss (every AUTH_CACHE_TTL_MS at most per agent and instance) also
	 * refreshes an agent's last_seen when it is older than a minute. */
	if (strncmp(key, AUTH_INTEGRATION_PREFIX, 4) == 0)
		found = store_apikeys_credential(c, hash, out);
	else
		found = store_credentials_agent(c, hash, out);
	if (found < 0)
		return AUTH_DB;
	if (!found)
		return AUTH_BAD;
	auth_cache_put(ckey, now, out);
	return AUTH_OK;
}

static enum auth_result
auth_session(PGconn *c, const char *token, struct auth *out)
{
	struct session_claims cl;
	char ckey[AUTH_CACHE_KEY_MAX];
	long long now = clock_ms();
	enum session_status st;
	int found;

	if (!auth_key_ready)
		return AUTH_BAD;
	/* MAC and expiry on every request; only the user row is cached. */
	st = session_verify(auth_key, token, (long long)time(NULL), &cl);
	if (st != SESSION_OK) {
		log_debug("[API] session token %s", st == SESSION_EXPIRED ? "expired" :
		    "invalid");
		return AUTH_BAD;
	}
	snprintf(ckey, sizeof(ckey), "u:%s:%lld", cl.user_id, cl.version);
	if (!auth_cache_get(ckey, now, out)) {
		if ((found = store_credentials_user(c, cl.user_id, cl.version, out)) < 0)
			return AUTH_DB;
		if (!found) {
			log_debug("[API] session of user %s revoked", cl.user_id);
			return AUTH_BAD;
		}
		auth_cache_put(ckey, now, out);
	}
	/* Per token, not per user: not part of what is cached. */
	out->expires = cl.expires;
	return AUTH_OK;
}

static enum auth_result
auth_lookup(const char *token, struct auth *out)
{
	PGconn *c;
	enum auth_result rc;

	if (!token || !*token || strnlen(token, SESSION_TOKEN_MAX + 1) > SESSION_TOKEN_MAX)
		return AUTH_BAD;
	if ((c = db_conn()) == NULL)
		return AUTH_DB;
	if (strncmp(token, AUTH_KEY_PREFIX, 4) == 0 ||
	    strncmp(token, AUTH_INTEGRATION_PREFIX, 4) == 0)
		rc = auth_by_key(c, token, out);
	else
		rc = auth_session(c, token, out);
	if (rc == AUTH_DB)
		db_check_broken(c);
	return rc;
}

int
auth_from_token(const char *token, struct auth *out)
{
	/* The gateway is for people and agents; an integration polls REST. */
	return auth_lookup(token, out) == AUTH_OK && out->kind != AUTH_INTEGRATION ? 0 : -1;
}

/*
 * A cookie-authenticated request that may change something (not GET or HEAD)
 * must come from the page: its Origin is the server's own or one of
 * allowed_origins (the websocket's rule, gateway_origin_allowed), or, from a
 * browser that sends no Origin, Sec-Fetch-Site says same-origin. SameSite
 * alone does not cover sibling subdomains. 1 allowed, 0 refused.
 */
static int
auth_same_site(struct http_req *r)
{
	const char *origin = http_header(r, "Origin"), *site;
	const char *host = http_header(r, "Host");

	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
		return 1;
	if (origin)
		return host && gateway_origin_allowed(origin, host,
		    http_config()->allowed_origins);
	site = http_header(r, "Sec-Fetch-Site");
	return site && strcmp(site, "same-origin") == 0;
}

int
auth_http(struct http_req *r, int *answered)
{
	const char *h = http_header(r, "Authorization"), *tok;
	enum auth_result rc;

	*answered = 0;
	if (h) {
		if (strncasecmp(h, "Bearer ", 7) != 0)
			goto bad;
		for (tok = h + 7; *tok == ' '; tok++)
			;
	} else if ((tok = http_cookie(r, AUTH_COOKIE)) == NULL) {
		return 0;	/* no credential: http.c answers 401 */
	} else if (!auth_same_site(r)) {
		/* The browser sends the cookie with any site's request. */
		*answered = 1;
		log_info("[API] %s %s %s: cross-site request with the session cookie refused",
		    r->id, r->method, r->path);
		return http_error(r, 403, "cross_site", "a request that changes something "
		    "with the session cookie must come from the page's own origin", NULL);
	}
	rc = auth_lookup(tok, &r->auth);
	if (rc == AUTH_DB) {
		*answered = 1;
		return http_db_unavailable(r);
	}
	if (rc == AUTH_OK)
		return 0;
bad:
	memset(&r->auth, 0, sizeof(r->auth));
	log_info("[API] %s %s %s: credential refused", r->id, r->method, r->path);
	*answered = 1;
	http_add_header(r, "WWW-Authenticate", "Bearer");
	return http_error(r, 401, "unauthorized",
	    "the credential is invalid, expired or revoked", NULL);
}

int
auth_require_role(struct http_req *r, int roles_mask, int *rc)
{
	if (r->auth.kind == AUTH_NONE) {
		*rc = http_error(r, 401, "unauthorized", "a credential is required", NULL);
		return -1;
	}
	if (!(roles_mask & (1 << r->auth.role))) {
		*rc = http_error(r, 403, "forbidden",
		    "this credential's role may not do that", NULL);
		return -1;
	}
	return 0;
}
