/*
 * printout.c: raw, IPP and CUPS printing (see printout.h). No IPP is encoded
 * here: libcups builds and sends the requests.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cups/cups.h>

#include "agent/printout.h"

/* A non-blocking connect to host:port; the fd, or -1 with the reason in msg. */
static int
printout_connect(const char *host, long port, char *msg, size_t msglen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int fd = -1, err = 0;

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
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(msg, msglen, "connect to %s:%ld: %s", host, port, strerror(err));
	return fd;
}

int
printout_raw(const char *host, long port, const void *data, size_t len, long timeout_ms,
    char *msg, size_t msglen)
{
	const unsigned char *p = data;
	struct pollfd pfd;
	size_t off = 0;
	ssize_t n;
	socklen_t sl;
	int fd, err = 0, rc = -1;

	if ((fd = printout_connect(host, port, msg, msglen)) < 0)
		return -1;
	/* Until everything is written: a connect that fails shows up as an
	 * error on the socket at the first poll. */
	for (;;) {
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
		if (off == len)
			break;
		n = send(fd, p + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			snprintf(msg, msglen, "send to %s:%ld: %s", host, port, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	snprintf(msg, msglen, "%zu bytes sent to %s:%ld", len, host, port);
	rc = 0;
out:
	close(fd);
	return rc;
}

/* One Print-Job on an open connection: the IPP status (cupsLastError) and
 * the response (caller ippDelete()s; NULL when there was none). */
static ipp_t *
printout_ipp_once(http_t *http, const char *uri, const char *resource, const char *title,
    const char *format, const void *data, size_t len, int copies)
{
	ipp_t *req = ippNewRequest(IPP_OP_PRINT_JOB), *resp = NULL;

	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, uri);
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL,
	    "printmaster");
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", NULL, title);
	ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", NULL,
	    format);
	if (copies > 1)
		ippAddInteger(req, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", copies);
	/* cupsSendRequest's length is the whole body (the IPP request and the
	 * document), as in ipptool; it takes ownership of nothing. */
	if (cupsSendRequest(http, req, resource, ippLength(req) + len) == HTTP_STATUS_CONTINUE &&
	    cupsWriteRequestData(http, data, len) == HTTP_STATUS_CONTINUE)
		resp = cupsGetResponse(http, resource);
	ippDelete(req);
	return resp;
}

int
printout_ipp(const char *uri, const char *title, const char *format, const void *data,
    size_t len, int copies, long timeout_ms, char *msg, size_t msglen)
{
	char scheme[16], userpass[256], host[256], resource[1024];
	struct timespec start, now;
	ipp_t *resp = NULL;
	http_t *http;
	ipp_attribute_t *job;
	int port, rc = -1;

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
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* A printer busy with another job answers server-error-busy: it takes
	 * this one when that is done, so ask again (every 250 ms) for as long as
	 * the timeout allows. */
	for (;;) {
		ippDelete(resp);
		resp = printout_ipp_once(http, uri, resource[0] ? resource : "/", title, format,
		    data, len, copies);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (cupsLastError() != IPP_STATUS_ERROR_BUSY ||
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    timeout_ms)
			break;
		poll(NULL, 0, 250);
	}
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
printout_cups(const char *queue, const char *title, const char *format, const void *data,
    size_t len, int copies, char *msg, size_t msglen)
{
	cups_option_t *opts = NULL;
	char ncopies[16];
	int nopts = 0, id;

	snprintf(ncopies, sizeof(ncopies), "%d", copies);
	if (copies > 1)
		nopts = cupsAddOption("copies", ncopies, nopts, &opts);
	id = cupsCreateJob(CUPS_HTTP_DEFAULT, queue, title, nopts, opts);
	cupsFreeOptions(nopts, opts);
	if (id <= 0) {
		snprintf(msg, msglen, "CUPS queue %s refused the job: %s", queue,
		    cupsLastErrorString());
		return -1;
	}
	if (cupsStartDocument(CUPS_HTTP_DEFAULT, queue, id, title, format, 1) !=
	    HTTP_STATUS_CONTINUE ||
	    cupsWriteRequestData(CUPS_HTTP_DEFAULT, data, len) != HTTP_STATUS_CONTINUE ||
	    cupsFinishDocument(CUPS_HTTP_DEFAULT, queue) != IPP_STATUS_OK) {
		snprintf(msg, msglen, "CUPS queue %s: job %d failed: %s", queue, id,
		    cupsLastErrorString());
		cupsCancelJob(queue, id);
		return -1;
	}
	snprintf(msg, msglen, "CUPS job %d queued on %s", id, queue);
	return 0;
}
