/*
 * discover_netscan.c: TCP connect scan of the configured CIDRs only. One
 * poll() loop drives at most netscan_concurrency non-blocking connects, each
 * with its own deadline; nothing is ever written to a port (connections are
 * reset on close), except the opt-in ESC/POS status query (escpos.c). Not here:
 * the ESC/POS bytes (escpos.c) or merging (discover.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "agent/discover_netscan.h"
#include "agent/discover_source.h"
#include "agent/escpos.h"

int
netscan_parse_cidr(const char *s, struct netscan_range *out, char *err, size_t errlen)
{
	char addr[32], *end;
	const char *slash = strchr(s, '/');
	struct in_addr ia;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	long prefix = 32;
	uint32_t ip, mask;

	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(err, errlen, "netscan: '%.64s' is not an IPv4 CIDR", s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &ia) != 1) {
		snprintf(err, errlen, "netscan: '%.64s' is not an IPv4 CIDR", s);
		return -1;
	}
	if (slash) {
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || prefix < 0 || prefix > 32) {
			snprintf(err, errlen, "netscan: '%.64s' has a bad prefix length", s);
			return -1;
		}
	}
	if (prefix < NETSCAN_MIN_PREFIX) {
		snprintf(err, errlen, "netscan: refusing '%.64s': wider than /%d (%ld); "
		    "list smaller networks in netscan_cidrs", s, NETSCAN_MIN_PREFIX, prefix);
		return -1;
	}
	mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
	ip = ntohl(ia.s_addr) & mask;
	if (prefix <= 30) {	/* skip the network and broadcast addresses */
		out->first = ip + 1;
		out->count = (1u << (32 - prefix)) - 2;
	} else {
		out->first = ip;
		out->count = 1u << (32 - prefix);
	}
	return 0;
}

int
netscan_parse_ports(const char *s, int *ports, int max, char *err, size_t errlen)
{
	const char *p = s;
	int n = 0;

	while (*p) {
		char *end;
		long v;
		int dup = 0;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || end == p || v < 1 || v > 65535 ||
		    (*end && *end != ',' && *end != ' ')) {
			snprintf(err, errlen, "netscan: bad port list '%.64s'", s);
			return -1;
		}
		for (int i = 0; i < n; i++)
			dup |= ports[i] == (int)v;
		if (!dup) {
			if (n >= max) {
				snprintf(err, errlen, "netscan: more than %d ports", max);
				return -1;
			}
			ports[n++] = (int)v;
		}
		p = end;
	}
	return n;
}

static int
netscan_int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int
netscan_group_ports(const int *open, int nopen, struct netscan_dev *out, int max)
{
	int sorted[NETSCAN_MAX_PORTS], n = 0, ndev = 0, first_raw = -1;
	int has631 = 0, has515 = 0;

	for (int i = 0; i < nopen && n < NETSCAN_MAX_PORTS; i++)
		sorted[n++] = open[i];
	qsort(sorted, (size_t)n, sizeof(int), netscan_int_cmp);
	for (int i = 0; i < n; i++) {
		if (sorted[i] == 631) {
			has631 = 1;
			continue;
		}
		if (sorted[i] == 515) {
			has515 = 1;
			continue;
		}
		if (ndev >= max)
			break;
		if (first_raw < 0)
			first_raw = ndev;
		out[ndev].port = sorted[i];
		out[ndev].naliases = 0;
		ndev++;
	}
	if (first_raw < 0 && (has631 || has515) && ndev < max) {
		first_raw = ndev;
		out[ndev].port = has631 ? 631 : 515;
		out[ndev].naliases = 0;
		ndev++;
		if (out[first_raw].port == 631)
			has631 = 0;
		else
			has515 = 0;
	}
	if (first_raw >= 0) {
		if (has631)
			out[first_raw].aliases[out[first_raw].naliases++] = 631;
		if (has515)
			out[first_raw].aliases[out[first_raw].naliases++] = 515;
	}
	return ndev;
}

struct netscan_slot {
	int fd;
	uint32_t ip;
	int port;
	int64_t deadline;
};

