/*
 * discover.c: one discovery pass. Runs the configured sources in order (usb,
 * cups, dnssd, netscan, then ipp on every IPP endpoint the others found),
 * merges what they saw by device identity (DESIGN 2.2), and implements the
 * `discover` command that prints the result. Not here: the sources themselves
 * (discover_<source>.c) and the identity rule the merge follows
 * (common/identity.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "identity.h"
#include "printer.h"
#include "agent/discover.h"
#include "agent/discover_source.h"

static const struct {
	const char *name;
	unsigned bit;
	int rank;			/* merge order: who gives a field first */
} discover_srcs[] = {
	{ "ipp", DISCOVER_SRC_IPP, 0 },
	{ "dnssd", DISCOVER_SRC_DNSSD, 1 },
	{ "cups", DISCOVER_SRC_CUPS, 2 },
	{ "usb", DISCOVER_SRC_USB, 3 },
	{ "netscan", DISCOVER_SRC_NETSCAN, 4 },
};
#define DISCOVER_NSRCS (sizeof(discover_srcs) / sizeof(discover_srcs[0]))

long
discover_remaining_ms(const struct discover_ctx *ctx)
{
	int64_t left = ctx->deadline_ms - clock_ms();

	return left > 0 ? (long)left : 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
discover_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not text. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t
discover_clean_text(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, n;

	if (outlen == 0)
		return 0;
	while (i < len && s[i] != '\0') {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			i++;
			continue;
		}
		if ((n = discover_utf8_seq(s + i, len - i)) == 0) {
			if (o + 1 >= outlen)
				break;
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	for (i = 0; out[i] == ' '; i++)
		;
	if (i > 0) {
		memmove(out, out + i, o - i + 1);
		o -= i;
	}
	return o;
}

/* Cut every text field to its PrinterData limit (on a character boundary),
 * so an oversized value from a device shortens instead of losing the item. */
static void
discover_fit(json_t *item)
{
	static const struct {
		const char *key;
		size_t max;
	} lim[] = {
		{ "name", PRINTER_NAME_MAX }, { "uri", PRINTER_URI_MAX },
		{ "deviceKey", PRINTER_KEY_MAX }, { "address", PRINTER_TEXT_MAX },
		{ "manufacturer", PRINTER_TEXT_MAX }, { "model", PRINTER_TEXT_MAX },
		{ "makeAndModel", PRINTER_TEXT_MAX }, { "serialNumber", PRINTER_TEXT_MAX },
		{ "location", PRINTER_TEXT_MAX },
	};
	char buf[PRINTER_URI_MAX + 1];

	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		const char *v = json_string_value(json_object_get(item, lim[i].key));

		if (v && strlen(v) > lim[i].max) {
			discover_clean_text(v, strlen(v), buf, lim[i].max + 1);
			json_object_set_new(item, lim[i].key, json_string(buf));
		}
	}
}

int
discover_add(struct discover_ctx *ctx, json_t *item, const char *source)
{
	if (!item)
		return -1;
	discover_fit(item);
	if (json_array_size(ctx->items) >= DISCOVER_MAX_ITEMS) {
		log_warnx("[DISCOVERY] %s: more than %d printers in one pass; the rest are "
		    "ignored", source, DISCOVER_MAX_ITEMS);
		json_decref(item);
		return -1;
	}
	json_object_set_new(item, "sources", json_pack("[s]", source));
	return json_array_append_new(ctx->items, item);
}

int
discover_add_ipp_target(struct discover_ctx *ctx, const char *uri, const char *via)
{
	size_t i;
	json_t *t;

	if (strlen(uri) > PRINTER_URI_MAX ||
	    (strncmp(uri, "ipp://", 6) != 0 && strncmp(uri, "ipps://", 7) != 0))
		return -1;
	json_array_foreach(ctx->ipp_targets, i, t)
		if (strcmp(json_string_value(json_object_get(t, "uri")), uri) == 0)
			return 0;
	if (json_array_size(ctx->ipp_targets) >= DISCOVER_MAX_IPP_TARGETS) {
		log_warnx("[DISCOVERY] ipp: more than %d endpoints; %s not queried",
		    DISCOVER_MAX_IPP_TARGETS, uri);
		return -1;
	}
	return json_array_append_new(ctx->ipp_targets,
	    json_pack("{s:s,s:s}", "uri", uri, "via", via));
}

static void
discover_alias_str(json_t *item, const char *buf)
{
	json_t *a = json_object_get(item, "_aliases");
	size_t i;
	json_t *v;

	if (!a) {
		a = json_array();
		json_object_set_new(item, "_aliases", a);
	}
	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), buf) == 0)
			return;
	if (json_array_size(a) < DISCOVER_MAX_ALIASES)
		json_array_append_new(a, json_string(buf));
}

