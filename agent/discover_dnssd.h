/*
 * discover_dnssd.h: the pure part of DNS-SD discovery, TXT record parsing
 * (exposed for the unit tests). Browsing is discover_dnssd() in
 * discover_source.h.
 */
#ifndef PM_DISCOVER_DNSSD_H
#define PM_DISCOVER_DNSSD_H

#include <stddef.h>

#define DNSSD_TXT_MAX_RECORDS 64	/* TXT strings looked at per service */
#define DNSSD_TXT_VALUE_MAX 256		/* one value, with its NUL */

struct dnssd_txt {
	char uuid[40];			/* normalised, or "" when absent or invalid */
	char ty[DNSSD_TXT_VALUE_MAX];	/* make and model */
	char product[DNSSD_TXT_VALUE_MAX];	/* without its parentheses */
	char usb_mfg[DNSSD_TXT_VALUE_MAX];
	char usb_mdl[DNSSD_TXT_VALUE_MAX];
	char note[DNSSD_TXT_VALUE_MAX];	/* location */
	char rp[DNSSD_TXT_VALUE_MAX];	/* resource path without the leading '/' */
	int bad;			/* records that were ignored as malformed */
};

/*
 * Parse TXT strings: recs[i] is lens[i] bytes of "key=value" (DNS-SD keys
 * are case-insensitive and at most 255 bytes). Values are cleaned to
 * printable UTF-8; an invalid UUID or an rp with characters a URI path cannot
 * hold is dropped and counted in bad. Returns 0.
 */
int dnssd_txt_parse(const char *const *recs, const size_t *lens, int n,
    struct dnssd_txt *out);

#endif
