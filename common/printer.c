/*
 * printer.c: PrinterData validation and normalisation. Everything here is
 * pure so both the server's bulk handler and the agent's merge use one copy,
 * and the unit tests can feed it anything. The identity rules (keys,
 * matching) are identity.c's; this file only asks it for a missing deviceKey.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "uuid.h"
#include "printer.h"

static const char *const printer_ident_names[] = {
	"uuid", "serial", "mac", "address", "deviceKey", "name", "none"
};

const char *
printer_ident_name(enum printer_ident id)
{
	return printer_ident_names[id];
}

size_t
printer_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int
printer_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A trimmed copy; NULL on allocation failure. */
static char *
printer_trim_dup(const char *s)
{
	const char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return strndup(s, (size_t)(e - s));
}

/* Bytes of the UTF-8 sequence a lead byte starts (1 for anything else). */
static size_t
printer_utf8_seq(unsigned char c)
{
	return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

void
printer_norm_name(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	int space = 0;

	if (outlen == 0)
		return;
	while (isspace((unsigned char)*in))
		in++;
	for (; *in; in++) {
		size_t need;

		if (isspace((unsigned char)*in)) {
			space = 1;
			continue;
		}
		/* Whole code points only: a cut one would make the key invalid
		 * UTF-8, which jansson refuses as a string or an object key. */
		need = ((unsigned char)*in & 0xC0) == 0x80 ? 1 :
		    printer_utf8_seq((unsigned char)*in);
		if (o + (space ? 1 : 0) + need + 1 > outlen)
			break;
		if (space)
			out[o++] = ' ';
		space = 0;
		out[o++] = (char)tolower((unsigned char)*in);
	}
	out[o] = '\0';
}

int
printer_norm_mac(const char *in, char *out, size_t outlen)
{
	char hex[13];
	int n = 0;

	for (; *in; in++) {
		if (isxdigit((unsigned char)*in)) {
			if (n >= 12)
				return -1;
			hex[n++] = (char)tolower((unsigned char)*in);
		} else if (*in != ':' && *in != '-' && *in != '.')
			return -1;
	}
	if (n != 12 || outlen < 18)
		return -1;
	snprintf(out, outlen, "%.2s:%.2s:%.2s:%.2s:%.2s:%.2s", hex, hex + 2, hex + 4,
	    hex + 6, hex + 8, hex + 10);
	return 0;
}

static int
printer_in_set(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

static const char *const printer_conn_types[] = { "network", "usb", "cups",
	"bluetooth", "serial", NULL };
static const char *const printer_protocols[] = { "ipp", "ipps", "raw", "lpd", "usb",
	"cups", NULL };
static const char *const printer_statuses[] = { "online", "offline", "error",
	"unknown", NULL };
static const char *const printer_methods[] = { "cups", "ipp", "dnssd", "netscan", "usb",
	"manual", NULL };

enum printer_field_kind {
	PF_TEXT,	/* trimmed string up to max bytes */
	PF_ENUM,
	PF_MAC,
	PF_UUID,
};

struct printer_field {
	const char *key;
	enum printer_field_kind kind;
	size_t max;
	const char *const *set;
};

static const struct printer_field printer_fields[] = {
	{ "connectionType", PF_ENUM, 0, printer_conn_types },
	{ "protocol", PF_ENUM, 0, printer_protocols },
	{ "status", PF_ENUM, 0, printer_statuses },
	{ "address", PF_TEXT, PRINTER_TEXT_MAX, NULL },
	{ "uri", PF_TEXT, PRINTER_URI_MAX, NULL },
	{ "manufacturer", PF_TEXT, PRINTER_TEXT_MAX, NULL },
	{ "model", PF_TEXT, PRINTER_TEXT_MAX, NULL },
	{ "makeAndModel", PF_TEXT, PRINTER_TEXT_MAX, NULL },
	{ "serialNumber", PF_TEXT, PRINTER_TEXT_MAX, NULL },
	{ "location", PF_TEXT, PRINTER_TEXT_MAX, NULL },
	{ "deviceKey", PF_TEXT, PRINTER_KEY_MAX, NULL },
	{ "macAddress", PF_MAC, 0, NULL },
	{ "uuid", PF_UUID, 0, NULL },
	{ NULL, 0, 0, NULL },
};

static void
printer_err(json_t *errs, const char *field, const char *msg)
{
	if (!json_object_get(errs, field))
		json_object_set_new(errs, field, json_string(msg));
}

static void
printer_check_field(const struct printer_field *f, const json_t *v, json_t *out,
    json_t *errs)
{
	char buf[64], msg[128];
	char *t;

	if (json_is_null(v))
		return;
	if (!json_is_string(v)) {
		printer_err(errs, f->key, "must be a string");
		return;
	}
	if ((t = printer_trim_dup(json_string_value(v))) == NULL)
		return;
	if (t[0] == '\0') {	/* an empty optional field is the same as absent */
		free(t);
		return;
	}
	if (printer_has_ctl(t)) {
		printer_err(errs, f->key, "must not contain control characters");
		goto done;
	}
	switch (f->kind) {
	case PF_TEXT:
		if (strlen(t) > f->max) {
			snprintf(msg, sizeof(msg), "must be at most %zu bytes", f->max);
			printer_err(errs, f->key, msg);
		} else if (strcmp(f->key, "deviceKey") == 0 && !strchr(t, ':')) {
			printer_err(errs, f->key, "must look like kind:value");
		} else
			json_object_set_new(out, f->key, json_string(t));
		break;
	case PF_ENUM:
		if (!printer_in_set(t, f->set)) {
			size_t o = 0;

			o += (size_t)snprintf(msg, sizeof(msg), "must be one of");
			for (const char *const *s = f->set; *s && o < sizeof(msg); s++)
				o += (size_t)snprintf(msg + o, sizeof(msg) - o, " %s", *s);
			printer_err(errs, f->key, msg);
		} else
			json_object_set_new(out, f->key, json_string(t));
		break;
	case PF_MAC:
		if (printer_norm_mac(t, buf, sizeof(buf)) < 0)
			printer_err(errs, f->key, "must be a MAC address like 00:11:22:33:44:55");
		else
			json_object_set_new(out, f->key, json_string(buf));
		break;
	case PF_UUID:
		if (uuid_norm(t, buf, sizeof(buf)) < 0)
			printer_err(errs, f->key, "must be a UUID");
		else
			json_object_set_new(out, f->key, json_string(buf));
		break;
	}
done:
	free(t);
}

static void
printer_check_strings(const char *key, const json_t *v, size_t maxn, size_t maxlen,
    const char *const *set, json_t *out, json_t *errs)
{
	json_t *arr;
	size_t i;
	json_t *e;

	if (!v || json_is_null(v))
		return;
	if (!json_is_array(v)) {
		printer_err(errs, key, "must be an array of strings");
		return;
	}
	if (json_array_size(v) > maxn) {
		printer_err(errs, key, "has too many entries");
		return;
	}
	arr = json_array();
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);

		if (!s || strlen(s) == 0 || strlen(s) > maxlen || printer_has_ctl(s)) {
			printer_err(errs, key, "must be an array of short, non-empty strings");
			break;
		}
		if (set && !printer_in_set(s, set)) {
			printer_err(errs, key,
			    "entries must be cups, ipp, dnssd, netscan, usb or manual");
			break;
		}
		/* Keep each value once, in first-seen order. */
		size_t j;
		json_t *x;
		int seen = 0;
		json_array_foreach(arr, j, x)
			if (strcmp(json_string_value(x), s) == 0)
				seen = 1;
		if (!seen)
			json_array_append_new(arr, json_string(s));
	}
	if (json_object_get(errs, key))
		json_decref(arr);
	else
		json_object_set_new(out, key, arr);
}

