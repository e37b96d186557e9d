/*
 * fuzz_identity.c: a JSON array of printer-shaped objects (raw, and normalised
 * where valid, with the agent's "_aliases" as extra places) through
 * identity_from_json, identity_match and the identity index. Checks that matching is symmetric and that the index lists every
 * entry identity_match accepts (the index may only ever add candidates).
 */
#include <string.h>
#include <jansson.h>

#include "common/identity.h"
#include "fuzz.h"

#define FUZZ_MAX_ITEMS 32

struct fuzz_seen {
	int listed[FUZZ_MAX_ITEMS];
};

static void
fuzz_mark(void *arg, int entry)
{
	struct fuzz_seen *s = arg;

	FUZZ_ASSERT(entry >= 0 && entry < FUZZ_MAX_ITEMS);
	FUZZ_ASSERT(s->listed[entry] == 0);	/* once per query */
	s->listed[entry] = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct identity ids[FUZZ_MAX_ITEMS];
	json_t *objs[FUZZ_MAX_ITEMS];
	struct identity_index ix;
	json_t *arr, *v;
	size_t i;
	int n = 0;

	arr = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return 0;
	}
	json_array_foreach(arr, i, v) {
		json_t *errs = NULL, *norm;

		if (n >= FUZZ_MAX_ITEMS)
			break;
		/* Odd items as sent, even ones normalised when they validate: the
		 * server matches normalised items against rows read back from SQL. */
		norm = (i % 2 == 0) ? printer_normalize(v, &errs) : NULL;
		json_decref(errs);
		objs[n] = norm ? norm : json_incref(v);
		identity_from_json(&ids[n], objs[n]);
		/* The agent's extra places, as its sources report them. */
		identity_set_places(&ids[n], json_object_get(v, "_aliases"));
		n++;
	}
	FUZZ_ASSERT(identity_index_init(&ix, n) == 0);
	for (int e = 0; e < n; e++)
		identity_index_add(&ix, &ids[e], e);
	for (int a = 0; a < n; a++) {
		struct fuzz_seen s;

		memset(&s, 0, sizeof(s));
		identity_index_each(&ix, &ids[a], fuzz_mark, &s);
		for (int b = 0; b < n; b++) {
			enum printer_ident m = identity_match(&ids[a], &ids[b]);

			FUZZ_ASSERT(m == identity_match(&ids[b], &ids[a]));
			FUZZ_ASSERT(m >= PIDENT_UUID && m <= PIDENT_NONE);
			if (m != PIDENT_NONE)
				FUZZ_ASSERT(s.listed[b]);
		}
	}
	identity_index_free(&ix);
	for (int e = 0; e < n; e++)
		json_decref(objs[e]);
	json_decref(arr);
	return 0;
}
