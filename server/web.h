/*
 * web.h: the page's static files. GET /settings/printing serves index.html,
 * GET /static/<name> the CSS, JavaScript and images beside it, GET / redirects
 * to the page. Every answer carries the strict security headers of docs/page.md.
 */
#ifndef PM_WEB_H
#define PM_WEB_H

#include <stddef.h>

#include "server/config.h"
#include "server/http.h"

#define WEB_MAX_FILE (1024 * 1024)	/* larger files are refused (500) */
#define WEB_MAX_NAME 64			/* longest /static/<name> */

/* The Content-Security-Policy sent with every page answer. */
#define WEB_CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; " \
	"base-uri 'none'; form-action 'self'"

extern const struct http_route web_routes[];

/*
 * Find the web root: cfg->web_root when set (it must hold index.html, else
 * -1), otherwise <exe dir>/../../web, then <exe dir>/../web, then ./web. When
 * no default candidate exists the server still runs (the API does not need the
 * page) and the page answers 503. Call once before http_start.
 */
int web_init(const struct server_config *cfg);
void web_shutdown(void);

/* Pure helpers, exposed for the unit tests. */
/* True when name is a file name we may serve: [a-z0-9._-]{1,WEB_MAX_NAME},
 * not starting with '.', no "..", and a known extension. */
int web_name_ok(const char *name);
/* Content-Type for a file name by extension, or NULL when not served. */
const char *web_content_type(const char *name);
/* True when an If-None-Match header value lists etag (or is "*"). */
int web_etag_match(const char *if_none_match, const char *etag);

#endif
