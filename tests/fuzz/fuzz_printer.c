/*
 * fuzz_printer.c: arbitrary bytes through json_loadb and printer_normalize.
 * Checks that a valid item always comes out with a name, status and deviceKey,
 * that normalising twice changes nothing, and the canonical-form helpers.
 */
#include <string.h>
#include <jansson.h>

#include "common/identity.h"
#include "common/printer.h"
#include "common/uuid.h"
#include "fuzz.h"

static void
fuzz_helpers(const uint8_t *data, size_t size)
{
	char s[2048], out[1024];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	json_t *j;

	memcpy(s, data, n);
	s[n] = '\0';
	if (printer_norm_mac(s, out, sizeof(out)) == 0)
		FUZZ_ASSERT(strlen(out) == 17);
	if (uuid_norm(s, out, sizeof(out)) == 0)
		FUZZ_ASSERT(strlen(out) == 36);
	(void)identity_key_rank(s);
	/* A name rule key of valid UTF-8 must stay valid UTF-8 whatever the room. */
	if ((j = json_string(s)) != NULL) {
		for (size_t room = 1; room <= sizeof(out); room = room * 2 + 1) {
			printer_norm_name(s, out, room);
			FUZZ_ASSERT(strlen(out) < room);
			json_t *k = json_string(out);
			FUZZ_ASSERT(k != NULL);
			json_decref(k);
		}
		(void)printer_utf8_len(s);
		json_decref(j);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in, *out, *errs = NULL, *again, *errs2 = NULL;
	const char *key;

	fuzz_helpers(data, size);
	in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    NULL);
	if (!in)
		return 0;
	out = printer_normalize(in, &errs);
	FUZZ_ASSERT((out == NULL) != (errs == NULL));
	if (!out) {
		FUZZ_ASSERT(json_is_object(errs) && json_object_size(errs) > 0);
		json_decref(errs);
		json_decref(in);
		return 0;
	}
	FUZZ_ASSERT(json_is_string(json_object_get(out, "name")));
	FUZZ_ASSERT(json_is_string(json_object_get(out, "status")));
	key = json_string_value(json_object_get(out, "deviceKey"));
	FUZZ_ASSERT(key != NULL && strchr(key, ':') != NULL);
	FUZZ_ASSERT(strlen(key) <= PRINTER_KEY_MAX);
	/* The output is its own normal form. */
	again = printer_normalize(out, &errs2);
	FUZZ_ASSERT(again != NULL && errs2 == NULL);
	FUZZ_ASSERT(json_equal(again, out));
	json_decref(again);
	json_decref(out);
	json_decref(in);
	return 0;
}
