/*
 * identity.h: "is this the same printer?" (DESIGN 2.2). Two printers are the
 * same when the strongest identity they both carry agrees: uuid, manufacturer
 * + serial, MAC, host + port, a deviceKey of the same kind, and last the
 * normalised name when nothing stronger is carried by both. Pure functions.
 */
#ifndef PM_IDENTITY_H
#define PM_IDENTITY_H

#include <jansson.h>

#include "common/printer.h"

struct identity {
	const char *key;	/* deviceKey */
	const char *uuid;
	char mfr[PRINTER_TEXT_MAX + 1];	/* normalised manufacturer, "" if none */
	const char *serial;
	const char *mac;
	char addr[PRINTER_TEXT_MAX + 1];	/* lower-cased host, "" if none */
	int port;
	char name[PRINTER_TEXT_MAX * 4 + 1];	/* normalised name */
};

/* Fill id from a PrinterData-shaped object (camelCase keys). The strings point
 * into obj, which must outlive id. */
void identity_from_json(struct identity *id, const json_t *obj);

/* PIDENT_x naming the identity that proves a and b the same, or PIDENT_NONE. */
enum printer_ident identity_match(const struct identity *a, const struct identity *b);

/*
 * An index from identity values to entries, so matching n items against m
 * printers looks only at entries that share a value with the item instead of
 * at all m: identity_match can only succeed where some value is shared.
 */
struct identity_index {
	json_t *map;		/* "u:<uuid>" ... -> [entry numbers] */
	int *stamp;		/* per entry: last query that listed it */
	int cap, query;
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
