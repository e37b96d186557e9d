/*
 * identity.c: the identity rule, for server and agent. The first identity
 * both sides carry decides, so a stronger disagreement (two different UUIDs)
 * is never overruled by a weaker agreement (the same name, or the same
 * address after a swap). Owns keys, their ranks, matching, the agent's
 * identity documents and the server's index; not validation (printer.c).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/identity.h"
#include "common/strhash.h"

/* A value that is there: NULL for none and for "". */
static const char *
identity_some(const char *s)
{
	return s && *s ? s : NULL;
}

static const char *
identity_str(const json_t *o, const char *k)
{
	return identity_some(json_string_value(json_object_get(o, k)));
}

void
identity_from_fields(struct identity *id, const struct identity_fields *f)
{
	const char *s;

	memset(id, 0, sizeof(*id));
	id->key = identity_some(f->key);
	id->uuid = identity_some(f->uuid);
	id->serial = identity_some(f->serial);
	id->mac = identity_some(f->mac);
	if ((s = identity_some(f->manufacturer)) != NULL)
		printer_norm_name(s, id->mfr, sizeof(id->mfr));
	if ((s = identity_some(f->address)) != NULL)
		printer_norm_name(s, id->addr, sizeof(id->addr));
	id->port = f->port;
	if ((s = identity_some(f->name)) != NULL)
		printer_norm_name(s, id->name, sizeof(id->name));
}

void
identity_from_json(struct identity *id, const json_t *o)
{
	struct identity_fields f = {
		.key = identity_str(o, "deviceKey"), .uuid = identity_str(o, "uuid"),
		.serial = identity_str(o, "serialNumber"), .mac = identity_str(o, "macAddress"),
		.manufacturer = identity_str(o, "manufacturer"),
		.address = identity_str(o, "address"),
		.port = (int)json_integer_value(json_object_get(o, "port")),
		.name = identity_str(o, "name"),
	};

	identity_from_fields(id, &f);
}

void
identity_set_places(struct identity *id, const json_t *places)
{
	id->places = json_array_size(places) > 0 ? places : NULL;
}

void
identity_from_doc(struct identity *id, const json_t *doc)
{
	identity_from_json(id, doc);
	identity_set_places(id, json_object_get(doc, "places"));
}

/*
 * The i-th place of id: addr:port first (when it has both), then its extra
 * places, IDENTITY_PLACES_MAX of them at most. NULL past the last. buf holds
 * the first one's text.
 */
static const char *
identity_place(const struct identity *id, size_t i, char *buf, size_t len)
{
	size_t k;
	json_t *v;

	if (id->addr[0] && id->port > 0) {
		if (i == 0) {
			snprintf(buf, len, "%s:%d", id->addr, id->port);
			return buf;
		}
		i--;
	}
	json_array_foreach(id->places, k, v) {
		if (k >= IDENTITY_PLACES_MAX)
			break;
		if (json_is_string(v) && i-- == 0)
			return json_string_value(v);
	}
	return NULL;
}

/* -1 when either side has no place; else whether they share one. */
static int
identity_places_meet(const struct identity *a, const struct identity *b)
{
	char abuf[PRINTER_TEXT_MAX + 16], bbuf[PRINTER_TEXT_MAX + 16];
	const char *pa, *pb;

	if (!a->places && !b->places) {
		/* The server's case, without formatting: addr:port on both. */
		if (!a->addr[0] || a->port <= 0 || !b->addr[0] || b->port <= 0)
			return -1;
		return strcmp(a->addr, b->addr) == 0 && a->port == b->port;
	}
	if (!identity_place(a, 0, abuf, sizeof(abuf)) ||
	    !identity_place(b, 0, bbuf, sizeof(bbuf)))
		return -1;
	for (size_t i = 0; (pa = identity_place(a, i, abuf, sizeof(abuf))) != NULL; i++)
		for (size_t j = 0; (pb = identity_place(b, j, bbuf, sizeof(bbuf))) != NULL; j++)
			if (strcmp(pa, pb) == 0)
				return 1;
	return 0;
}

