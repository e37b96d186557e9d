/*
 * ieee1284.c: IEEE 1284 device id parsing. Device ids come from printers we do
 * not control, so every field is bounded and cleaned, and junk is skipped
 * rather than trusted.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "agent/discover_source.h"
#include "agent/ieee1284.h"

struct ieee1284_key {
	const char *name;
	size_t offset;
};

#define K(f) offsetof(struct ieee1284_id, f)
static const struct ieee1284_key ieee1284_keys[] = {
	{ "MFG", K(manufacturer) }, { "MANUFACTURER", K(manufacturer) },
	{ "MDL", K(model) }, { "MODEL", K(model) },
	{ "CMD", K(command_set) }, { "COMMAND SET", K(command_set) },
	{ "SN", K(serial) }, { "SERN", K(serial) }, { "SERIALNUMBER", K(serial) },
	{ "DES", K(description) }, { "DESCRIPTION", K(description) },
	{ NULL, 0 },
};
#undef K

static void
ieee1284_field(struct ieee1284_id *out, const char *f, size_t flen)
{
	const char *colon = memchr(f, ':', flen);
	const char *k = f, *ke;
	char *dst;

	if (!colon)
		return;
	/* Keys are matched trimmed; a few devices pad them with spaces. */
	while (k < colon && isspace((unsigned char)*k))
		k++;
	ke = colon;
	while (ke > k && isspace((unsigned char)ke[-1]))
		ke--;
	for (const struct ieee1284_key *e = ieee1284_keys; e->name; e++) {
		if (strlen(e->name) != (size_t)(ke - k) ||
		    strncasecmp(e->name, k, (size_t)(ke - k)) != 0)
			continue;
		dst = (char *)out + e->offset;
		if (dst[0] == '\0')	/* the first of MFG/MANUFACTURER wins */
			discover_clean_text(colon + 1, flen - (size_t)(colon + 1 - f), dst,
			    IEEE1284_VALUE_MAX);
		return;
	}
}

int
ieee1284_parse(const char *buf, size_t len, struct ieee1284_id *out)
{
	size_t i, start;

	memset(out, 0, sizeof(*out));
	if (len > IEEE1284_MAX_LEN)
		len = IEEE1284_MAX_LEN;
	/* Raw ids from the device start with a big-endian length; sysfs strips
	 * it, but IPP and some drivers pass it through. */
	if (len >= 2 && (unsigned char)buf[0] < 0x08) {
		buf += 2;
		len -= 2;
	}
	for (i = start = 0; i <= len; i++) {
		if (i == len || buf[i] == ';' || buf[i] == '\0') {
			if (i > start)
				ieee1284_field(out, buf + start, i - start);
			if (i < len && buf[i] == '\0')
				break;
			start = i + 1;
		}
	}
	if (!out->manufacturer[0] && !out->model[0] && !out->description[0])
		return -1;
	return 0;
}
