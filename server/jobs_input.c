/*
 * jobs_input.c: print job request checks (see jobs_input.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "server/jobs_input.h"

/* 1 to JOBS_TITLE_MAX characters of UTF-8 (jansson checked it) without
 * control characters. */
static int
jobs_input_title_ok(const char *s)
{
	size_t chars = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if ((*p & 0xc0) != 0x80)
			chars++;
	}
	return chars >= 1 && chars <= JOBS_TITLE_MAX;
}

int
jobs_input_parse(const json_t *body, size_t max_bytes, struct jobs_input *out,
    const char **field, const char **why)
{
	const json_t *t = json_object_get(body, "title"), *ct = json_object_get(body,
	    "contentType"), *co = json_object_get(body, "content"), *cp =
	    json_object_get(body, "copies");
	unsigned char *buf;
	size_t len, n;
	int rc;

	memset(out, 0, sizeof(*out));
	*field = *why = NULL;
	out->title = JOBS_DEFAULT_TITLE;
	if (t && !json_is_null(t)) {
		if (!json_is_string(t) || !jobs_input_title_ok(json_string_value(t))) {
			*field = "title";
			*why = "must be 1 to 200 characters without control characters";
			return 422;
		}
		out->title = json_string_value(t);
	}
	out->content_type = json_string_value(ct);
	if (!out->content_type || (strcmp(out->content_type, "raw") &&
	    strcmp(out->content_type, "text") && strcmp(out->content_type, "pdf"))) {
		*field = "contentType";
		*why = "must be raw, text or pdf";
		return 422;
	}
	out->copies = 1;
	if (cp && !json_is_null(cp)) {
		if (!json_is_integer(cp) || json_integer_value(cp) < 1 ||
		    json_integer_value(cp) > JOBS_COPIES_MAX) {
			*field = "copies";
			*why = "must be an integer from 1 to 10";
			return 422;
		}
		out->copies = (int)json_integer_value(cp);
	}
	*field = "content";
	if (!json_is_string(co) || (len = json_string_length(co)) == 0) {
		*why = "is required: the document, base64-encoded";
		return 422;
	}
	/* Refused by length before anything is decoded. */
	if (len / 4 * 3 > max_bytes + 2) {
		*why = "is larger than max_job_bytes";
		return 413;
	}
	if ((buf = malloc(len / 4 * 3 + 3)) == NULL) {
		*why = "could not be decoded (out of memory)";
		return 413;
	}
	rc = sodium_base642bin(buf, len / 4 * 3 + 3, json_string_value(co), len, NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL);
	if (rc != 0 || len % 4 != 0)
		*why = "is not valid base64 (standard alphabet, padded)";
	else if (n == 0)
		*why = "is empty";
	else if (n > max_bytes) {
		*why = "is larger than max_job_bytes";
		rc = 413;
	} else if (strcmp(out->content_type, "pdf") == 0 && (n < 5 ||
	    memcmp(buf, "%PDF-", 5) != 0))
		*why = "is not a PDF document (it must start with %PDF-)";
	else {
		out->content_b64 = json_string_value(co);
		out->size = n;
		*field = *why = NULL;
	}
	free(buf);
	if (*why)
		return rc == 413 ? 413 : 422;
	return 0;
}

int
jobs_input_fits(const char *content_type, const char *protocol, const char *connection)
{
	if (strcmp(content_type, "pdf") != 0)
		return 1;
	return strcmp(protocol, "ipp") == 0 || strcmp(protocol, "ipps") == 0 ||
	    strcmp(protocol, "cups") == 0 || strcmp(connection, "cups") == 0;
}