/* Length of a deviceKey's kind prefix including ':', 0 if it has none. */
static size_t
identity_kind_len(const char *key)
{
	const char *c = strchr(key, ':');

	return c ? (size_t)(c - key) + 1 : 0;
}

enum printer_ident
identity_match(const struct identity *a, const struct identity *b)
{
	int places;

	if (a->uuid && b->uuid)
		return strcmp(a->uuid, b->uuid) == 0 ? PIDENT_UUID : PIDENT_NONE;
	if (a->mfr[0] && a->serial && b->mfr[0] && b->serial)
		return strcmp(a->mfr, b->mfr) == 0 && strcmp(a->serial, b->serial) == 0 ?
		    PIDENT_SERIAL : PIDENT_NONE;
	if (a->mac && b->mac)
		return strcmp(a->mac, b->mac) == 0 ? PIDENT_MAC : PIDENT_NONE;
	if ((places = identity_places_meet(a, b)) >= 0)
		return places ? PIDENT_ADDRESS : PIDENT_NONE;
	if (a->key && b->key && identity_key_rank(a->key) == PIDENT_DEVICE_KEY &&
	    identity_key_rank(b->key) == PIDENT_DEVICE_KEY) {
		size_t ka = identity_kind_len(a->key), kb = identity_kind_len(b->key);

		/* Keys of one kind (two cups: queues) decide; different kinds say nothing. */
		if (ka == kb && strncmp(a->key, b->key, ka) == 0)
			return strcmp(a->key, b->key) == 0 ? PIDENT_DEVICE_KEY : PIDENT_NONE;
	}
	if (a->name[0] && strcmp(a->name, b->name) == 0)
		return PIDENT_NAME;
	return PIDENT_NONE;
}

enum printer_ident
identity_device_key(const json_t *p, char *out, size_t outlen)
{
	const char *u = identity_str(p, "uuid"), *mf = identity_str(p, "manufacturer");
	const char *sn = identity_str(p, "serialNumber"), *mac = identity_str(p, "macAddress");
	const char *addr = identity_str(p, "address"), *name = identity_str(p, "name");
	json_int_t port = json_integer_value(json_object_get(p, "port"));
	char buf[PRINTER_NAME_MAX * 4 + 1];	/* a whole name, so keys never collide */

	if (u) {
		snprintf(out, outlen, "uuid:%s", u);
		return PIDENT_UUID;
	}
	if (mf && sn) {
		printer_norm_name(mf, buf, sizeof(buf));
		snprintf(out, outlen, "sn:%s:%s", buf, sn);
		return PIDENT_SERIAL;
	}
	if (mac) {
		snprintf(out, outlen, "mac:%s", mac);
		return PIDENT_MAC;
	}
	if (addr && port > 0) {
		printer_norm_name(addr, buf, sizeof(buf));
		snprintf(out, outlen, "net:%s:%d", buf, (int)port);
		return PIDENT_ADDRESS;
	}
	printer_norm_name(name ? name : "", buf, sizeof(buf));
	snprintf(out, outlen, "name:%s", buf);
	return PIDENT_NAME;
}

enum printer_ident
identity_key_rank(const char *key)
{
	if (!key)
		return PIDENT_NONE;
	if (strncmp(key, "uuid:", 5) == 0)
		return PIDENT_UUID;
	if (strncmp(key, "sn:", 3) == 0)
		return PIDENT_SERIAL;
	if (strncmp(key, "mac:", 4) == 0)
		return PIDENT_MAC;
	if (strncmp(key, "net:", 4) == 0)
		return PIDENT_ADDRESS;
	if (strncmp(key, "name:", 5) == 0)
		return PIDENT_NAME;
	/* usb:, cups: and other agent-local keys sit between address and name. */
	return PIDENT_DEVICE_KEY;
}

int
identity_key_stronger(const char *key, const char *old)
{
	return key && old && identity_key_rank(key) < identity_key_rank(old);
}

