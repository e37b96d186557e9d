/*
 * fuzz_jsonlimit.c: jsonlimit_depth and acceptor_classify, the two checks
 * that see raw bytes before any parser. For a document jansson accepts, the
 * scan must report exactly jansson's nesting depth; classification of a
 * connection's first bytes must never change its mind as more bytes arrive.
 */
#include <limits.h>
#include <string.h>
#include <jansson.h>

#include "common/jsonlimit.h"
#include "server/acceptor.h"
#include "fuzz.h"

static int
fuzz_depth(const json_t *j)
{
	int deepest = 0, d;
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if ((d = fuzz_depth(v)) > deepest)
				deepest = d;
		return deepest + 1;
	}
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if ((d = fuzz_depth(v)) > deepest)
				deepest = d;
		return deepest + 1;
	}
	return 0;
}

static void
fuzz_classify(const uint8_t *data, size_t size)
{
	static const char ws[] = "GET /ws";
	int prev = -1;

	for (size_t len = 0; len <= size && len <= 16; len++) {
		int c = acceptor_classify((const char *)data, len);

		FUZZ_ASSERT(c >= -1 && c <= 1);
		if (prev >= 0)
			FUZZ_ASSERT(c == prev);
		if (c < 0)
			FUZZ_ASSERT(len <= sizeof(ws) - 1);
		if (c == 1)
			FUZZ_ASSERT(len > 7 && memcmp(data, ws, 7) == 0 &&
			    (data[7] == ' ' || data[7] == '?' || data[7] == '/'));
		prev = c;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	int full = jsonlimit_depth(buf, size, INT_MAX);
	json_t *j;

	fuzz_classify(data, size);
	FUZZ_ASSERT(full >= 0);
	FUZZ_ASSERT(jsonlimit_depth(buf, size, full) == full);
	if (full > 0)
		FUZZ_ASSERT(jsonlimit_depth(buf, size, full - 1) == -1);
	/* As http_body_json parses: with duplicate keys jansson keeps the last
	 * value, which may be shallower than what the scan counted. */
	j = json_loadb(buf, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	if (j) {
		FUZZ_ASSERT(fuzz_depth(j) == full);
		json_decref(j);
	}
	return 0;
}
