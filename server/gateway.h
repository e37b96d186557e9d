/*
 * gateway.h: the /ws websocket gateway on libwebsockets. One lws service
 * thread owns every lws object; the acceptor, the listener and the gateway's
 * database worker hand it work through gateway_post(), a mutex-protected inbox
 * drained in LWS_CALLBACK_EVENT_WAIT_CANCELLED.
 */
#ifndef PM_GATEWAY_H
#define PM_GATEWAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <jansson.h>

#include "server/config.h"
#include "server/auth.h"
#include "server/metrics.h"

#define GW_MAX_ROOMS 32		/* rooms named in one subscribe */
#define GW_TOKEN_MAX 1024	/* longest credential accepted on /ws */
#define GW_REPLAY_MAX 1000	/* events replayed per subscribe before refresh-required */

/* Checks a session token or pmk_ key and fills *out; 0 or -1. Called on the
 * gateway's worker thread (it may use db_conn()). */
typedef int (*gateway_authenticator)(const char *token, struct auth *out);

/* An agent's batch sent over its websocket ("sync"), run as the bulk request
 * it stands for (main.c sets the bulk handler: one code path for both). The
 * body is the bulk's JSON body; fills *status (the HTTP status the bulk
 * answered), *replayed and *response (its body, owned). 0, or -1 when it
 * could not run. On the gateway's worker thread. */
typedef int (*gateway_sync_fn)(const struct auth *who, const char *body, size_t len,
    const char *idem, unsigned *status, int *replayed, char **response);

/* An outgoing text frame, shared by every connection it is queued on. Built on
 * any thread; reference-counted only on the lws thread once posted. */
struct gw_msg {
	int refs;
	int is_event;
	size_t len;
	unsigned char data[];	/* LWS_PRE bytes of headroom, then len bytes */
};

/* One row of printer_events as two ready envelopes: delivered through the
 * branch room (NULL when the event has no branch) or the company room. */
struct gw_event {
	long long id;
	char company_id[UUID_TEXT_LEN + 1];
	char branch_id[UUID_TEXT_LEN + 1];	/* "" for company-level events */
	struct gw_msg *as_branch, *as_company;
};

enum gw_item_kind {
	GW_ITEM_ADOPT,		/* fd from the acceptor */
	GW_ITEM_EVENTS,		/* live events from the listener; head = highest id seen */
	GW_ITEM_AUTH,		/* worker: credential check done (ok, auth) */
	GW_ITEM_SUBSCRIBED,	/* worker: rooms checked (ok, msg = reply) */
	GW_ITEM_REPLAY,		/* worker: one replay round (events, more, head) */
	GW_ITEM_COMMAND,	/* listener: msg for the agent connections of agent_id */
	GW_ITEM_REVOKE,		/* listener: credential change `what` (auth_cache.h) */
	GW_ITEM_REPLY,		/* worker: msg for the one connection `serial` */
};

struct gw_item {
	enum gw_item_kind kind;
	struct gw_item *next;
	int fd;
	uint64_t serial;		/* which connection a worker answer is for */
	int ok, more;
	long long head;
	struct auth auth;
	struct gw_event *events;	/* owned array */
	size_t nevents;
	struct gw_msg *msg;
	char agent_id[UUID_TEXT_LEN + 1];
	char what[64];
};

/* Install before gateway_start; without one every /ws credential is refused. */
void gateway_set_authenticator(gateway_authenticator fn);
/* Install before gateway_start; without one an agent's "sync" is refused. */
void gateway_set_sync(gateway_sync_fn fn);

/* Start the lws context, its thread, the worker and the listener; register
 * the acceptor hand-off. Call before http_start. 0 or -1. */
int gateway_start(const struct server_config *cfg);
/* After http_stop: stop the listener, the lws thread and the worker. */
void gateway_stop(void);

/* Any thread: queue an item for the lws thread (takes ownership; frees it and
 * returns -1 when the gateway is not running). Events items block while the
 * inbox already holds too many events, so memory stays bounded. */
int gateway_post(struct gw_item *it);
void gw_item_free(struct gw_item *it);

/* Messages: a copy of s (len bytes; s NULL: len bytes to fill in, after
 * LWS_PRE). NULL on allocation failure. */
struct gw_msg *gw_msg_new(const char *s, size_t len, int is_event);
/* Serialize j (not stolen) into a message. */
struct gw_msg *gw_msg_json(const json_t *j);
/* Only before the message is posted, or on the lws thread. */
void gw_msg_unref(struct gw_msg *m);
void gw_events_free(struct gw_event *ev, size_t n);

/* Pure: the Origin rule. A browser's Origin is accepted when it is the
 * server's own ("http://" or "https://" + Host) or listed in `allowed`
 * (comma-separated, exact, case-insensitive). 1 allowed, 0 refused. */
int gateway_origin_allowed(const char *origin, const char *host, const char *allowed);

enum gw_room_kind { GW_ROOM_COMPANY = 1, GW_ROOM_BRANCH = 2 };
/* Pure: "company:<uuid>" or "branch:<uuid>" -> its kind, with the canonical
 * id written to id; -1 when malformed. */
int gateway_room_parse(const char *room, char id[UUID_TEXT_LEN + 1]);

/* Prometheus lines: clients, queued messages, overflows, deliveries. */
void gateway_metrics(struct metrics_buf *m);

#endif