/* Copy o's field k into d when it is a non-empty string (or a number). */
static void
identity_doc_take(json_t *d, const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if ((json_is_string(v) && json_string_length(v) > 0) || json_is_integer(v))
		json_object_set(d, k, v);
}

/* Add the strings of src to the places of d, each once, up to the bound. */
static void
identity_doc_places(json_t *d, const json_t *src)
{
	json_t *pl = json_object_get(d, "places"), *v, *w;
	size_t i, j;

	if (!json_is_array(src))
		return;
	if (!pl && json_object_set_new(d, "places", pl = json_array()) < 0)
		return;
	json_array_foreach(src, i, v) {
		int seen = 0;

		if (!json_is_string(v) || json_array_size(pl) >= IDENTITY_PLACES_MAX)
			continue;
		json_array_foreach(pl, j, w)
			if (json_equal(v, w))
				seen = 1;
		if (!seen)
			json_array_append(pl, v);
	}
}

/* A document's own addr:port as a one-place array (NULL without one). */
static json_t *
identity_doc_own_place(const json_t *d)
{
	struct identity id;
	char buf[PRINTER_TEXT_MAX + 16];

	identity_from_json(&id, d);
	if (!identity_place(&id, 0, buf, sizeof(buf)))
		return NULL;
	return json_pack("[s]", buf);
}

json_t *
identity_doc_new(const json_t *p, const json_t *places)
{
	static const char *const fields[] = { "uuid", "manufacturer", "serialNumber",
	    "macAddress", "address", "port", "name", NULL };
	json_t *d = json_object(), *own;
	const char *key = identity_str(p, "deviceKey");

	if (!d)
		return NULL;
	for (const char *const *f = fields; *f; f++)
		identity_doc_take(d, p, *f);
	/* Keys the fields imply (uuid:, net:, ...) add nothing to them. */
	if (identity_key_rank(key) == PIDENT_DEVICE_KEY)
		json_object_set_new(d, "deviceKey", json_string(key));
	/* Its own place first, so the bound never drops it. */
	if ((own = identity_doc_own_place(d)) != NULL) {
		identity_doc_places(d, own);
		json_decref(own);
	}
	identity_doc_places(d, places);
	return d;
}

void
identity_doc_fold(json_t *dst, const json_t *src)
{
	static const char *const pairs[][2] = { { "uuid", NULL },
	    { "manufacturer", "serialNumber" }, { "macAddress", NULL },
	    { "address", "port" }, { "deviceKey", NULL }, { "name", NULL } };

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *a = pairs[i][0], *b = pairs[i][1];

		if (json_object_get(dst, a) || (b && json_object_get(dst, b)) ||
		    !json_object_get(src, a) || (b && !json_object_get(src, b)))
			continue;
		json_object_set(dst, a, json_object_get(src, a));
		if (b)
			json_object_set(dst, b, json_object_get(src, b));
	}
	identity_doc_places(dst, json_object_get(src, "places"));
}

int
identity_index_init(struct identity_index *ix, int entries)
{
	memset(ix, 0, sizeof(*ix));
	ix->stamp = calloc((size_t)entries + 1, sizeof(int));
	ix->cap = entries;
	return ix->stamp ? 0 : -1;
}

void
identity_index_free(struct identity_index *ix)
{
	free(ix->slots);
	free(ix->keys);
	free(ix->stamp);
	memset(ix, 0, sizeof(*ix));
}

