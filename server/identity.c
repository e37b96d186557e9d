/*
 * identity.c: the matching rule. The first identity both sides carry decides,
 * so a stronger disagreement (two different UUIDs) is never overruled by a
 * weaker agreement (the same name, or the same address after a swap).
 */
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
