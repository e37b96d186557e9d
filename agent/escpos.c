/*
 * escpos.c: ESC/POS real-time status (DLE EOT). Raw ports print whatever they
 * receive, so this is the only place the agent writes to one, and it writes
 * nothing but the 6 query bytes, on its own connection with a short deadline.
 * Not here: which printers are asked (discover_netscan.c, the escpos_status
 * setting).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "agent/discover_source.h"
#include "agent/escpos.h"

static int
escpos_valid(unsigned char b)
{
	/* Fixed bits of every DLE EOT reply: bit 1 = 1, bit 4 = 1, bits 0, 7 = 0. */
	return (b & 0x93) == 0x12;
}

static void
escpos_reason(struct escpos_status *out, const char *r)
{
	if (out->nreasons < ESCPOS_REASONS_MAX)
		out->reasons[out->nreasons++] = r;
}

int
escpos_parse_status(const unsigned char *buf, size_t len, struct escpos_status *out)
{
	memset(out, 0, sizeof(*out));
	out->status = "unknown";
	if (len < 1 || !escpos_valid(buf[0]))
		return -1;
	out->status = "online";
	if (buf[0] & 0x08) {		/* bit 3: offline */
		out->status = "offline";
		escpos_reason(out, "offline-report");
	}
	if (buf[0] & 0x20)		/* bit 5: waiting for online recovery */
		escpos_reason(out, "paused");
	if (len > 1 && escpos_valid(buf[1])) {
		if ((buf[1] & 0x60) == 0x60) {	/* bits 5, 6: paper roll end */
			out->status = "error";
			escpos_reason(out, "media-empty");
		} else if ((buf[1] & 0x0c) == 0x0c)	/* bits 2, 3: near end */
			escpos_reason(out, "media-low");
	}
	return 0;
}

static int
escpos_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long left;
	int n;

	for (;;) {
		left = (long)(deadline - clock_ms());
		if (left <= 0)
			return -1;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

int
escpos_query(const char *host, int port, long timeout_ms, struct escpos_status *out)
{
	static const unsigned char query[] = { 0x10, 0x04, 0x01, 0x10, 0x04, 0x04 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct linger lg = { 1, 0 };
	int64_t deadline = clock_ms() + timeout_ms;
	unsigned char reply[2];
	size_t got = 0;
	int fd = -1, soerr = 0;
	socklen_t sl = sizeof(soerr);
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->status = "unknown";
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto err;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		goto err;
	if (escpos_wait(fd, POLLOUT, deadline) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)
		goto err;
	if (send(fd, query, sizeof(query), MSG_NOSIGNAL) != (ssize_t)sizeof(query))
		goto err;
	while (got < sizeof(reply) && escpos_wait(fd, POLLIN, deadline) == 0) {
		n = recv(fd, reply + got, sizeof(reply) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* Reset rather than FIN: the port sees no half-closed job to print. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	if (escpos_parse_status(reply, got, out) < 0) {
		log_warnx("[DISCOVERY] escpos: %s:%d sent no DLE EOT status reply", host, port);
		return -1;
	}
	return 0;
err:
	log_warnx("[DISCOVERY] escpos: status query to %s:%d failed", host, port);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	return -1;
}
