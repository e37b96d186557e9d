/*
 * web.c: serves the live settings page from the web root. Only names from a
 * strict pattern are opened (openat on the root directory, no symlinks), files
 * are size-bounded, revalidated by a content hash ETag, and every answer
 * carries the Content-Security-Policy and framing/referrer headers. Not here:
 * the page's API (api_*.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"
#include "server/web.h"

#define WEB_ETAG_BYTES 16

static int web_dir_fd = -1;
static char web_root_path[PATH_MAX];

static const struct {
	const char *ext;
	const char *ctype;
} web_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ NULL, NULL },
};

const char *
web_content_type(const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; web_types[i].ext; i++) {
		size_t e = strlen(web_types[i].ext);

		if (n > e && strcmp(name + n - e, web_types[i].ext) == 0)
			return web_types[i].ctype;
	}
	return NULL;
}

int
web_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > WEB_MAX_NAME || name[0] == '.' || strstr(name, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		    ch == '_' || ch == '-'))
			return 0;
	}
	return web_content_type(name) != NULL;
}

int
web_etag_match(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	int guard = 0;

	if (!inm)
		return 0;
	/* A list like `"a", W/"b"`; If-None-Match uses the weak comparison. */
	while (*inm && guard++ < 64) {
		size_t n;

		inm += strspn(inm, " \t,");
		if (*inm == '*')
			return 1;
		if (strncmp(inm, "W/", 2) == 0)
			inm += 2;
		n = strcspn(inm, ",");
		while (n > 0 && (inm[n - 1] == ' ' || inm[n - 1] == '\t'))
			n--;
		if (n == elen && memcmp(inm, etag, n) == 0)
			return 1;
		inm += strcspn(inm, ",");
	}
	return 0;
}

static int
web_try_root(const char *dir)
{
	char real[PATH_MAX];
	int fd;

	if (!realpath(dir, real))
		return -1;
	if ((fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (faccessat(fd, "index.html", R_OK, 0) != 0) {
		close(fd);
		return -1;
	}
	web_dir_fd = fd;
	snprintf(web_root_path, sizeof(web_root_path), "%s", real);
	return 0;
}

int
web_init(const struct server_config *cfg)
{
	char exe[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t n;

	if (cfg->web_root && cfg->web_root[0]) {
		if (web_try_root(cfg->web_root) < 0) {
			log_error("[API] web_root %s has no readable index.html", cfg->web_root);
			return -1;
		}
		goto found;
	}
	/*
	 * Built trees: build/bin/printmaster-server -> ../../web; installed ones
	 * (make install, the package): PREFIX/bin -> PREFIX/share/printmaster/web.
	 */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		snprintf(cand, sizeof(cand), "%s/../../web", exe);
		if (web_try_root(cand) == 0)
			goto found;
		snprintf(cand, sizeof(cand), "%s/../web", exe);
		if (web_try_root(cand) == 0)
			goto found;
		snprintf(cand, sizeof(cand), "%s/../share/printmaster/web", exe);
		if (web_try_root(cand) == 0)
			goto found;
	}
	if (web_try_root("web") == 0)
		goto found;
	log_warnx("[API] no web root found (set web_root); /settings/printing answers 503");
	return 0;
found:
	log_info("[API] serving the page from %s", web_root_path);
	return 0;
}

void
web_shutdown(void)
{
	if (web_dir_fd >= 0)
		close(web_dir_fd);
	web_dir_fd = -1;
}

/* Headers for everything the page loads; the CSP forbids inline code and any
 * origin but ours, so an injected string can never run as script. */
static void
web_security_headers(struct http_req *r)
{
	http_add_header(r, "Content-Security-Policy", WEB_CSP);
	http_add_header(r, "X-Frame-Options", "DENY");
	http_add_header(r, "Referrer-Policy", "same-origin");
	http_add_header(r, "Cross-Origin-Opener-Policy", "same-origin");
}

/* Read name from the web root into *buf (malloc'd, caller frees). 0, or an
 * HTTP status to answer with. */
static unsigned
web_read(const char *name, char **buf, size_t *len)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd;

	if (web_dir_fd < 0)
		return 503;
	fd = openat(web_dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP ? 404 : 500;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto notfound;
	if (st.st_size > WEB_MAX_FILE) {
		log_warnx("[API] %s is larger than %d bytes; not served", name, WEB_MAX_FILE);
		close(fd);
		return 500;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL)
		goto err;
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, data + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;	/* truncated meanwhile: serve what is there */
		got += (size_t)k;
	}
	close(fd);
	*buf = data;
	*len = got;
	return 0;
notfound:
	close(fd);
	return 404;
err:
	close(fd);
	free(data);
	return 500;
}

static int
web_serve(struct http_req *r, const char *name)
{
	unsigned char hash[WEB_ETAG_BYTES];
	char hex[WEB_ETAG_BYTES * 2 + 1], etag[WEB_ETAG_BYTES * 2 + 3];
	const char *ctype = web_content_type(name);
	char *data = NULL;
	size_t len = 0;
	unsigned st;
	int rc;

	web_security_headers(r);
	if ((st = web_read(name, &data, &len)) != 0) {
		if (st == 404)
			return http_error(r, 404, "not_found", "no such file", NULL);
		if (st == 503)
			return http_error(r, 503, "page_unavailable",
			    "the page's files were not found (web_root)", NULL);
		return http_error(r, 500, "internal", "could not read the file", NULL);
	}
	/* A content hash, so a deploy changes it and a restart does not. */
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)data, len, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	http_add_header(r, "ETag", etag);
	/* Revalidate every time: file names are not fingerprinted, and a stale
	 * app.js beside a new index.html would break the page. */
	http_add_header(r, "Cache-Control", "no-cache");
	if (web_etag_match(http_header(r, "If-None-Match"), etag))
		rc = http_reply_data(r, 304, ctype, "", 0);
	else
		rc = http_reply_data(r, 200, ctype, data, len);
	free(data);
	return rc;
}

static int
web_page(struct http_req *r)
{
	return web_serve(r, "index.html");
}

static int
web_static(struct http_req *r)
{
	const char *name = r->params[0];

	if (!web_name_ok(name)) {
		web_security_headers(r);
		return http_error(r, 404, "not_found", "no such file", NULL);
	}
	return web_serve(r, name);
}

static int
web_root_redirect(struct http_req *r)
{
	static const char body[] = "See /settings/printing\n";

	http_add_header(r, "Location", "/settings/printing");
	return http_reply_static(r, 302, "text/plain; charset=utf-8", body, sizeof(body) - 1);
}

const struct http_route web_routes[] = {
	{ "GET", "/", web_root_redirect, HTTP_PUBLIC, NULL },
	{ "GET", "/settings/printing", web_page, HTTP_PUBLIC, NULL },
	{ "GET", "/static/{file}", web_static, HTTP_PUBLIC, "/static" },
	{ NULL, NULL, NULL, 0, NULL },
};