void
discover_add_alias(json_t *item, const char *host, int port)
{
	char buf[300], low[PRINTER_TEXT_MAX + 1];

	if (!host || !*host || port <= 0 || strlen(host) > PRINTER_TEXT_MAX)
		return;
	printer_norm_name(host, low, sizeof(low));
	snprintf(buf, sizeof(buf), "%s:%d", low, port);
	discover_alias_str(item, buf);
}

void
discover_add_svc_alias(json_t *item, const char *instance)
{
	char buf[300], low[PRINTER_TEXT_MAX + 1];

	if (!instance || !*instance || strlen(instance) > PRINTER_TEXT_MAX)
		return;
	printer_norm_name(instance, low, sizeof(low));
	snprintf(buf, sizeof(buf), "svc:%s", low);
	discover_alias_str(item, buf);
}

int
discover_parse_sources(const char *list, unsigned *bits, char *err, size_t errlen)
{
	char *buf, *items[16];
	int n;

	*bits = 0;
	if ((n = cfg_split_list(list, &buf, items, 16)) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < DISCOVER_NSRCS; k++)
			if (strcmp(items[i], discover_srcs[k].name) == 0)
				break;
		if (k == DISCOVER_NSRCS) {
			snprintf(err, errlen, "unknown discovery source '%.32s' (sources are "
			    "cups, ipp, dnssd, netscan, usb)", items[i]);
			free(buf);
			return -1;
		}
		*bits |= discover_srcs[k].bit;
	}
	free(buf);
	return 0;
}

/*
 * The merge. An entry is one device: its fields so far, its identity document
 * (identity.h: the same rule the server decides by, so agent and server agree
 * on which sightings are one printer), and the keys its members brought.
 */
struct merge_ent {
	json_t *p;			/* normalised fields, first giver wins */
	json_t *idoc;			/* identity_doc_new / identity_doc_fold */
	json_t *keys;			/* members' deviceKeys, candidates for the final one */
	struct identity id;		/* points into idoc */
};

static int
merge_src_rank(const json_t *raw)
{
	const char *s = json_string_value(json_array_get(json_object_get(raw, "sources"), 0));

	for (size_t k = 0; s && k < DISCOVER_NSRCS; k++)
		if (strcmp(s, discover_srcs[k].name) == 0)
			return discover_srcs[k].rank;
	return (int)DISCOVER_NSRCS;
}

