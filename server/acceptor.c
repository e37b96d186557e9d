/*
 * acceptor.c: one thread polls the listening socket, a wake eventfd and every
 * connection whose first bytes have not arrived yet. Each undecided connection
 * has a deadline; a prefix that still could be "GET /ws" is re-peeked after a
 * short backoff, because poll keeps reporting unread bytes as readable.
 * The listening socket is always polled: when the table is full, or one
 * address holds its share of it, the oldest undecided connection makes room.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "server/acceptor.h"

#define ACC_MAX_PENDING 1024
#define ACC_MAX_PER_SOURCE 256	/* undecided connections one address may hold
				   once the table is half full */
#define ACC_ACCEPT_BATCH 256	/* accepts per round, so deciding goes on too */
#define ACC_DEADLINE_MS 5000
#define ACC_REPEEK_MS 5
#define ACC_DROP_LOG_MS 10000	/* at most one line about evictions this often */
#define ACC_FULL_PAUSE_MS 100	/* out of descriptors: rest the listener this long */

struct acc_conn {
	int fd;
	struct sockaddr_storage sa;
	socklen_t salen;
	long long deadline;	/* ms */
	long long recheck;	/* ms; 0 = poll it now */
	unsigned long long seq;	/* accept order: the lowest is the oldest */
};

static int acc_listen_fd = -1, acc_wake_fd = -1, acc_port;
static volatile int acc_stopping;
static pthread_t acc_thread;
static int acc_running;
static acceptor_handoff acc_http, acc_ws;
static void *acc_http_arg, *acc_ws_arg;
static struct acc_conn acc_pending[ACC_MAX_PENDING];
static int acc_npending;
static unsigned long long acc_seq;
static unsigned long acc_evicted;	/* since the last log line about it */
static long long acc_evict_logged;	/* ms */
static long long acc_listen_rest;	/* ms; the listener is not polled before */
static long long acc_emfile_logged;	/* ms */

void
acceptor_set_ws(acceptor_handoff fn, void *arg)
{
	acc_ws = fn;
	acc_ws_arg = arg;
}

int
acceptor_port(void)
{
	return acc_port;
}

void
acceptor_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
		    (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		    (socklen_t)len);
	else
		snprintf(buf, len, "local");
}

int
acceptor_classify(const char *buf, size_t len)
{
	static const char ws[] = "GET /ws";
	size_t n = sizeof(ws) - 1;

	if (len < n)
		return memcmp(buf, ws, len) == 0 ? -1 : 0;
	if (memcmp(buf, ws, n) != 0)
		return 0;
	if (len == n)
		return -1;
	return buf[n] == ' ' || buf[n] == '?' || buf[n] == '/' ? 1 : 0;
}

static void
acc_abort(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void
acc_drop(int i)
{
	acc_pending[i] = acc_pending[--acc_npending];
}

/* Peek at connection i; hand it over or drop it once that can be decided.
 * Returns 1 when it left the table (acc_drop moved the last entry to i). */
static int
acc_decide(int i)
{
	struct acc_conn *c = &acc_pending[i];
	char buf[16];
	ssize_t n;
	int kind;

	n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		acc_abort(c->fd);
		acc_drop(i);
		return 1;
	}
	if (n < 0)
		return 0;
	kind = acceptor_classify(buf, (size_t)n);
	if (kind < 0) {
		c->recheck = clock_ms() + ACC_REPEEK_MS;
		return 0;
	}
	if (kind == 1 && acc_ws)
		acc_ws(c->fd, (struct sockaddr *)&c->sa, c->salen, acc_ws_arg);
	else
		acc_http(c->fd, (struct sockaddr *)&c->sa, c->salen, acc_http_arg);
	acc_drop(i);
	return 1;
}

/*
 * One "source" for the per-address cap: an IPv4 address, or an IPv6 /64
 * (what one host is usually given). IPv4-mapped addresses compare whole.
 */
static int
acc_same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *a6, *b6;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family != AF_INET6)
		return 1;
	a6 = (const struct sockaddr_in6 *)a;
	b6 = (const struct sockaddr_in6 *)b;
	if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		return memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return memcmp(&a6->sin6_addr, &b6->sin6_addr, 8) == 0;
}

/*
 * Make room by giving up on connection i, the oldest of the table or of its
 * address. Its request may have arrived since the last poll (a burst is
 * accepted before anything is peeked): then it is handed over, not dropped.
 */
static void
acc_evict(int i)
{
	long long now;

	if (acc_decide(i))
		return;
	acc_abort(acc_pending[i].fd);
	acc_drop(i);
	acc_evicted++;
	now = clock_ms();
	if (now - acc_evict_logged >= ACC_DROP_LOG_MS) {
		log_warnx("[API] %lu undecided connection(s) dropped to make room "
		    "(%d pending, at most %d per address)", acc_evicted, acc_npending,
		    ACC_MAX_PER_SOURCE);
		acc_evicted = 0;
		acc_evict_logged = now;
	}
}

/*
 * Room for one more connection from `sa`. While the table is less than half
 * full everyone is welcome (a proxy, or many pages behind one NAT, may open
 * hundreds at once). Past that, an address holding its share loses its oldest
 * undecided connection, and a full table loses its oldest.
 */
static void
acc_make_room(const struct sockaddr_storage *sa)
{
	int i, same = 0, oldest = -1, oldest_same = -1;

	for (i = 0; i < acc_npending; i++) {
		if (oldest < 0 || acc_pending[i].seq < acc_pending[oldest].seq)
			oldest = i;
		if (!acc_same_source(&acc_pending[i].sa, sa))
			continue;
		same++;
		if (oldest_same < 0 || acc_pending[i].seq < acc_pending[oldest_same].seq)
			oldest_same = i;
	}
	if (same >= ACC_MAX_PER_SOURCE && acc_npending >= ACC_MAX_PENDING / 2)
		acc_evict(oldest_same);
	else if (acc_npending >= ACC_MAX_PENDING)
		acc_evict(oldest);
}

