/*
 * cfg.c: configuration from one table. Each layer (defaults, file, environment,
 * flags) goes through cfg_set, so every value is validated the same way whatever
 * its origin, and errors name the origin ("file.conf:3", "PRINTMASTER_PORT").
 * Not here: the tables themselves (server/config.c, agent/agent_config.c).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

static const struct cfg_opt *
cfg_find(const struct cfg_opt *tab, const char *key, size_t len)
{
	for (; tab->name; tab++)
		if (strlen(tab->name) == len && strncmp(tab->name, key, len) == 0)
			return tab;
	return NULL;
}

static int
cfg_parse_bool(const char *v)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on"))
		return 1;
	if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	    !strcasecmp(v, "off"))
		return 0;
	return -1;
}

static int
cfg_choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		if (!bar)
			break;
		p = bar + 1;
	}
	return 0;
}

int
cfg_set(const struct cfg_opt *tab, void *target, const char *key,
    const char *value, const char *origin, char *err, size_t errlen)
{
	const struct cfg_opt *o = cfg_find(tab, key, strlen(key));
	char *field, *end;
	long l;
	int b;

	if (!o) {
		snprintf(err, errlen, "%s: unknown setting '%s'", origin, key);
		return -1;
	}
	field = (char *)target + o->offset;
	switch (o->type) {
	case CFG_STR:
		if (o->choices && !cfg_choice_ok(o->choices, value)) {
			snprintf(err, errlen, "%s: %s must be one of %s, not '%s'",
			    origin, key, o->choices, value);
			return -1;
		}
		free(*(char **)field);
		if ((*(char **)field = strdup(value)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case CFG_INT:
		errno = 0;
		l = strtol(value, &end, 10);
		if (errno || end == value || *end != '\0') {
			snprintf(err, errlen, "%s: %s must be a whole number, not '%s'",
			    origin, key, value);
			return -1;
		}
		if (l < o->min || l > o->max) {
			snprintf(err, errlen, "%s: %s must be between %ld and %ld, not %ld",
			    origin, key, o->min, o->max, l);
			return -1;
		}
		*(long *)field = l;
		return 0;
	case CFG_BOOL:
		if ((b = cfg_parse_bool(value)) < 0) {
			snprintf(err, errlen, "%s: %s must be true or false, not '%s'",
			    origin, key, value);
			return -1;
		}
		*(int *)field = b;
		return 0;
	}
	return -1;
}

static char *
cfg_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
cfg_read_file(const struct cfg_opt *tab, void *target, const char *path,
    char *err, size_t errlen)
{
	char line[4096], origin[PATH_MAX + 32];
	FILE *f;
	int lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *k, *v, *eq;
		size_t vl;

		lineno++;
		snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s: line too long", origin);
			rc = -1;
			break;
		}
		k = cfg_trim(line);
		if (*k == '\0' || *k == '#' || *k == ';')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "%s: expected 'key = value'", origin);
			rc = -1;
			break;
		}
		*eq = '\0';
		k = cfg_trim(k);
		v = cfg_trim(eq + 1);
		vl = strlen(v);
		if (vl >= 2 && ((v[0] == '"' && v[vl - 1] == '"') ||
		    (v[0] == '\'' && v[vl - 1] == '\''))) {
			v[vl - 1] = '\0';
			v++;
		}
		if (cfg_set(tab, target, k, v, origin, err, errlen) < 0) {
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void
cfg_env_name(const char *key, char *buf, size_t len)
{
	size_t i = 0;
	const char *p = "PRINTMASTER_";

	for (; *p && i + 1 < len; p++)
		buf[i++] = *p;
	for (p = key; *p && i + 1 < len; p++)
		buf[i++] = (char)toupper((unsigned char)*p);
	buf[i] = '\0';
}

/* The --kebab-case flag of a snake_case key. */
static void
cfg_flag_name(const char *key, char *buf, size_t len)
{
	snprintf(buf, len, "--%s", key);
	for (size_t i = 2; buf[i]; i++)
		if (buf[i] == '_')
			buf[i] = '-';
}