static const char *
merge_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static int
merge_str_in(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static void
merge_union(json_t *dst, const json_t *src, size_t max)
{
	size_t i;
	json_t *v;

	json_array_foreach(src, i, v)
		if (json_array_size(dst) < max && !merge_str_in(dst, json_string_value(v)))
			json_array_append(dst, v);
}

/* Fold member `m` (already normalised) into entry `e`. */
static void
merge_fold(struct merge_ent *e, struct merge_ent *m)
{
	const char *k;
	json_t *v, *cur;

	json_object_foreach(m->p, k, v) {
		cur = json_object_get(e->p, k);
		if (strcmp(k, "deviceKey") == 0)
			continue;
		if (!cur) {
			json_object_set(e->p, k, v);
		} else if (strcmp(k, "sources") == 0) {
			merge_union(cur, v, 8);
		} else if (strcmp(k, "stateReasons") == 0) {
			merge_union(cur, v, PRINTER_REASONS_MAX);
		} else if (strcmp(k, "capabilities") == 0) {
			const char *ck;
			json_t *cv;

			json_object_foreach(v, ck, cv)
				if (!json_object_get(cur, ck))
					json_object_set(cur, ck, cv);
		} else if (strcmp(k, "status") == 0 &&
		    strcmp(json_string_value(cur), "unknown") == 0) {
			json_object_set(e->p, k, v);
		}
	}
	identity_doc_fold(e->idoc, m->idoc);
	identity_from_doc(&e->id, e->idoc);
	merge_union(e->keys, m->keys, 16);
}

/* The final deviceKey: the strongest of the merged fields' own key (when it
 * is uuid, serial or MAC) and the keys the members brought. */
static void
merge_final_key(struct merge_ent *e)
{
	char k[PRINTER_KEY_MAX + 8];
	const char *best = NULL;
	size_t i;
	json_t *v;

	json_object_del(e->p, "deviceKey");
	if (identity_device_key(e->p, k, sizeof(k)) <= PIDENT_MAC) {
		json_object_set_new(e->p, "deviceKey", json_string(k));
		return;
	}
	json_array_foreach(e->keys, i, v)
		if (!best || identity_key_stronger(json_string_value(v), best))
			best = json_string_value(v);
	json_object_set_new(e->p, "deviceKey",
	    json_string(identity_key_stronger(best, k) ? best : k));
}

static void
merge_ent_clear(struct merge_ent *e)
{
	json_decref(e->p);
	json_decref(e->idoc);
	json_decref(e->keys);
	memset(e, 0, sizeof(*e));
}

json_t *
discover_merge(const json_t *raw)
{
	size_t n = json_array_size(raw), i, nent = 0;
	struct merge_ent *ents = NULL, m;
	json_t *out = json_array(), *errs, *norm;
	size_t *order = NULL;
	int rank;

	if (!out)
		return NULL;
	if (n == 0)
		return out;
	ents = calloc(n, sizeof(*ents));
	order = calloc(n, sizeof(*order));
	if (!ents || !order) {
		json_decref(out);
		out = NULL;
		goto done;
	}
	/* A stable order by source rank: ipp first, netscan last. */
	i = 0;
	for (rank = 0; rank <= (int)DISCOVER_NSRCS; rank++)
		for (size_t j = 0; j < n; j++)
			if (merge_src_rank(json_array_get(raw, j)) == rank)
				order[i++] = j;
	for (i = 0; i < n; i++) {
		const json_t *r = json_array_get(raw, order[i]);
		size_t e;

		memset(&m, 0, sizeof(m));
		if ((m.p = printer_normalize(r, &errs)) == NULL) {
			const char *src = json_string_value(json_array_get(
			    json_object_get(r, "sources"), 0));
			char *s = json_dumps(errs, JSON_COMPACT);

			log_warnx("[DISCOVERY] merge: dropped an invalid item from %s: %s",
			    src ? src : "?", s ? s : "?");
			free(s);
			json_decref(errs);
			continue;
		}
		/* printer_normalize shares nested values (capabilities) with its
		 * input; the merge edits them, and the input is the caller's. */
		norm = m.p;
		m.p = json_deep_copy(norm);
		json_decref(norm);
		if (!m.p)
			continue;
		m.keys = json_array();
		if ((m.idoc = identity_doc_new(m.p, json_object_get(r, "_aliases"))) == NULL ||
		    !m.keys) {
			merge_ent_clear(&m);
			continue;
		}
		identity_from_doc(&m.id, m.idoc);
		if (identity_key_rank(merge_str(m.p, "deviceKey")) != PIDENT_NAME)
			json_array_append(m.keys, json_object_get(m.p, "deviceKey"));
		for (e = 0; e < nent; e++)
			if (identity_match(&ents[e].id, &m.id) != PIDENT_NONE)
				break;
		if (e == nent) {
			ents[nent++] = m;
			continue;
		}
		merge_fold(&ents[e], &m);
		merge_ent_clear(&m);
	}
	for (i = 0; i < nent; i++) {
		merge_final_key(&ents[i]);
		if ((norm = printer_normalize(ents[i].p, &errs)) == NULL) {
			log_warnx("[DISCOVERY] merge: merged printer '%s' is invalid; dropped",
			    merge_str(ents[i].p, "name"));
			json_decref(errs);
			continue;
		}
		json_array_append_new(out, norm);
	}
done:
	for (i = 0; ents && i < nent; i++)
		merge_ent_clear(&ents[i]);
	free(ents);
	free(order);
	return out;
}

/* The ipp_uris setting feeds the ipp source like any other finder. */
static void
discover_config_ipp_uris(struct discover_ctx *ctx)
{
	char *buf, *items[DISCOVER_MAX_IPP_TARGETS];
	int n = cfg_split_list(ctx->cfg->ipp_uris, &buf, items, DISCOVER_MAX_IPP_TARGETS);

	for (int i = 0; i < n; i++)
		if (discover_add_ipp_target(ctx, items[i], "config") < 0)
			log_warnx("[DISCOVERY] ipp: ignoring ipp_uris entry '%.100s' (not an "
			    "ipp:// or ipps:// URI)", items[i]);
	free(buf);
}

json_t *
discover_run(const struct agent_config *cfg, const char *sources)
{
	static const struct {
		unsigned bit;
		const char *name;
		int (*fn)(struct discover_ctx *);
	} steps[] = {
		{ DISCOVER_SRC_USB, "usb", discover_usb },
		{ DISCOVER_SRC_CUPS, "cups", discover_cups },
		{ DISCOVER_SRC_DNSSD, "dnssd", discover_dnssd },
		{ DISCOVER_SRC_NETSCAN, "netscan", discover_netscan },
		{ DISCOVER_SRC_IPP, "ipp", discover_ipp },
	};
	struct discover_ctx ctx;
	char err[128];
	json_t *out;
	int64_t t0 = clock_ms();

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.deadline_ms = t0 + cfg->discover_timeout * 1000;
	if (gethostname(ctx.hostname, sizeof(ctx.hostname) - 1) < 0 || !ctx.hostname[0])
		snprintf(ctx.hostname, sizeof(ctx.hostname), "localhost");
	printer_norm_name(ctx.hostname, ctx.hostname, sizeof(ctx.hostname));
	if (discover_parse_sources(sources ? sources : cfg->sources, &ctx.sources, err,
	    sizeof(err)) < 0) {
		log_warnx("[DISCOVERY] %s; nothing discovered", err);
		return json_array();
	}
	ctx.items = json_array();
	ctx.ipp_targets = json_array();
	if (!ctx.items || !ctx.ipp_targets) {
		out = NULL;
		goto done;
	}
	if (ctx.sources & DISCOVER_SRC_IPP)
		discover_config_ipp_uris(&ctx);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t before = json_array_size(ctx.items);
		int64_t ts = clock_ms();

		if (!(ctx.sources & steps[i].bit))
			continue;
		if (discover_remaining_ms(&ctx) <= 0) {
			log_warnx("[DISCOVERY] %s: skipped, the pass's time limit (%lds) is used up",
			    steps[i].name, cfg->discover_timeout);
			continue;
		}
		steps[i].fn(&ctx);
		log_debug("[DISCOVERY] %s: %zu item(s) in %lld ms", steps[i].name,
		    json_array_size(ctx.items) - before, (long long)(clock_ms() - ts));
	}
	out = discover_merge(ctx.items);
	log_info("[DISCOVERY] pass done: %zu printer(s) from %zu sighting(s) in %lld ms",
	    json_array_size(out), json_array_size(ctx.items),
	    (long long)(clock_ms() - t0));
done:
	json_decref(ctx.items);
	json_decref(ctx.ipp_targets);
	return out;
}

