/*
 * discover_netscan.h: the network scan's pure parts (CIDR and port list
 * parsing, and which open ports on one host are which printer), exposed for
 * the unit tests. The scan itself is discover_netscan() in discover_source.h.
 */
#ifndef PM_DISCOVER_NETSCAN_H
#define PM_DISCOVER_NETSCAN_H

#include <stddef.h>
#include <stdint.h>

#define NETSCAN_MIN_PREFIX 16		/* widest CIDR accepted: /16 */
#define NETSCAN_MAX_CIDRS 16
#define NETSCAN_MAX_PORTS 16
#define NETSCAN_MAX_HOSTS 65536		/* all CIDRs together */
#define NETSCAN_MAX_OPEN 4096		/* open endpoints kept from one scan */

struct netscan_range {
	uint32_t first;		/* host byte order */
	uint32_t count;		/* addresses to probe from first */
};

/*
 * Parse "a.b.c.d/n" or a bare address (/32). Network and broadcast addresses
 * are skipped for prefixes up to /30. Returns 0, or -1 with a reason in err
 * (wider than /16, malformed).
 */
int netscan_parse_cidr(const char *s, struct netscan_range *out, char *err, size_t errlen);

/* Parse a comma list of ports (1-65535), duplicates dropped. Returns the count
 * (at most max), or -1 with a reason in err. */
int netscan_parse_ports(const char *s, int *ports, int max, char *err, size_t errlen);

/* One printer on a host: its main port and the other ports that belong to it. */
struct netscan_dev {
	int port;
	int aliases[NETSCAN_MAX_PORTS];
	int naliases;
};

/*
 * Group the open ports of one host (DESIGN 2.2): every raw port (anything but
 * 631 and 515) is its own printer; 631 and 515 belong to the first (lowest)
 * raw port, or, with no raw port, form one printer on 631 (else 515).
 * Returns the number of printers written (at most max).
 */
int netscan_group_ports(const int *open, int nopen, struct netscan_dev *out, int max);

#endif
