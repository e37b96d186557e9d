/*
 * ieee1284.h: parser for IEEE 1284 device ids ("MFG:EPSON;MDL:TM-T20;..."),
 * as found in sysfs ieee1284_id files and the IPP printer-device-id attribute.
 * Pure: bytes in, struct out.
 */
#ifndef PM_IEEE1284_H
#define PM_IEEE1284_H

#include <stddef.h>

#define IEEE1284_MAX_LEN 1024		/* bytes of device id looked at */
#define IEEE1284_VALUE_MAX 256		/* one value, with its NUL */

struct ieee1284_id {
	char manufacturer[IEEE1284_VALUE_MAX];	/* MFG / MANUFACTURER */
	char model[IEEE1284_VALUE_MAX];		/* MDL / MODEL */
	char command_set[IEEE1284_VALUE_MAX];	/* CMD / COMMAND SET */
	char serial[IEEE1284_VALUE_MAX];		/* SN / SERIALNUMBER / SERN */
	char description[IEEE1284_VALUE_MAX];	/* DES / DESCRIPTION */
};

/*
 * Parse `len` bytes (at most IEEE1284_MAX_LEN are read; an optional two-byte
 * length prefix is skipped). Keys are case-insensitive; fields without a ':'
 * are ignored; values are cleaned to printable UTF-8 and truncated. Returns 0
 * when a manufacturer, model or description was found, else -1.
 */
int ieee1284_parse(const char *buf, size_t len, struct ieee1284_id *out);

#endif