/* Print at most `width` columns of UTF-8 text, padded, without splitting a
 * character. */
static void
discover_cell(FILE *f, const char *s, int width)
{
	int cols = 0;
	const char *p = s;

	while (*p && cols < width) {
		p++;
		while ((*p & 0xc0) == 0x80)
			p++;
		cols++;
	}
	fprintf(f, "%.*s%*s", (int)(p - s), s, width - cols + 2, "");
}

static void
discover_print_table(FILE *f, const json_t *arr)
{
	size_t i;
	json_t *p, *v;

	fprintf(f, "%-28s  %-8s  %-26s  %-28s  %-18s  %s\n", "NAME", "STATUS", "ENDPOINT",
	    "MAKE AND MODEL", "SOURCES", "DEVICE KEY");
	json_array_foreach(arr, i, p) {
		char ep[300], src[64] = "";
		size_t j, o = 0;

		if (json_object_get(p, "address") && json_object_get(p, "port"))
			snprintf(ep, sizeof(ep), "%s:%d", merge_str(p, "address"),
			    (int)json_integer_value(json_object_get(p, "port")));
		else
			snprintf(ep, sizeof(ep), "%s", json_object_get(p, "uri") ?
			    merge_str(p, "uri") : merge_str(p, "connectionType"));
		json_array_foreach(json_object_get(p, "sources"), j, v)
			if (o < sizeof(src))
				o += (size_t)snprintf(src + o, sizeof(src) - o, "%s%s",
				    j ? "," : "", json_string_value(v));
		discover_cell(f, merge_str(p, "name"), 28);
		discover_cell(f, merge_str(p, "status"), 8);
		discover_cell(f, ep, 26);
		discover_cell(f, merge_str(p, "makeAndModel"), 28);
		discover_cell(f, src, 18);
		fprintf(f, "%s\n", merge_str(p, "deviceKey"));
	}
	fprintf(f, "%zu printer(s)\n", json_array_size(arr));
}

int
discover_main(const struct agent_config *cfg, int argc, char **argv)
{
	struct agent_config c = *cfg;	/* shallow: only numbers are changed */
	unsigned bits;
	char err[128];
	int json = 0;
	json_t *res;

	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		char *end;
		long t;

		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
			continue;
		}
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--timeout=", 10) == 0)
			v = argv[i] + 10;
		if (!v) {
			fprintf(stderr, "printmaster-agent discover: unknown argument '%s'\n"
			    "usage: printmaster-agent discover [--json] [--sources LIST] "
			    "[--timeout SECONDS]\n", argv[i]);
			return 2;
		}
		t = strtol(v, &end, 10);
		if (end == v || *end || t < 1 || t > 3600) {
			fprintf(stderr, "printmaster-agent discover: --timeout must be 1 to 3600 "
			    "seconds, not '%s'\n", v);
			return 2;
		}
		c.discover_timeout = t;
	}
	if (discover_parse_sources(c.sources, &bits, err, sizeof(err)) < 0) {
		fprintf(stderr, "printmaster-agent discover: %s\n", err);
		return 2;
	}
	if ((res = discover_run(&c, NULL)) == NULL) {
		fprintf(stderr, "printmaster-agent discover: out of memory\n");
		return 1;
	}
	if (json) {
		json_dumpf(res, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	} else
		discover_print_table(stdout, res);
	json_decref(res);
	return 0;
}