json_t *
printer_normalize(const json_t *in, json_t **errors)
{
	json_t *out, *errs, *v;
	char key[PRINTER_KEY_MAX + 1];
	char *name;

	*errors = NULL;
	out = json_object();
	errs = json_object();
	if (!out || !errs)
		goto fail;
	if (!json_is_object(in)) {
		printer_err(errs, "item", "must be an object");
		goto fail;
	}

	v = json_object_get(in, "name");
	if (!json_is_string(v)) {
		printer_err(errs, "name", v ? "must be a string" : "is required");
	} else if ((name = printer_trim_dup(json_string_value(v))) != NULL) {
		size_t n = printer_utf8_len(name);

		if (n == 0)
			printer_err(errs, "name", "must not be empty");
		else if (n > PRINTER_NAME_MAX)
			printer_err(errs, "name", "must be at most 200 characters");
		else if (printer_has_ctl(name))
			printer_err(errs, "name", "must not contain control characters");
		else
			json_object_set_new(out, "name", json_string(name));
		free(name);
	}

	for (const struct printer_field *f = printer_fields; f->key; f++)
		if ((v = json_object_get(in, f->key)) != NULL)
			printer_check_field(f, v, out, errs);

	v = json_object_get(in, "port");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535)
			printer_err(errs, "port", "must be a whole number from 1 to 65535");
		else
			json_object_set(out, "port", v);
	}

	printer_check_strings("stateReasons", json_object_get(in, "stateReasons"),
	    PRINTER_REASONS_MAX, 100, NULL, out, errs);
	printer_check_strings("sources", json_object_get(in, "sources"), 8, 16,
	    printer_methods, out, errs);

	v = json_object_get(in, "capabilities");
	if (v && !json_is_null(v)) {
		char *s;

		if (!json_is_object(v))
			printer_err(errs, "capabilities", "must be an object");
		else if ((s = json_dumps(v, JSON_COMPACT)) == NULL ||
		    strlen(s) > PRINTER_CAPS_MAX) {
			printer_err(errs, "capabilities", "must be at most 16384 bytes of JSON");
			free(s);
		} else {
			free(s);
			json_object_set(out, "capabilities", v);
		}
	}

	if (json_object_size(errs) > 0)
		goto fail;
	if (!json_object_get(out, "status"))
		json_object_set_new(out, "status", json_string("online"));
	if (!json_object_get(out, "deviceKey")) {
		identity_device_key(out, key, sizeof(key));
		json_object_set_new(out, "deviceKey", json_string(key));
	}
	json_decref(errs);
	return out;
fail:
	json_decref(out);
	*errors = errs;
	return NULL;
}
