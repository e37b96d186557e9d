/*
 * identity.h: the one identity rule of DESIGN 2.2, for the server's bulk
 * decision and the agent's merge alike: the deviceKey a printer gets and how
 * strong it is, when a stronger key replaces a weaker one, and "is this the
 * same printer?" (the strongest identity both sides carry decides: uuid,
 * manufacturer + serial, MAC, network place, an agent-local key of the same
 * kind, and last the normalised name). Pure functions. Not here: validating
 * a printer (printer.h), and what either side does with a match.
 */
#ifndef PM_IDENTITY_H
#define PM_IDENTITY_H

#include <jansson.h>

#include "common/printer.h"

#define IDENTITY_PLACES_MAX 32	/* places one merged device keeps */

struct identity {
	const char *key;	/* deviceKey */
	const char *uuid;
	char mfr[PRINTER_TEXT_MAX + 1];	/* normalised manufacturer, "" if none */
	const char *serial;
	const char *mac;
	char addr[PRINTER_TEXT_MAX + 1];	/* lower-cased host, "" if none */
	int port;
	/* More places the device answers at besides addr:port, as the agent
	 * learns them ("host:port" lower-cased, "svc:<instance>"); NULL when
	 * none (the server has only addr:port). */
	const json_t *places;
	char name[PRINTER_TEXT_MAX * 4 + 1];	/* normalised name */
};

/* Fill id from a PrinterData-shaped object (camelCase keys). The strings point
 * into obj, which must outlive id. id->places is left NULL. */
void identity_from_json(struct identity *id, const json_t *obj);
/* The same from the identity fields as they are (NULL or "" for none), e.g. a
 * stored row's columns; the strings must outlive id. */
struct identity_fields {
	const char *key, *uuid, *serial, *mac, *manufacturer, *address, *name;
	int port;
};
void identity_from_fields(struct identity *id, const struct identity_fields *f);
/* Set id's extra places (an array of strings, not copied; NULL for none). */
void identity_set_places(struct identity *id, const json_t *places);

/* PIDENT_x naming the identity that proves a and b the same, or PIDENT_NONE. */
enum printer_ident identity_match(const struct identity *a, const struct identity *b);

/*
 * The strongest deviceKey available from the identity fields of a normalised
 * object: uuid:, sn:<manufacturer>:<serial>, mac:, net:<host>:<port>, else
 * name:<lower(trimmed name)>. Writes into out; returns the identity used.
 */
enum printer_ident identity_device_key(const json_t *p, char *out, size_t outlen);
/* Rank of a deviceKey by its prefix (uuid: strongest ... name: weakest);
 * usb:, cups: and other agent-local keys rank PIDENT_DEVICE_KEY. */
enum printer_ident identity_key_rank(const char *key);
/* The key upgrade: true when key is stronger than old (so a stored printer
 * first found by a port scan takes the uuid: key IPP reveals later). NULL
 * keys are never stronger, and nothing is stronger than a NULL old. */
int identity_key_stronger(const char *key, const char *old);

/*
 * An identity document: the identity fields of a normalised printer (uuid,
 * manufacturer, serialNumber, macAddress, address, port, name, and deviceKey
 * only when agent-local) plus "places", what identity_from_json and
 * identity_set_places read back. The agent's merge keeps one per device.
 * A new object, or NULL on allocation failure; places may be NULL.
 */
json_t *identity_doc_new(const json_t *p, const json_t *places);
/* Fold src into dst, both documents: dst takes each identity it lacks from
 * src (manufacturer and serial as a pair, address and port as a pair), and
 * the places of both, up to IDENTITY_PLACES_MAX. */
void identity_doc_fold(json_t *dst, const json_t *src);
/* identity_from_json plus identity_set_places of a document. */
void identity_from_doc(struct identity *id, const json_t *doc);

/*
 * An index from identity values to entries, so matching n items against m
 * printers looks only at entries that share a value with the item instead of
 * at all m: identity_match can only succeed where some value is shared.
 */
struct identity_slot {
	unsigned hash;
	unsigned key;		/* offset of the key's text in keys */
	int entry;		/* -1: empty */
};

struct identity_index {
	/* Open addressing, one slot per (value, entry): "u:<uuid>" ... */
	struct identity_slot *slots;
	size_t nslots, used;
	char *keys;		/* the values' texts, NUL-terminated, one after another */
	size_t klen, kcap;
	int *stamp;		/* per entry: last query that listed it */
	int cap, query;
	int failed;		/* out of memory: some value was not recorded */
};

int identity_index_init(struct identity_index *ix, int entries);
void identity_index_free(struct identity_index *ix);
/* Record entry number `entry` (0 <= entry < entries) under id's values. */
void identity_index_add(struct identity_index *ix, const struct identity *id, int entry);
/* Call fn(arg, entry) once for every entry sharing a value with id, in no
 * particular order. */
void identity_index_each(struct identity_index *ix, const struct identity *id,
    void (*fn)(void *arg, int entry), void *arg);

#endif