struct netscan_hit {
	uint32_t ip;
	int port;
};

struct netscan {
	struct netscan_range ranges[NETSCAN_MAX_CIDRS];
	int nranges;
	int ports[NETSCAN_MAX_PORTS];
	int nports;
	uint64_t total, next;		/* targets (host x port), next to launch */
	struct netscan_hit *hits;
	int nhits;
	long refused, timedout, failed;
};

/* The address of target number t (host-major, so one host's ports are
 * probed together). */
static void
netscan_target(const struct netscan *ns, uint64_t t, uint32_t *ip, int *port)
{
	uint64_t host = t / (uint64_t)ns->nports;

	*port = ns->ports[t % (uint64_t)ns->nports];
	for (int i = 0; i < ns->nranges; i++) {
		if (host < ns->ranges[i].count) {
			*ip = ns->ranges[i].first + (uint32_t)host;
			return;
		}
		host -= ns->ranges[i].count;
	}
	*ip = 0;
}

static void
netscan_close(int fd)
{
	struct linger lg = { 1, 0 };

	/* RST instead of FIN: a raw port never sees an empty job, and loopback
	 * scans leave no TIME_WAIT behind. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void
netscan_hit(struct netscan *ns, uint32_t ip, int port)
{
	if (ns->nhits < NETSCAN_MAX_OPEN) {
		ns->hits[ns->nhits].ip = ip;
		ns->hits[ns->nhits].port = port;
		ns->nhits++;
	}
}

/* Start one connect; returns 1 when it is in flight, 0 when it finished at
 * once (refused or connected), -1 when no socket could be made. */
static int
netscan_launch(struct netscan *ns, struct netscan_slot *s, uint32_t ip, int port,
    long timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd;

	sa.sin_addr.s_addr = htonl(ip);
	sa.sin_port = htons((uint16_t)port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		netscan_hit(ns, ip, port);
		netscan_close(fd);
		return 0;
	}
	if (errno != EINPROGRESS) {
		if (errno == ECONNREFUSED)
			ns->refused++;
		else
			ns->failed++;
		netscan_close(fd);
		return 0;
	}
	s->fd = fd;
	s->ip = ip;
	s->port = port;
	s->deadline = clock_ms() + timeout_ms;
	return 1;
}

static void
netscan_finish(struct netscan *ns, struct netscan_slot *s)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
		netscan_hit(ns, s->ip, s->port);
	else if (soerr == ECONNREFUSED)
		ns->refused++;
	else
		ns->failed++;
	netscan_close(s->fd);
	s->fd = -1;
}