static void
cfg_flag_to_key(const char *flag, size_t len, char *buf, size_t buflen)
{
	size_t i;

	for (i = 0; i < len && i + 1 < buflen; i++)
		buf[i] = flag[i] == '-' ? '_' : flag[i];
	buf[i] = '\0';
}

void
cfg_args_free(struct cfg_args *a)
{
	if (!a)
		return;
	free(a->argv);
	free(a->config_path);
	memset(a, 0, sizeof(*a));
}

static int
cfg_load_layers(const struct cfg_opt *tab, void *target, int argc, char **argv,
    struct cfg_args *out, char *err, size_t errlen)
{
	const struct cfg_opt *o;
	const char *path = NULL, *ev;
	char name[128];
	int i;

	memset(out, 0, sizeof(*out));
	if ((out->argv = calloc((size_t)argc + 1, sizeof(char *))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (o = tab; o->name; o++)
		if (o->def && cfg_set(tab, target, o->name, o->def, "default", err,
		    errlen) < 0)
			return -1;

	/* The file comes before the environment and flags, so find it first. */
	if ((ev = getenv("PRINTMASTER_CONFIG")) != NULL && *ev)
		path = ev;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "--config needs a file name");
				return -1;
			}
			path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	if (path) {
		if (cfg_read_file(tab, target, path, err, errlen) < 0)
			return -1;
		out->config_path = strdup(path);
	}

	for (o = tab; o->name; o++) {
		cfg_env_name(o->name, name, sizeof(name));
		ev = getenv(name);
		if (!ev && o->env_alias) {
			ev = getenv(o->env_alias);
			snprintf(name, sizeof(name), "%s", o->env_alias);
		}
		if (ev && cfg_set(tab, target, o->name, ev, name, err, errlen) < 0)
			return -1;
	}

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		size_t flen;
		char key[128];
		int neg = 0;

