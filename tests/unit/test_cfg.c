/* test_cfg.c: defaults < file < environment < flags, validation and masking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/cfg.h"

struct tcfg {
	long port;
	char *url;
	char *mode;
	int flag;
};

static const struct cfg_opt tab[] = {
	{ "port", CFG_INT, offsetof(struct tcfg, port), "3001", 1, 65535, NULL, "PORT", 0, "port" },
	{ "database_url", CFG_STR, offsetof(struct tcfg, url), "postgresql:///x", 0, 0, NULL,
	  NULL, CFG_SECRET, "url" },
	{ "log_mode", CFG_STR, offsetof(struct tcfg, mode), "text", 0, 0, "text|json", NULL, 0,
	  "mode" },
	{ "some_flag", CFG_BOOL, offsetof(struct tcfg, flag), "false", 0, 0, NULL, NULL, 0, "f" },
	{ NULL, 0, 0, NULL, 0, 0, NULL, NULL, 0, NULL },
};

static void
clear_env(void)
{
	unsetenv("PORT");
	unsetenv("PRINTMASTER_PORT");
	unsetenv("PRINTMASTER_LOG_MODE");
	unsetenv("PRINTMASTER_CONFIG");
	unsetenv("PRINTMASTER_SOME_FLAG");
}

static int
load(struct tcfg *c, int argc, char **argv, struct cfg_args *a, char *err)
{
	memset(c, 0, sizeof(*c));
	return cfg_load(tab, c, argc, argv, a, err, 256);
}

static void
test_precedence(void **state)
{
	char path[] = "/tmp/pmcfgXXXXXX", err[256];
	struct cfg_args a;
	struct tcfg c;
	FILE *f;
	int fd;
	char *argv1[] = { "prog", "--config", path, NULL };
	char *argv2[] = { "prog", "--config", path, "--port=7000", "--log-mode", "json",
		"admin", "--company", "x", NULL };

	(void)state;
	clear_env();
	assert_int_equal(load(&c, 1, argv1, &a, err), 0);
	assert_int_equal(c.port, 3001);
	assert_string_equal(c.mode, "text");
	cfg_args_free(&a);
	cfg_free(tab, &c);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "# comment\nport = 5000\n\nlog_mode = \"json\"\nsome_flag = yes\n");
	fclose(f);
	assert_int_equal(load(&c, 3, argv1, &a, err), 0);
	assert_int_equal(c.port, 5000);
	assert_int_equal(c.flag, 1);
	cfg_args_free(&a);
	cfg_free(tab, &c);

	setenv("PORT", "6000", 1);
	assert_int_equal(load(&c, 3, argv1, &a, err), 0);
	assert_int_equal(c.port, 6000);
	cfg_args_free(&a);
	cfg_free(tab, &c);
	setenv("PRINTMASTER_PORT", "6500", 1);	/* our name beats the conventional one */
	assert_int_equal(load(&c, 3, argv1, &a, err), 0);
	assert_int_equal(c.port, 6500);
	cfg_args_free(&a);
	cfg_free(tab, &c);

	assert_int_equal(load(&c, 9, argv2, &a, err), 0);
	assert_int_equal(c.port, 7000);
	assert_string_equal(c.mode, "json");
	assert_int_equal(a.argc, 3);	/* unknown words are left for the subcommand */
	assert_string_equal(a.argv[0], "admin");
	assert_string_equal(a.argv[1], "--company");
	cfg_args_free(&a);
	cfg_free(tab, &c);
	unlink(path);
	clear_env();
}

static void
test_errors(void **state)
{
	char err[256];
	struct cfg_args a;
	struct tcfg c;
	char *bad_port[] = { "prog", "--port", "70000", NULL };
	char *bad_num[] = { "prog", "--port=12ab", NULL };
	char *bad_choice[] = { "prog", "--log-mode=xml", NULL };
	char *no_value[] = { "prog", "--port", NULL };
	char *missing_file[] = { "prog", "--config", "/nonexistent/pm.conf", NULL };

	(void)state;
	clear_env();
	assert_int_equal(load(&c, 3, bad_port, &a, err), -1);
	assert_non_null(strstr(err, "between 1 and 65535"));
	cfg_args_free(&a);
	cfg_free(tab, &c);
	assert_int_equal(load(&c, 2, bad_num, &a, err), -1);
	assert_non_null(strstr(err, "whole number"));
	cfg_args_free(&a);
	cfg_free(tab, &c);
	assert_int_equal(load(&c, 2, bad_choice, &a, err), -1);
	assert_non_null(strstr(err, "text|json"));
	cfg_args_free(&a);
	cfg_free(tab, &c);
	assert_int_equal(load(&c, 2, no_value, &a, err), -1);
	assert_non_null(strstr(err, "needs a value"));
	cfg_args_free(&a);
	cfg_free(tab, &c);
	assert_int_equal(load(&c, 3, missing_file, &a, err), -1);
	assert_non_null(strstr(err, "/nonexistent/pm.conf"));
	cfg_args_free(&a);
	cfg_free(tab, &c);
	setenv("PRINTMASTER_SOME_FLAG", "perhaps", 1);
	assert_int_equal(load(&c, 1, no_value, &a, err), -1);
	assert_non_null(strstr(err, "PRINTMASTER_SOME_FLAG"));
	cfg_args_free(&a);
	cfg_free(tab, &c);
	clear_env();
}

static void
test_print_masks_secrets(void **state)
{
	char err[256], buf[2048] = "";
	struct cfg_args a;
	struct tcfg c;
	char *argv[] = { "prog", "--database-url", "postgresql://pm:hunter2@db/pm", NULL };
	FILE *f;

	(void)state;
	clear_env();
	assert_int_equal(load(&c, 3, argv, &a, err), 0);
	f = fmemopen(buf, sizeof(buf), "w");
	cfg_print(tab, &c, f);
	fclose(f);
	assert_null(strstr(buf, "hunter2"));
	assert_non_null(strstr(buf, "database_url = ********"));
	assert_non_null(strstr(buf, "port = 3001"));
	cfg_args_free(&a);
	cfg_free(tab, &c);
}

static void
test_split_list(void **state)
{
	char *buf, *items[4];
	int n;

	(void)state;
	n = cfg_split_list(" a, b ,,c,d,e", &buf, items, 4);
	assert_int_equal(n, 4);
	assert_string_equal(items[0], "a");
	assert_string_equal(items[1], "b");
	assert_string_equal(items[2], "c");
	free(buf);
	assert_int_equal(cfg_split_list("", &buf, items, 4), 0);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_print_masks_secrets),
		cmocka_unit_test(test_split_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
