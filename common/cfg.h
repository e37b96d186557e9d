/*
 * cfg.h: table-driven configuration shared by the server and the agent.
 * One table of rows drives parsing, validation, --help, --print-config and the
 * generated docs. Precedence: defaults < config file < environment < flags.
 */
#ifndef PM_CFG_H
#define PM_CFG_H

#include <stddef.h>
#include <stdio.h>

enum cfg_type {
	CFG_STR,	/* char * in the target, owned by it; freed by cfg_free */
	CFG_INT,	/* long */
	CFG_BOOL,	/* int, 0 or 1 */
};

#define CFG_SECRET 0x1	/* masked by cfg_print */

struct cfg_opt {
	const char *name;	/* snake_case key; --kebab-case flag; PRINTMASTER_UPPER env */
	enum cfg_type type;
	size_t offset;		/* offsetof(target struct, field) */
	const char *def;	/* default as text; NULL leaves a string unset */
	long min, max;		/* CFG_INT range, inclusive */
	const char *choices;	/* CFG_STR: "a|b|c" allowed values, or NULL */
	const char *env_alias;	/* conventional extra variable (DATABASE_URL), or NULL */
	int flags;
	const char *help;
};

/* What is left after cfg_load took the config flags out of argv. */
struct cfg_args {
	int help, version, print_config;
	int argc;		/* remaining words (subcommands, their flags), in order */
	char **argv;		/* owned by cfg_args; free with cfg_args_free */
	char *config_path;	/* the file that was read, or NULL */
};

/*
 * Fill `target` from the table. `tab` ends with a row whose name is NULL.
 * Returns 0, or -1 with a one-line reason in err (and nothing left to free).
 * Unknown keys in the file are errors; unknown flags are left in out->argv for
 * the caller's subcommand.
 */
int cfg_load(const struct cfg_opt *tab, void *target, int argc, char **argv,
    struct cfg_args *out, char *err, size_t errlen);
void cfg_free(const struct cfg_opt *tab, void *target);
void cfg_args_free(struct cfg_args *a);

/* Set one key from text, validating it. Returns 0 or -1 with err. */
int cfg_set(const struct cfg_opt *tab, void *target, const char *key,
    const char *value, const char *origin, char *err, size_t errlen);

void cfg_print(const struct cfg_opt *tab, const void *target, FILE *f);
void cfg_usage(const struct cfg_opt *tab, FILE *f);
void cfg_markdown(const struct cfg_opt *tab, FILE *f);

/* Split a comma-separated list in place-independent copies. Returns the count
 * (up to max) and fills items with pointers into *buf, which the caller frees. */
int cfg_split_list(const char *s, char **buf, char **items, int max);

#endif