		if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++)
				out->argv[out->argc++] = argv[i];
			break;
		}
		if (strncmp(a, "--", 2) != 0) {
			out->argv[out->argc++] = argv[i];
			continue;
		}
		a += 2;
		if (!strcmp(a, "help")) {
			out->help = 1;
			continue;
		}
		if (!strcmp(a, "version")) {
			out->version = 1;
			continue;
		}
		if (!strcmp(a, "print-config")) {
			out->print_config = 1;
			continue;
		}
		if (!strcmp(a, "config")) {
			i++;
			continue;
		}
		if (!strncmp(a, "config=", 7))
			continue;
		eq = strchr(a, '=');
		flen = eq ? (size_t)(eq - a) : strlen(a);
		cfg_flag_to_key(a, flen, key, sizeof(key));
		o = cfg_find(tab, key, strlen(key));
		if (!o && !eq && strncmp(key, "no_", 3) == 0) {
			o = cfg_find(tab, key + 3, strlen(key + 3));
			if (o && o->type == CFG_BOOL)
				neg = 1;
			else
				o = NULL;
		}
		if (!o) {
			/* Not ours: the subcommand may know it. */
			out->argv[out->argc++] = argv[i];
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (o->type == CFG_BOOL)
			val = neg ? "false" : "true";
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			snprintf(err, errlen, "--%.*s needs a value", (int)flen, a);
			return -1;
		}
		snprintf(name, sizeof(name), "--%.*s", (int)flen, a);
		if (cfg_set(tab, target, o->name, val, name, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int
cfg_load(const struct cfg_opt *tab, void *target, int argc, char **argv,
    struct cfg_args *out, char *err, size_t errlen)
{
	if (cfg_load_layers(tab, target, argc, argv, out, err, errlen) == 0)
		return 0;
	/* A function that fails leaves nothing behind for its caller to free. */
	cfg_args_free(out);
	cfg_free(tab, target);
	return -1;
}

void
cfg_free(const struct cfg_opt *tab, void *target)
{
	for (; tab->name; tab++)
		if (tab->type == CFG_STR) {
			char **p = (char **)((char *)target + tab->offset);
			free(*p);
			*p = NULL;
		}
}

static void
cfg_value(const struct cfg_opt *o, const void *target, char *buf, size_t len)
{
	const char *field = (const char *)target + o->offset;
	const char *s;

	switch (o->type) {
	case CFG_STR:
		s = *(char *const *)field;
		if (s && *s && (o->flags & CFG_SECRET))
			snprintf(buf, len, "********");
		else
			snprintf(buf, len, "%s", s ? s : "");
		break;
	case CFG_INT:
		snprintf(buf, len, "%ld", *(const long *)field);
		break;
	case CFG_BOOL:
		snprintf(buf, len, "%s", *(const int *)field ? "true" : "false");
		break;
	}
}

/* A URL's password is a secret even where the rest of the URL is not. */
static void
cfg_mask_url(char *v)
{
	char *scheme = strstr(v, "://"), *at, *colon;

	if (!scheme)
		return;
	at = strchr(scheme + 3, '@');
	colon = strchr(scheme + 3, ':');
	if (at && colon && colon < at)
		memmove(colon + 1 + 8, at, strlen(at) + 1), memset(colon + 1, '*', 8);
}

void
cfg_print(const struct cfg_opt *tab, const void *target, FILE *f)
{
	char buf[4096];

	for (; tab->name; tab++) {
		cfg_value(tab, target, buf, sizeof(buf) - 16);
		cfg_mask_url(buf);
		fprintf(f, "%s = %s\n", tab->name, buf);
	}
}

static const char *
cfg_type_name(const struct cfg_opt *o)
{
	return o->type == CFG_INT ? "number" : o->type == CFG_BOOL ? "bool" : "text";
}

void
cfg_usage(const struct cfg_opt *tab, FILE *f)
{
	char flag[128], env[128];

	for (; tab->name; tab++) {
		cfg_flag_name(tab->name, flag, sizeof(flag));
		cfg_env_name(tab->name, env, sizeof(env));
		fprintf(f, "  %-24s %s", flag, tab->help);
		if (tab->choices)
			fprintf(f, " (%s)", tab->choices);
		if (tab->def && *tab->def)
			fprintf(f, " [%s]", tab->def);
		fprintf(f, "\n  %-24s env %s%s%s\n", "", env,
		    tab->env_alias ? " or " : "", tab->env_alias ? tab->env_alias : "");
	}
}

void
cfg_markdown(const struct cfg_opt *tab, FILE *f)
{
	fprintf(f, "| key (file) | flag | environment | type | default | meaning |\n");
	fprintf(f, "|---|---|---|---|---|---|\n");
	for (; tab->name; tab++) {
		char flag[128], env[128];

		cfg_flag_name(tab->name, flag, sizeof(flag));
		cfg_env_name(tab->name, env, sizeof(env));
		fprintf(f, "| `%s` | `%s` | `%s`%s%s%s | %s | %s%s%s | %s",
		    tab->name, flag, env, tab->env_alias ? ", `" : "",
		    tab->env_alias ? tab->env_alias : "", tab->env_alias ? "`" : "",
		    cfg_type_name(tab), tab->def && *tab->def ? "`" : "",
		    tab->def && *tab->def ? tab->def : "(none)",
		    tab->def && *tab->def ? "`" : "", tab->help);
		if (tab->choices)
			fprintf(f, "; one of `%s`", tab->choices);
		if (tab->type == CFG_INT)
			fprintf(f, "; %ld to %ld", tab->min, tab->max);
		fprintf(f, " |\n");
	}
}

int
cfg_split_list(const char *s, char **buf, char **items, int max)
{
	char *p, *save = NULL, *tok;
	int n = 0;

	*buf = NULL;
	if (!s)
		return 0;
	if ((*buf = strdup(s)) == NULL)
		return -1;
	for (p = *buf; (tok = strtok_r(p, ",", &save)) != NULL && n < max; p = NULL) {
		tok = cfg_trim(tok);
		if (*tok)
			items[n++] = tok;
	}
	return n;
}
