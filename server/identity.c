/*
 * identity.c: the matching rule. The first identity both sides carry decides,
 * so a stronger disagreement (two different UUIDs) is never overruled by a
 * weaker agreement (the same name, or the same address after a swap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/identity.h"

static const char *
identity_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && *s ? s : NULL;
}

void
identity_from_json(struct identity *id, const json_t *o)
{
	const char *s;

	memset(id, 0, sizeof(*id));
	id->key = identity_str(o, "deviceKey");
	id->uuid = identity_str(o, "uuid");
	id->serial = identity_str(o, "serialNumber");
	id->mac = identity_str(o, "macAddress");
	if ((s = identity_str(o, "manufacturer")) != NULL)
		printer_norm_name(s, id->mfr, sizeof(id->mfr));
	if ((s = identity_str(o, "address")) != NULL)
		printer_norm_name(s, id->addr, sizeof(id->addr));
	id->port = (int)json_integer_value(json_object_get(o, "port"));
	if ((s = identity_str(o, "name")) != NULL)
		printer_norm_name(s, id->name, sizeof(id->name));
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
	if (a->uuid && b->uuid)
		return strcmp(a->uuid, b->uuid) == 0 ? PIDENT_UUID : PIDENT_NONE;
	if (a->mfr[0] && a->serial && b->mfr[0] && b->serial)
		return strcmp(a->mfr, b->mfr) == 0 && strcmp(a->serial, b->serial) == 0 ?
		    PIDENT_SERIAL : PIDENT_NONE;
	if (a->mac && b->mac)
		return strcmp(a->mac, b->mac) == 0 ? PIDENT_MAC : PIDENT_NONE;
	if (a->addr[0] && a->port > 0 && b->addr[0] && b->port > 0)
		return strcmp(a->addr, b->addr) == 0 && a->port == b->port ?
		    PIDENT_ADDRESS : PIDENT_NONE;
	if (a->key && b->key && printer_key_rank(a->key) == PIDENT_DEVICE_KEY &&
	    printer_key_rank(b->key) == PIDENT_DEVICE_KEY) {
		size_t ka = identity_kind_len(a->key), kb = identity_kind_len(b->key);

		/* Keys of one kind (two cups: queues) decide; different kinds say nothing. */
		if (ka == kb && strncmp(a->key, b->key, ka) == 0)
			return strcmp(a->key, b->key) == 0 ? PIDENT_DEVICE_KEY : PIDENT_NONE;
	}
	if (a->name[0] && strcmp(a->name, b->name) == 0)
		return PIDENT_NAME;
	return PIDENT_NONE;
}

int
identity_index_init(struct identity_index *ix, int entries)
{
	ix->map = json_object();
	ix->stamp = calloc((size_t)entries + 1, sizeof(int));
	ix->cap = entries;
	ix->query = 0;
	if (!ix->map || !ix->stamp) {
		identity_index_free(ix);
		return -1;
	}
	return 0;
}

void
identity_index_free(struct identity_index *ix)
{
	json_decref(ix->map);
	free(ix->stamp);
	ix->map = NULL;
	ix->stamp = NULL;
}

/* The index keys of an identity; returns how many were written. */
static int
identity_keys(const struct identity *id, char keys[6][PRINTER_KEY_MAX * 2])
{
	const size_t kl = PRINTER_KEY_MAX * 2;
	int n = 0;

	if (id->uuid)
		snprintf(keys[n++], kl, "u:%s", id->uuid);
	if (id->mfr[0] && id->serial)
		snprintf(keys[n++], kl, "s:%s\x1f%s", id->mfr, id->serial);
	if (id->mac)
		snprintf(keys[n++], kl, "m:%s", id->mac);
	if (id->addr[0] && id->port > 0)
		snprintf(keys[n++], kl, "a:%s:%d", id->addr, id->port);
	if (id->key)
		snprintf(keys[n++], kl, "k:%s", id->key);
	if (id->name[0])
		snprintf(keys[n++], kl, "n:%s", id->name);
	return n;
}

void
identity_index_add(struct identity_index *ix, const struct identity *id, int entry)
{
	char keys[6][PRINTER_KEY_MAX * 2];
	int n = identity_keys(id, keys);

	for (int i = 0; i < n; i++) {
		json_t *list = json_object_get(ix->map, keys[i]);

		/* _nocheck: a key cut to fit may end inside a UTF-8 sequence, which
		 * the checking setter refuses (after freeing the new list). The map
		 * is never serialised, so any bytes will do as a key. */
		if (!list && ((list = json_array()) == NULL ||
		    json_object_set_new_nocheck(ix->map, keys[i], list) < 0))
			continue;
		json_array_append_new(list, json_integer(entry));
	}
}

void
identity_index_each(struct identity_index *ix, const struct identity *id,
    void (*fn)(void *arg, int entry), void *arg)
{
	char keys[6][PRINTER_KEY_MAX * 2];
	int n = identity_keys(id, keys);

	ix->query++;
	for (int i = 0; i < n; i++) {
		json_t *list = json_object_get(ix->map, keys[i]), *v;
		size_t j;

		json_array_foreach(list, j, v) {
			int e = (int)json_integer_value(v);

			if (e < 0 || e >= ix->cap || ix->stamp[e] == ix->query)
				continue;
			ix->stamp[e] = ix->query;
			fn(arg, e);
		}
	}
}