/* Make room for one more slot (kept at most half full). 0 or -1. */
static int
identity_index_grow(struct identity_index *ix)
{
	struct identity_slot *old = ix->slots, *slots;
	size_t n = ix->nslots ? ix->nslots * 2 : 64;

	if ((ix->used + 1) * 2 <= ix->nslots)
		return 0;
	if ((slots = malloc(n * sizeof(*slots))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		slots[i].entry = -1;
	for (size_t i = 0; i < ix->nslots; i++) {
		size_t j = old[i].hash & (n - 1);

		if (old[i].entry < 0)
			continue;
		while (slots[j].entry >= 0)
			j = (j + 1) & (n - 1);
		slots[j] = old[i];
	}
	free(old);
	ix->slots = slots;
	ix->nslots = n;
	return 0;
}

/* Call fn(arg, key) for each index key of an identity: one per value
 * identity_match compares, every place included. */
static void
identity_each_key(const struct identity *id, void (*fn)(void *, const char *), void *arg)
{
	char k[PRINTER_KEY_MAX * 2], buf[PRINTER_TEXT_MAX + 16];
	const char *pl;

	if (id->uuid) {
		snprintf(k, sizeof(k), "u:%s", id->uuid);
		fn(arg, k);
	}
	if (id->mfr[0] && id->serial) {
		snprintf(k, sizeof(k), "s:%s\x1f%s", id->mfr, id->serial);
		fn(arg, k);
	}
	if (id->mac) {
		snprintf(k, sizeof(k), "m:%s", id->mac);
		fn(arg, k);
	}
	for (size_t i = 0; (pl = identity_place(id, i, buf, sizeof(buf))) != NULL; i++) {
		snprintf(k, sizeof(k), "a:%s", pl);
		fn(arg, k);
	}
	if (id->key) {
		snprintf(k, sizeof(k), "k:%s", id->key);
		fn(arg, k);
	}
	if (id->name[0]) {
		snprintf(k, sizeof(k), "n:%s", id->name);
		fn(arg, k);
	}
}

struct identity_add {
	struct identity_index *ix;
	int entry;
};

static void
identity_add_key(void *arg, const char *key)
{
	struct identity_add *a = arg;
	struct identity_index *ix = a->ix;
	size_t len = strlen(key) + 1, j;
	unsigned h = (unsigned)strhash(key);

	if (ix->failed || identity_index_grow(ix) < 0 || ix->klen + len > UINT_MAX) {
		ix->failed = 1;
		return;
	}
	if (ix->klen + len > ix->kcap) {
		size_t cap = ix->kcap ? ix->kcap * 2 : 4096;
		char *k;

		while (cap < ix->klen + len)
			cap *= 2;
		if ((k = realloc(ix->keys, cap)) == NULL) {
			ix->failed = 1;
			return;
		}
		ix->keys = k;
		ix->kcap = cap;
	}
	memcpy(ix->keys + ix->klen, key, len);
	for (j = h & (ix->nslots - 1); ix->slots[j].entry >= 0; j = (j + 1) & (ix->nslots - 1))
		;
	ix->slots[j] = (struct identity_slot){ h, (unsigned)ix->klen, a->entry };
	ix->klen += len;
	ix->used++;
}

void
identity_index_add(struct identity_index *ix, const struct identity *id, int entry)
{
	struct identity_add a = { ix, entry };

	identity_each_key(id, identity_add_key, &a);
}

struct identity_each {
	struct identity_index *ix;
	void (*fn)(void *arg, int entry);
	void *arg;
};

static void
identity_each_entry(void *arg, const char *key)
{
	struct identity_each *q = arg;
	struct identity_index *ix = q->ix;
	unsigned h = (unsigned)strhash(key);

	if (ix->nslots == 0)
		return;
	for (size_t j = h & (ix->nslots - 1); ix->slots[j].entry >= 0;
	    j = (j + 1) & (ix->nslots - 1)) {
		int e = ix->slots[j].entry;

		if (ix->slots[j].hash != h || strcmp(ix->keys + ix->slots[j].key, key) != 0 ||
		    e >= ix->cap || ix->stamp[e] == ix->query)
			continue;
		ix->stamp[e] = ix->query;
		q->fn(q->arg, e);
	}
}

void
identity_index_each(struct identity_index *ix, const struct identity *id,
    void (*fn)(void *arg, int entry), void *arg)
{
	struct identity_each q = { ix, fn, arg };

	ix->query++;
	identity_each_key(id, identity_each_entry, &q);
}
