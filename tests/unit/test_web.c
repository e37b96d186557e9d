/*
 * test_web.c: the page server's pure helpers: which names may be served,
 * their Content-Type, and If-None-Match matching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/web.h"

static void
test_names(void **state)
{
	(void)state;
	assert_true(web_name_ok("app.js"));
	assert_true(web_name_ok("style.css"));
	assert_true(web_name_ok("logo-mark_2.svg"));
	assert_true(web_name_ok("favicon.ico"));
	assert_false(web_name_ok(""));
	assert_false(web_name_ok(".."));
	assert_false(web_name_ok("..css"));
	assert_false(web_name_ok("a..js"));
	assert_false(web_name_ok(".hidden.js"));
	assert_false(web_name_ok("../etc/passwd"));
	assert_false(web_name_ok("sub/app.js"));
	assert_false(web_name_ok("App.js"));	/* upper case is outside the pattern */
	assert_false(web_name_ok("app.js%00"));
	assert_false(web_name_ok("app.js\n"));
	assert_false(web_name_ok("readme"));	/* no known extension */
	assert_false(web_name_ok("server.c"));
	assert_false(web_name_ok("js"));
	assert_false(web_name_ok(".js"));
	{
		char longname[WEB_MAX_NAME + 8];

		memset(longname, 'a', sizeof(longname));
		strcpy(longname + WEB_MAX_NAME - 3, ".js");	/* exactly the limit */
		assert_int_equal(strlen(longname), WEB_MAX_NAME);
		assert_true(web_name_ok(longname));
		memset(longname, 'a', sizeof(longname));
		strcpy(longname + WEB_MAX_NAME - 2, ".js");	/* one over */
		assert_false(web_name_ok(longname));
	}
}

static void
test_types(void **state)
{
	(void)state;
	assert_string_equal(web_content_type("app.js"), "text/javascript; charset=utf-8");
	assert_string_equal(web_content_type("style.css"), "text/css; charset=utf-8");
	assert_string_equal(web_content_type("index.html"), "text/html; charset=utf-8");
	assert_string_equal(web_content_type("logo.svg"), "image/svg+xml");
	assert_string_equal(web_content_type("shot.png"), "image/png");
	assert_null(web_content_type("app.jsx"));
	assert_null(web_content_type("css"));
	assert_null(web_content_type("x.json"));
}

static void
test_etag(void **state)
{
	const char *e = "\"0123abcd\"";

	(void)state;
	assert_true(web_etag_match("\"0123abcd\"", e));
	assert_true(web_etag_match("W/\"0123abcd\"", e));
	assert_true(web_etag_match("\"zz\", \"0123abcd\"", e));
	assert_true(web_etag_match("\"zz\",W/\"0123abcd\" ", e));
	assert_true(web_etag_match("*", e));
	assert_false(web_etag_match(NULL, e));
	assert_false(web_etag_match("", e));
	assert_false(web_etag_match("\"0123abc\"", e));
	assert_false(web_etag_match("\"0123abcd", e));
	assert_false(web_etag_match("0123abcd", e));
	assert_false(web_etag_match("\"x\", \"y\"", e));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_etag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
