/*
 * test_auth_cache.c: the credential cache answers what was put until its
 * lifetime ends, drops exactly the entries a credential change covers, and
 * stays within its table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "server/auth_cache.h"

#define CO1 "11111111-1111-4111-8111-111111111111"
#define CO2 "22222222-2222-4222-8222-222222222222"
#define BR1 "33333333-3333-4333-8333-333333333333"

static struct auth
mk(enum auth_kind kind, const char *id, const char *co, const char *br)
{
	struct auth a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	a.role = kind == AUTH_AGENT ? ROLE_AGENT : ROLE_ADMIN;
	snprintf(a.principal_id, sizeof(a.principal_id), "%s", id);
	snprintf(a.company_id, sizeof(a.company_id), "%s", co);
	snprintf(a.branch_id, sizeof(a.branch_id), "%s", br);
	return a;
}

static void
test_hit_miss_expiry(void **state)
{
	struct auth a = mk(AUTH_USER, "u1", CO1, ""), out;

	(void)state;
	auth_cache_invalidate(NULL);
	assert_int_equal(auth_cache_get("u:u1:1", 1000, &out), 0);
	auth_cache_put("u:u1:1", 1000, &a);
	assert_int_equal(auth_cache_get("u:u1:1", 1000 + AUTH_CACHE_TTL_MS - 1, &out), 1);
	assert_string_equal(out.principal_id, "u1");
	/* Another token version is another key. */
	assert_int_equal(auth_cache_get("u:u1:2", 1001, &out), 0);
	assert_int_equal(auth_cache_get("u:u1:1", 1000 + AUTH_CACHE_TTL_MS, &out), 0);
}

static void
test_invalidate_by_kind(void **state)
{
	struct auth u1 = mk(AUTH_USER, "u1", CO1, ""), u2 = mk(AUTH_USER, "u2", CO2, "");
	struct auth ag = mk(AUTH_AGENT, "a1", CO1, BR1), out;

	(void)state;
	auth_cache_invalidate(NULL);
	auth_cache_put("u:u1:1", 0, &u1);
	auth_cache_put("u:u2:1", 0, &u2);
	auth_cache_put("a:h1", 0, &ag);
	/* An agent id does not match a user of the same id text, and back. */
	assert_int_equal(auth_cache_invalidate("agent:u1"), 0);
	assert_int_equal(auth_cache_invalidate("user:u1"), 1);
	assert_int_equal(auth_cache_get("u:u1:1", 1, &out), 0);
	assert_int_equal(auth_cache_get("u:u2:1", 1, &out), 1);
	assert_int_equal(auth_cache_invalidate("branch:" BR1), 1);
	assert_int_equal(auth_cache_get("a:h1", 1, &out), 0);
	auth_cache_put("a:h1", 0, &ag);
	assert_int_equal(auth_cache_invalidate("company:" CO1), 1);
	assert_int_equal(auth_cache_get("u:u2:1", 1, &out), 1);
	assert_int_equal(auth_cache_invalidate("company:" CO2), 1);
	/* Malformed notices change nothing; unknown kinds drop everything. */
	auth_cache_put("u:u2:1", 0, &u2);
	assert_int_equal(auth_cache_invalidate("nonsense"), 0);
	assert_int_equal(auth_cache_invalidate("role:x"), 1);
}

static void
test_bounded(void **state)
{
	struct auth a = mk(AUTH_USER, "u", CO1, ""), out;
	char key[64];
	int hits = 0;

	(void)state;
	auth_cache_invalidate(NULL);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "u:%d:1", i);
		auth_cache_put(key, 0, &a);
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "u:%d:1", i);
		hits += auth_cache_get(key, 1, &out);
	}
	assert_true(hits > 0 && hits <= 4096);
	/* A key longer than the table holds is simply not cached. */
	memset(key, 'x', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_true(strlen(key) < AUTH_CACHE_KEY_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_miss_expiry),
		cmocka_unit_test(test_invalidate_by_kind),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
