/*
 * gateway_conn.h: the gateway's connections, shared by its files (gateway.c,
 * gateway_fanout.c, gateway_agent.c), not a public face: the registry (list
 * and serial hash), each one's bounded queue, and carrying out what the state
 * machine (gateway_state.h) decided. Not the handshake or lws callbacks
 * (gateway.c), nor the fan-out order (gateway_fanout.c). lws thread only,
 * except the counters, which any thread may read.
 */
#ifndef PM_GATEWAY_CONN_H
#define PM_GATEWAY_CONN_H

#include <stdatomic.h>
#include <stdint.h>
#include <libwebsockets.h>

#include "server/gateway.h"
#include "server/gateway_state.h"
#include "server/gw_queue.h"

#define GW_HOLD_MS 1000		/* live events wait this long for a first subscribe */

/*
 * Per-connection data, allocated by lws (per_session_data_size) for every
 * websocket, so it holds only what an idle connection needs: the credential
 * goes straight from the handshake headers into the worker's job, and room
 * lists, queue slots and receive buffers are allocated to their size.
 */
struct gw_conn {
	struct lws *wsi;
	uint64_t serial;		/* 0 until established, and again once closed */
	struct gw_conn *prev, *next;
	struct gw_conn *hnext;		/* gw_conn_find's hash chain */
	struct gw_state st;
	long long stall_since;	/* ms: when its full queue held up the pump; 0 = not */
	int ping_due;		/* gw_sweep wants a ping written */
	long long last_rx;	/* ms: the client's last data frame or pong */
	long long ping_at;	/* ms: our last ping to it */
	struct gw_queue q;	/* grows on demand, at most ws_queue_max */
	char *rx;
	size_t rxlen;
};

/* Counters for /metrics: any thread reads, the lws thread writes. */
struct gw_counters {
	atomic_long clients, queued;
	atomic_ulong overflows, delivered, refused;
};
extern struct gw_counters gw_counters;
/* The configuration gateway_start was given. */
extern const struct server_config *gw_cfg;

/* gateway.c: n events posted to the inbox have been queued to clients (the
 * listener may post more). */
void gw_inbox_release(size_t n);

/* The registry. gw_conn_add gives c its serial; gw_conn_first and ->next walk
 * every established connection. gw_conns_reset forgets the hash (at stop). */
void gw_conn_add(struct gw_conn *c);
void gw_conn_remove(struct gw_conn *c);
struct gw_conn *gw_conn_find(uint64_t serial);
struct gw_conn *gw_conn_first(void);
void gw_conns_reset(void);

/* The connection's credential as a struct auth (e-mail ""). */
void gw_conn_auth(const struct gw_conn *c, struct auth *a);
/* What the state machine needs to know of the queue and the company head. */
void gw_conn_env(const struct gw_conn *c, struct gw_env *env);
/* Carry out acts in order (and clear them). An action that closes the
 * connection (its queue overflowed) ends the list. */
void gw_conn_run(struct gw_conn *c, struct gw_actions *acts);

/* Queue m (the queue takes a reference). 0, or -1 when it could not: the
 * connection overflowed and is closing. */
int gw_conn_enqueue(struct gw_conn *c, struct gw_msg *m);
/* Queue ev's envelope when it is for c and not sent yet (live fan-out). */
void gw_conn_deliver(struct gw_conn *c, const struct gw_event *ev);
/* The queue is full and the client reads too little: overflow it. */
void gw_conn_overflow(struct gw_conn *c);
/* Forget everything queued. */
void gw_conn_drop_queue(struct gw_conn *c);

/* The worker's answers for c: the credential check (it->ok, it->auth, it->head)
 * and a replay round (it->ok, events, more, head). */
void gw_conn_on_auth(struct gw_conn *c, const struct gw_item *it);
void gw_conn_on_replay(struct gw_conn *c, const struct gw_item *it);
/* An agent's credential was accepted for a connection that is gone (or the
 * gateway is stopping): undo the presence the check made. */
void gw_conn_agent_gone(const struct gw_item *it);
/* True when a credential change `what` (auth_cache.h) covers c's credential. */
int gw_conn_covered(const struct gw_conn *c, const char *what);
/* Revoked, or the session ended: close with 4401, nothing more is sent. */
void gw_conn_revoke(struct gw_conn *c, const char *reason);

#endif