/*
 * Accept what is waiting. A full table never stops accepting: silent
 * connections must not keep new clients waiting in the kernel's queue.
 */
static void
acc_accept(void)
{
	struct acc_conn nc;
	int k, fd;

	for (k = 0; k < ACC_ACCEPT_BATCH; k++) {
		nc.salen = sizeof(nc.sa);
		fd = accept4(acc_listen_fd, (struct sockaddr *)&nc.sa, &nc.salen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* The connection stays queued and the listener readable:
				 * rest it, or this thread would spin. */
				acc_listen_rest = clock_ms() + ACC_FULL_PAUSE_MS;
				if (acc_listen_rest - acc_emfile_logged >= ACC_DROP_LOG_MS) {
					log_warn("[API] accept (new connections wait)");
					acc_emfile_logged = acc_listen_rest;
				}
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("[API] accept");
			return;
		}
		acc_make_room(&nc.sa);
		nc.fd = fd;
		nc.deadline = clock_ms() + ACC_DEADLINE_MS;
		nc.recheck = 0;
		nc.seq = ++acc_seq;
		acc_pending[acc_npending++] = nc;
	}
}

static void *
acc_main(void *arg)
{
	static struct pollfd pfd[ACC_MAX_PENDING + 2];
	static int map[ACC_MAX_PENDING + 2];

	(void)arg;
	while (!acc_stopping) {
		long long now = clock_ms(), next = now + 1000;
		int n = 0, i, rc;

		pfd[n].fd = acc_wake_fd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		if (acc_listen_rest <= now) {
			pfd[n].fd = acc_listen_fd;
			pfd[n].events = POLLIN;
			map[n++] = -2;
		} else if (acc_listen_rest < next)
			next = acc_listen_rest;
		for (i = 0; i < acc_npending; i++) {
			struct acc_conn *c = &acc_pending[i];

			if (c->deadline < next)
				next = c->deadline;
			if (c->recheck > now) {
				if (c->recheck < next)
					next = c->recheck;
				continue;
			}
			pfd[n].fd = c->fd;
			pfd[n].events = POLLIN;
			map[n++] = i;
		}
		rc = poll(pfd, (nfds_t)n, (int)(next > now ? next - now : 0));
		if (rc < 0 && errno != EINTR) {
			log_warn("[API] poll");
			continue;
		}
		if (acc_stopping)
			break;
		/* Walk backwards so acc_drop's swap never moves an unvisited entry. */
		for (i = n - 1; i >= 0; i--) {
			if (map[i] < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			acc_decide(map[i]);
		}
		now = clock_ms();
		for (i = acc_npending - 1; i >= 0; i--) {
			if (acc_pending[i].recheck && acc_pending[i].recheck <= now) {
				acc_pending[i].recheck = 0;
				acc_decide(i);
			} else if (acc_pending[i].deadline <= now) {
				acc_abort(acc_pending[i].fd);
				acc_drop(i);
			}
		}
		for (i = 0; i < n; i++)
			if (map[i] == -2 && (pfd[i].revents & POLLIN))
				acc_accept();
		if (pfd[0].revents & POLLIN) {
			uint64_t v;
			if (read(acc_wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_warn("[API] eventfd");
		}
	}
	return NULL;
}

int
acceptor_start(const char *bind_addr, int port, acceptor_handoff http, void *arg)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[16];
	int one = 1, rc;

	acc_http = http;
	acc_http_arg = arg;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(bind_addr, portstr, &hints, &res)) != 0) {
		log_error("[API] bad bind address '%s': %s", bind_addr, gai_strerror(rc));
		return -1;
	}
	acc_listen_fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (acc_listen_fd < 0) {
		log_warn("[API] socket");
		goto err;
	}
	setsockopt(acc_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(acc_listen_fd, res->ai_addr, res->ai_addrlen) < 0) {
		log_warn("[API] bind %s:%d", bind_addr, port);
		goto err;
	}
	if (listen(acc_listen_fd, 1024) < 0) {
		log_warn("[API] listen");
		goto err;
	}
	if (getsockname(acc_listen_fd, (struct sockaddr *)&ss, &sl) == 0)
		acc_port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	if ((acc_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		log_warn("[API] eventfd");
		goto err;
	}
	freeaddrinfo(res);
	res = NULL;
	acc_stopping = 0;
	if (pthread_create(&acc_thread, NULL, acc_main, NULL) != 0) {
		log_error("[API] could not start the acceptor thread");
		goto err;
	}
	acc_running = 1;
	return 0;
err:
	if (res)
		freeaddrinfo(res);
	if (acc_listen_fd >= 0)
		close(acc_listen_fd);
	if (acc_wake_fd >= 0)
		close(acc_wake_fd);
	acc_listen_fd = acc_wake_fd = -1;
	return -1;
}

void
acceptor_stop(void)
{
	uint64_t one = 1;

	if (!acc_running)
		return;
	acc_stopping = 1;
	if (write(acc_wake_fd, &one, sizeof(one)) < 0)
		log_warn("[API] eventfd");
	pthread_join(acc_thread, NULL);
	acc_running = 0;
	for (int i = 0; i < acc_npending; i++)
		acc_abort(acc_pending[i].fd);
	acc_npending = 0;
	close(acc_listen_fd);
	close(acc_wake_fd);
	acc_listen_fd = acc_wake_fd = -1;
}
