/*
 * jobs_input.h: the checks of a print job's request body, pure (JSON in, a
 * struct or the field and reason out), so they can be unit-tested.
 */
#ifndef PM_JOBS_INPUT_H
#define PM_JOBS_INPUT_H

#include <stddef.h>
#include <jansson.h>

#define JOBS_TITLE_MAX 200	/* characters */
#define JOBS_COPIES_MAX 10
#define JOBS_DEFAULT_TITLE "printmaster job"

struct jobs_input {
	const char *title;		/* borrowed from the body */
	const char *content_type;	/* "raw", "text" or "pdf" */
	const char *content_b64;	/* standard base64, checked */
	size_t size;			/* decoded bytes */
	int copies;
};

/*
 * Check {"title", "contentType", "content", "copies"}. 0 with *out filled;
 * otherwise the HTTP status (422, or 413 when the content decodes to more than
 * max_bytes) with *field and *why naming the problem. Strings in *out point
 * into body.
 */
int jobs_input_parse(const json_t *body, size_t max_bytes, struct jobs_input *out,
    const char **field, const char **why);

/* 1 when a printer of this protocol and connection type ("" when unknown)
 * can take content_type: pdf needs IPP or CUPS; raw and text go anywhere. */
int jobs_input_fits(const char *content_type, const char *protocol,
    const char *connection);

#endif
