/*
 * ws_client.h: the agent's live connection to the server's gateway
 * (libwebsockets client on its own service thread). Sends hello and stats,
 * receives the server's commands (scan, test-print) and sends their results.
 * Reconnects with backoff. The sync loop talks to it only through the
 * functions below, which are safe from any thread; lws objects are touched
 * by the service thread alone (commands cross over in mutex-held queues plus
 * lws_cancel_service, replies in the other direction plus a wake pipe).
 */
#ifndef PM_WS_CLIENT_H
#define PM_WS_CLIENT_H

#include <signal.h>

#include <jansson.h>

#include "agent/agent_config.h"
#include "agent/stats.h"

#define WS_CLIENT_MSG_MAX (32u << 20)	/* bytes of one incoming message (a print
					 * job's content travels in one) */
#define WS_CLIENT_RX_BUF (256u << 10)	/* lws's receive buffer; messages are
					 * reassembled past it */
#define WS_CLIENT_QUEUE_MAX 256		/* messages waiting in either direction */
#define WS_CLIENT_RESULTS_MAX 16	/* sync-results kept for their waiters */

struct ws_client;

/*
 * Start connecting to <server_url with ws(s)>/ws with the agent key. A byte is
 * written to `wake_fd` whenever a command arrives or the connection comes up
 * or goes down. `st` is updated with the connection state. Blocks SIGINT and
 * SIGTERM in the service thread so signals reach the caller's thread.
 * Returns NULL (logged) when the URL is unusable or lws cannot start.
 */
struct ws_client *ws_client_start(const struct agent_config *cfg, struct stats *st,
    int wake_fd);
/* Close the connection, join the thread, free everything. NULL is a no-op. */
void ws_client_stop(struct ws_client *w);

/* 1 while the websocket is open and the server has welcomed us. */
int ws_client_connected(struct ws_client *w);
/* Queue a message (consumed, whatever happens). Returns 0, or -1 when the
 * connection is down or the queue is full. */
int ws_client_send(struct ws_client *w, json_t *msg);
/* The oldest command from the server, a new reference, or NULL. The message
 * was checked: "command" and "requestId" are strings. */
json_t *ws_client_next_command(struct ws_client *w);

/*
 * Wait up to `timeout_ms` for the answer to a "sync" message for batch
 * `idem_key` (its idempotencyKey) and return it, a new reference; results for
 * other keys stay for their own waiters (at most WS_CLIENT_RESULTS_MAX are
 * kept, the oldest dropped first). The message was checked: "idempotencyKey"
 * is a string, "status" an integer in 100..599. NULL, with *why saying which,
 * when the time ran out, the connection is down (or goes down), or *stop (may
 * be NULL) became non-zero. Any thread; several may wait at once.
 */
enum {
	WS_CLIENT_WAIT_TIMEOUT = 1,
	WS_CLIENT_WAIT_DOWN,
	WS_CLIENT_WAIT_STOPPED,
};
json_t *ws_client_wait_sync_result(struct ws_client *w, const char *idem_key, long timeout_ms,
    volatile sig_atomic_t *stop, int *why);

/* Print job messages ("job", "job-ack") go to `fn`, called on the service
 * thread with the message (borrowed; take a reference to keep it). Any
 * thread; fn NULL drops them. */
typedef void (*ws_client_sink)(const json_t *msg, void *arg);
void ws_client_set_sink(struct ws_client *w, ws_client_sink fn, void *arg);

/* Pure: turn http(s)://host[:port][/prefix] into ws(s)://host:port/prefix/ws
 * pieces. Returns 0 or -1. */
int ws_client_parse_url(const char *server_url, char *host, size_t hostlen, int *port,
    char *path, size_t pathlen, int *tls);

#endif
