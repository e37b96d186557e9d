/*
 * testprint.c: test pages (see testprint.h). IPP goes through libcups
 * (cupsSendRequest / cupsWriteRequestData / cupsGetResponse), so no IPP is
 * encoded here; the raw path writes a few ESC/POS bytes to the printer's
 * socket, which is only done because a person asked for a test print. Not here:
 * receiving the command (ws_client.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cups/cups.h>

#include "common/clock.h"
#include "log.h"
#include "agent/testprint.h"

/* Printable ASCII only: a receipt printer's code page is unknown. */
static void
testprint_ascii(const char *in, char *out, size_t len)
{
	size_t i = 0;

	for (; in && *in && i + 1 < len; in++)
		out[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[i] = '\0';
}

size_t
testprint_escpos_ticket(const char *name, const char *origin, char *buf, size_t len)
{
	char when[CLOCK_ISO_LEN], n[64], o[64];
	int w;

	clock_iso8601(time(NULL), when);
	testprint_ascii(name, n, sizeof(n));
	testprint_ascii(origin, o, sizeof(o));
	/* ESC @ (reset), ESC a 1 (centre), ESC E 1/0 (bold), text, ESC d 4 (feed),
	 * GS V 66 0 (feed and partial cut). */
	w = snprintf(buf, len, "\x1b@\x1b" "a\x01\x1b" "E\x01printmaster test print\n"
	    "\x1b" "E%c%s\n%s\nfrom %s\n\x1b" "d\x04\x1dV%c%c", 0, n, when, o, 66, 0);
	if (w < 0)
		return 0;
	/* snprintf stops at the embedded NULs in the format only for %s, not
	 * for %c, so the length it reports is the ticket's length. */
	return (size_t)w < len ? (size_t)w : len - 1;
}

static int
testprint_raw(const char *host, long port, const char *name, const char *origin,
    long timeout_ms, char *msg, size_t msglen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16], ticket[512];
	struct pollfd pfd;
	size_t len, off = 0;
	ssize_t n;
	socklen_t sl;
	int fd = -1, err = 0, rc = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%ld", port);
	if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL) {
		snprintf(msg, msglen, "cannot resolve %s", host);
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		snprintf(msg, msglen, "connect to %s:%ld: %s", host, port, strerror(err));
		goto out;
	}
	len = testprint_escpos_ticket(name, origin, ticket, sizeof(ticket));
	while (off < len) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)timeout_ms) <= 0) {
			snprintf(msg, msglen, "%s:%ld: timed out", host, port);
			goto out;
		}
		sl = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err != 0) {
			snprintf(msg, msglen, "connect to %s:%ld: %s", host, port, strerror(err));
			goto out;
		}
		n = send(fd, ticket + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			snprintf(msg, msglen, "send to %s:%ld: %s", host, port, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	snprintf(msg, msglen, "ESC/POS test ticket sent to %s:%ld (%zu bytes)", host, port, len);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

static int
testprint_ipp(const char *uri, const char *name, const char *origin, long timeout_ms,
    char *msg, size_t msglen)
{
	char scheme[16], userpass[256], host[256], resource[1024], when[CLOCK_ISO_LEN],
	    page[1024];
	ipp_t *req, *resp = NULL;
	http_t *http = NULL;
	ipp_attribute_t *job;
	int port, plen, rc = -1;

	if (httpSeparateURI(HTTP_URI_CODING_ALL, uri, scheme, sizeof(scheme), userpass,
	    sizeof(userpass), host, sizeof(host), &port, resource, sizeof(resource)) <
	    HTTP_URI_STATUS_OK) {
		snprintf(msg, msglen, "bad printer URI");
		return -1;
	}
	http = httpConnect2(host, port, NULL, AF_UNSPEC, strcmp(scheme, "ipps") == 0 ?
	    HTTP_ENCRYPTION_ALWAYS : HTTP_ENCRYPTION_IF_REQUESTED, 1, (int)timeout_ms, NULL);
	if (http == NULL) {
		snprintf(msg, msglen, "cannot connect to %s:%d", host, port);
		return -1;
	}
	httpSetTimeout(http, (double)timeout_ms / 1000.0, NULL, NULL);
	clock_iso8601(time(NULL), when);
	plen = snprintf(page, sizeof(page), "printmaster test print\n\nPrinter: %s\nTime: %s\n"
	    "From: %s\n", name ? name : "", when, origin);
	if (plen < 0 || (size_t)plen >= sizeof(page))
		plen = (int)strlen(page);

	req = ippNewRequest(IPP_OP_PRINT_JOB);
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
	    "printmaster");
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", NULL,
	    "printmaster test print");
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", NULL,
	    "text/plain");
	/* cupsSendRequest's length is the whole body (the IPP request and the
	 * document), as in ipptool; it takes ownership of nothing. */
	if (cupsSendRequest(http, req, resource[0] ? resource : "/", ippLength(req) +
	    (size_t)plen) ==
	    HTTP_STATUS_CONTINUE &&
	    cupsWriteRequestData(http, page, (size_t)plen) == HTTP_STATUS_CONTINUE)
		resp = cupsGetResponse(http, resource[0] ? resource : "/");
	ippDelete(req);
	if (resp == NULL || cupsLastError() > IPP_STATUS_OK_CONFLICTING) {
		snprintf(msg, msglen, "IPP Print-Job refused: %s", cupsLastErrorString());
		goto out;
	}
	job = ippFindAttribute(resp, "job-id", IPP_TAG_INTEGER);
	snprintf(msg, msglen, "IPP job %d accepted by %s", job ? ippGetInteger(job, 0) : 0, uri);
	rc = 0;
out:
	ippDelete(resp);
	httpClose(http);
	return rc;
}

int
testprint_send(const json_t *printer, const char *origin, long timeout_ms, char *msg,
    size_t msglen)
{
	const char *uri = json_string_value(json_object_get(printer, "uri"));
	const char *proto = json_string_value(json_object_get(printer, "protocol"));
	const char *addr = json_string_value(json_object_get(printer, "address"));
	const char *name = json_string_value(json_object_get(printer, "name"));
	long port = (long)json_integer_value(json_object_get(printer, "port"));
	char built[512];

	if (uri && (strncmp(uri, "ipp://", 6) == 0 || strncmp(uri, "ipps://", 7) == 0))
		return testprint_ipp(uri, name, origin, timeout_ms, msg, msglen);
	if (proto && (strcmp(proto, "ipp") == 0 || strcmp(proto, "ipps") == 0) && addr) {
		snprintf(built, sizeof(built), "%s://%s:%ld/ipp/print", proto, addr,
		    port > 0 ? port : 631);
		return testprint_ipp(built, name, origin, timeout_ms, msg, msglen);
	}
	if (addr && port > 0 && (proto == NULL || strcmp(proto, "raw") == 0))
		return testprint_raw(addr, port, name, origin, timeout_ms, msg, msglen);
	snprintf(msg, msglen, "test print is supported for IPP and raw (port 9100) printers");
	return -1;
}
