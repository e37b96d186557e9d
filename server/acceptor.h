/*
 * acceptor.h: owns the listening socket of the one public port. A thread
 * accepts connections, peeks at the request line and hands each socket either
 * to the websocket gateway ("GET /ws") or to libmicrohttpd (everything else).
 */
#ifndef PM_ACCEPTOR_H
#define PM_ACCEPTOR_H

#include <stddef.h>
#include <sys/socket.h>

/* Takes ownership of fd in every case (closes it itself on failure). 0 or -1. */
typedef int (*acceptor_handoff)(int fd, const struct sockaddr *sa, socklen_t salen,
    void *arg);

/* Set the websocket hand-off before acceptor_start; without one, /ws goes to
 * the HTTP side too. */
void acceptor_set_ws(acceptor_handoff fn, void *arg);

/* Bind and listen on bind:port (port 0 picks one) and start the thread. */
int acceptor_start(const char *bind, int port, acceptor_handoff http, void *arg);
/* Stop the thread, close the listener and every undecided connection. */
void acceptor_stop(void);
int acceptor_port(void);

/* Pure: classify the first bytes of a connection. Returns 1 for the websocket
 * gateway, 0 for HTTP, -1 when more bytes are needed to tell. */
int acceptor_classify(const char *buf, size_t len);

void acceptor_format_addr(const struct sockaddr *sa, char *buf, size_t len);

#endif