static long
netscan_max_inflight(long want)
{
	struct rlimit rl;

	/* Leave room for the rest of the process (libcups, avahi, logs). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur - 64 < want)
		want = (long)rl.rlim_cur - 64;
	return want < 1 ? 1 : want;
}

/* The poll loop. Returns 0, or -1 when the pass's deadline cut it short. */
static int
netscan_scan(struct discover_ctx *ctx, struct netscan *ns)
{
	long conc = netscan_max_inflight(ctx->cfg->netscan_concurrency);
	long tmo = ctx->cfg->netscan_timeout_ms;
	struct netscan_slot *slots = calloc((size_t)conc, sizeof(*slots));
	struct pollfd *pfd = calloc((size_t)conc, sizeof(*pfd));
	int inflight = 0, rc = 0, starved;

	if (!slots || !pfd) {
		rc = -1;
		goto done;
	}
	for (long i = 0; i < conc; i++)
		slots[i].fd = -1;
	for (;;) {
		int64_t now = clock_ms(), wait = tmo;
		int np = 0;

		starved = 0;
		if (discover_remaining_ms(ctx) <= 0) {
			rc = -1;
			break;
		}
		/* Fill free slots; a connect that ends at once frees its slot again. */
		for (long i = 0; i < conc && ns->next < ns->total; i++) {
			uint32_t ip;
			int port, r;

			if (slots[i].fd >= 0)
				continue;
			netscan_target(ns, ns->next++, &ip, &port);
			r = netscan_launch(ns, &slots[i], ip, port, tmo);
			if (r < 0) {
				ns->next--;	/* out of sockets: retry when one frees */
				starved = 1;
				break;
			}
			if (r == 1)
				inflight++;
			else
				i--;
		}
		if (inflight == 0) {
			if (ns->next >= ns->total)
				break;
			if (starved) {
				log_warn("[DISCOVERY] netscan: cannot create a socket");
				rc = -1;
				break;
			}
			continue;
		}
		for (long i = 0; i < conc; i++) {
			if (slots[i].fd < 0)
				continue;
			pfd[np].fd = slots[i].fd;
			pfd[np].events = POLLOUT;
			pfd[np].revents = 0;
			if (slots[i].deadline - now < wait)
				wait = slots[i].deadline - now;
			np++;
		}
		if (wait < 0)
			wait = 0;
		if (wait > discover_remaining_ms(ctx))
			wait = discover_remaining_ms(ctx);
		if (poll(pfd, (nfds_t)np, (int)wait) < 0 && errno != EINTR) {
			log_warn("[DISCOVERY] netscan: poll");
			rc = -1;
			break;
		}
		now = clock_ms();
		np = 0;
		for (long i = 0; i < conc; i++) {
			if (slots[i].fd < 0)
				continue;
			if (pfd[np++].revents) {
				netscan_finish(ns, &slots[i]);
				inflight--;
			} else if (now >= slots[i].deadline) {
				ns->timedout++;
				netscan_close(slots[i].fd);
				slots[i].fd = -1;
				inflight--;
			}
		}
	}
done:
	for (long i = 0; slots && i < conc; i++)
		if (slots[i].fd >= 0)
			netscan_close(slots[i].fd);
	free(slots);
	free(pfd);
	return rc;
}

static int
netscan_hit_cmp(const void *a, const void *b)
{
	const struct netscan_hit *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return x->port - y->port;
}

static int
netscan_escpos_allowed(const char *list, const char *host, int port)
{
	char want[64], *buf, *items[64];
	int n, ok = 0;

	snprintf(want, sizeof(want), "%s:%d", host, port);
	if ((n = cfg_split_list(list, &buf, items, 64)) < 0)
		return 0;
	for (int i = 0; i < n; i++)
		ok |= strcmp(items[i], want) == 0;
	free(buf);
	return ok;
}

static void
netscan_add_device(struct discover_ctx *ctx, const char *host, const struct netscan_dev *d)
{
	const char *proto = d->port == 631 ? "ipp" : d->port == 515 ? "lpd" : "raw";
	char name[96], uri[128];
	json_t *it = json_object();
	int has631 = d->port == 631;

	snprintf(name, sizeof(name), "Network printer %s:%d", host, d->port);
	if (d->port == 631)
		snprintf(uri, sizeof(uri), "ipp://%s:631/ipp/print", host);
	else if (d->port == 515)
		snprintf(uri, sizeof(uri), "lpd://%s:515/", host);
	else
		snprintf(uri, sizeof(uri), "socket://%s:%d", host, d->port);
	json_object_set_new(it, "name", json_string(name));
	json_object_set_new(it, "connectionType", json_string("network"));
	json_object_set_new(it, "protocol", json_string(proto));
	json_object_set_new(it, "address", json_string(host));
	json_object_set_new(it, "port", json_integer(d->port));
	json_object_set_new(it, "uri", json_string(uri));
	discover_add_alias(it, host, d->port);
	for (int i = 0; i < d->naliases; i++) {
		discover_add_alias(it, host, d->aliases[i]);
		has631 |= d->aliases[i] == 631;
	}
	if (strcmp(proto, "raw") == 0 && ctx->cfg->escpos_status[0] &&
	    netscan_escpos_allowed(ctx->cfg->escpos_status, host, d->port)) {
		struct escpos_status st;
		json_t *r = json_array();

		escpos_query(host, d->port, ctx->cfg->netscan_timeout_ms, &st);
		json_object_set_new(it, "status", json_string(st.status));
		for (int i = 0; i < st.nreasons; i++)
			json_array_append_new(r, json_string(st.reasons[i]));
		json_object_set_new(it, "stateReasons", r);
	}
	discover_add(ctx, it, "netscan");
	if (has631) {
		snprintf(uri, sizeof(uri), "ipp://%s:631/ipp/print", host);
		discover_add_ipp_target(ctx, uri, "netscan");
	}
}

static void
netscan_report(struct discover_ctx *ctx, struct netscan *ns)
{
	struct netscan_dev devs[NETSCAN_MAX_PORTS];
	int i = 0, ndev = 0;

	qsort(ns->hits, (size_t)ns->nhits, sizeof(*ns->hits), netscan_hit_cmp);
	while (i < ns->nhits) {
		int open[NETSCAN_MAX_PORTS], nopen = 0, j = i;
		char host[INET_ADDRSTRLEN];
		struct in_addr ia = { .s_addr = htonl(ns->hits[i].ip) };

		for (; j < ns->nhits && ns->hits[j].ip == ns->hits[i].ip; j++)
			if (nopen < NETSCAN_MAX_PORTS)
				open[nopen++] = ns->hits[j].port;
		inet_ntop(AF_INET, &ia, host, sizeof(host));
		ndev = netscan_group_ports(open, nopen, devs, NETSCAN_MAX_PORTS);
		for (int k = 0; k < ndev; k++)
			netscan_add_device(ctx, host, &devs[k]);
		i = j;
	}
}

int
discover_netscan(struct discover_ctx *ctx)
{
	char err[256], *buf = NULL, *items[NETSCAN_MAX_CIDRS + 1];
	struct netscan ns;
	uint64_t hosts = 0;
	int64_t t0 = clock_ms();
	int n, rc = -1;

	memset(&ns, 0, sizeof(ns));
	if (!ctx->cfg->netscan_cidrs[0]) {
		log_info("[DISCOVERY] netscan: no netscan_cidrs configured; nothing scanned");
		return 0;
	}
	if ((ns.nports = netscan_parse_ports(ctx->cfg->netscan_ports, ns.ports,
	    NETSCAN_MAX_PORTS, err, sizeof(err))) <= 0) {
		log_warnx("[DISCOVERY] %s", ns.nports < 0 ? err : "netscan: no ports configured");
		return -1;
	}
	n = cfg_split_list(ctx->cfg->netscan_cidrs, &buf, items, NETSCAN_MAX_CIDRS + 1);
	if (n > NETSCAN_MAX_CIDRS) {
		log_warnx("[DISCOVERY] netscan: more than %d CIDRs configured; nothing scanned",
		    NETSCAN_MAX_CIDRS);
		goto done;
	}
	for (int i = 0; i < n; i++) {
		if (netscan_parse_cidr(items[i], &ns.ranges[i], err, sizeof(err)) < 0) {
			log_warnx("[DISCOVERY] %s; nothing scanned", err);
			goto done;
		}
		hosts += ns.ranges[i].count;
	}
	ns.nranges = n < 0 ? 0 : n;
	if (hosts > NETSCAN_MAX_HOSTS) {
		log_warnx("[DISCOVERY] netscan: %llu addresses configured, more than %d; "
		    "nothing scanned", (unsigned long long)hosts, NETSCAN_MAX_HOSTS);
		goto done;
	}
	ns.total = hosts * (uint64_t)ns.nports;
	if ((ns.hits = calloc(NETSCAN_MAX_OPEN, sizeof(*ns.hits))) == NULL)
		goto done;
	if (netscan_scan(ctx, &ns) < 0)
		log_warnx("[DISCOVERY] netscan: stopped early (time limit) after %llu of %llu "
		    "probes", (unsigned long long)ns.next, (unsigned long long)ns.total);
	log_info("[DISCOVERY] netscan: %llu probes in %lld ms: %d open, %ld refused, "
	    "%ld timed out, %ld other errors", (unsigned long long)ns.next,
	    (long long)(clock_ms() - t0), ns.nhits, ns.refused, ns.timedout, ns.failed);
	netscan_report(ctx, &ns);
	rc = 0;
done:
	free(ns.hits);
	free(buf);
	return rc;
}
