/*
 * printer.h: the PrinterData model shared by server and agent: validation and
 * normalisation of one item (pure: JSON in, JSON or field errors out), and the
 * names of the identity kinds. The identity rules themselves (deviceKey,
 * ranks, matching) are in identity.h.
 */
#ifndef PM_PRINTER_H
#define PM_PRINTER_H

#include <jansson.h>

#define PRINTER_NAME_MAX 200		/* characters */
#define PRINTER_TEXT_MAX 255		/* bytes, most text fields */
#define PRINTER_URI_MAX 1024
#define PRINTER_KEY_MAX 1024		/* holds any key the server derives */
#define PRINTER_REASONS_MAX 32
#define PRINTER_CAPS_MAX 16384		/* bytes of compact JSON */

/* Identity strength, strongest first; also the matchedBy vocabulary. */
enum printer_ident {
	PIDENT_UUID = 0,
	PIDENT_SERIAL,
	PIDENT_MAC,
	PIDENT_ADDRESS,
	PIDENT_DEVICE_KEY,
	PIDENT_NAME,
	PIDENT_NONE,
};

const char *printer_ident_name(enum printer_ident id);

/*
 * Validate and normalise one PrinterData object. On success returns a new
 * object holding only known fields, trimmed and canonical (lower-case MAC and
 * UUID, deviceKey filled in from the strongest identity when absent), and
 * *errors is NULL. On failure returns NULL and *errors is a new object
 * {"field": "message", ...}. The caller owns whichever it gets.
 */
json_t *printer_normalize(const json_t *in, json_t **errors);

/* Canonical forms; return 0 and write into out, or -1 when not valid. */
int printer_norm_mac(const char *in, char *out, size_t outlen);

/* Lower-cased, trimmed, inner white space folded: the name rule's key. */
void printer_norm_name(const char *in, char *out, size_t outlen);

/* Number of UTF-8 code points in a valid UTF-8 string. */
size_t printer_utf8_len(const char *s);

/* True when s holds a control character (below 0x20, or DEL). */
int printer_has_ctl(const char *s);

#endif
