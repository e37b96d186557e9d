/*
 * gateway_state.h: one websocket connection's state machine, pure: it takes
 * what happens to the connection (the credential check's answer, a client
 * message, the worker's room check and replay rounds, the hold timer, a full
 * queue, a revocation) and returns the actions the lws glue must carry out,
 * in order (queue this message, ask the worker for that, arm the timer,
 * close). It owns the rules of welcome, hold, subscribe, replay and
 * refresh-required; not sockets, queues, threads or the database.
 *
 * The promise it keeps: every event of the connection's rooms after its
 * starting point is queued once, in id order; what cannot be delivered is
 * replaced by one printer:refresh-required.
 */
#ifndef PM_GATEWAY_STATE_H
#define PM_GATEWAY_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "server/auth.h"
#include "server/gateway.h"

#define GW_CLOSE_UNAUTHORIZED 4401
#define GW_CLOSE_TRY_LATER 1013
#define GW_MAX_DEPTH 8		/* nesting of a client message */
#define GW_OVERFLOW_CLOSE_S 5	/* a closing slow client gets this long to read */

enum gw_phase {
	GW_PENDING = 0,		/* waiting for the credential check */
	GW_READY,		/* live events flow */
	GW_REPLAYING,		/* catching up from since (or held); live events wait in the log */
	GW_CLOSING,		/* flush what is queued, then close; nothing more is queued */
};

/* What a connection keeps of its credential: struct auth without the e-mail,
 * which nothing here uses (and which is two thirds of struct auth). */
struct gw_ident {
	enum auth_kind kind;
	enum auth_role role;
	char company_id[UUID_TEXT_LEN + 1];
	char branch_id[UUID_TEXT_LEN + 1];	/* "" = every branch of the company */
	char principal_id[UUID_TEXT_LEN + 1];
	long long expires;		/* a session's end, Unix seconds; 0 = none */
};

/* "viewer", "admin", "agent": the role as the welcome names it. */
const char *gw_role_name(enum auth_role role);
/* The identity back as a struct auth (e-mail ""), for the worker's jobs. */
void gw_ident_auth(const struct gw_ident *id, struct auth *a);

/* A set of rooms of the credential's company. */
struct gw_rooms {
	int company;				/* company:<id> */
	int n;					/* branch rooms */
	char (*branch)[UUID_TEXT_LEN + 1];	/* n ids, owned */
};

/* All zero is a fresh connection (GW_PENDING). Only gw_state_* change it. */
struct gw_state {
	enum gw_phase phase;
	struct gw_ident auth;
	struct gw_rooms rooms;		/* joined: live events come through these */
	struct gw_rooms asked;		/* a subscribe waiting for the worker's check */
	struct gw_rooms before;		/* replaced by the last subscribe: its replay skips
					 * what they delivered live already */
	int sub_pending;		/* asked is with the worker */
	int has_since;			/* the pending subscribe named since */
	long long since;
	int held;			/* welcomed, no message yet: no live events */
	long long last_sent;		/* highest event id queued (or skipped) */
	long long live_from;		/* every event of our rooms after it has been queued */
	long long replay_from;		/* the replay's starting point */
	long long skip_from, skip_to;	/* replay: (from, to] went out live through before */
	int replay_budget;		/* events a replay may still queue */
	int replay_wait;		/* a round waits for the queue to drain */
	json_t *deferred;		/* a subscribe that came during a replay, run after it */
	int close_code;
	const char *close_reason;
};

/* What the glue knows that the state does not: the company's newest event id
 * seen on this instance, and the connection's queue. */
struct gw_env {
	long long head;
	uint32_t queued, queue_max;
};

enum gw_act_kind {
	GW_ACT_SEND,		/* queue msg */
	GW_ACT_REFRESH,		/* queue printer:refresh-required: reason, count = a, id = b */
	GW_ACT_SUBSCRIBE,	/* ask the worker whether state.asked may be joined;
				 * answer with gw_state_subscribed (or, when it cannot be
				 * asked, gw_state_subscribe_failed) */
	GW_ACT_REPLAY,		/* ask the worker for up to b events of state.rooms after a;
				 * answer with gw_state_replay_* */
	GW_ACT_HOLD,		/* arm the hold timer (GW_HOLD_MS): gw_state_release */
	GW_ACT_UNHOLD,		/* disarm it */
	GW_ACT_DROP,		/* forget everything queued */
	GW_ACT_CLOSE,		/* close once the queue is written: code, reason; a =
				 * seconds to wait at most (0: no limit) */
	GW_ACT_MESSAGE,		/* a message for gateway_agent: type, msg */
};

struct gw_action {
	enum gw_act_kind kind;
	json_t *msg;		/* SEND, MESSAGE: owned by the list */
	const char *type;	/* MESSAGE: points into msg */
	const char *reason;	/* REFRESH, CLOSE: a static string */
	int code;		/* CLOSE */
	long long a, b;
};

#define GW_ACTIONS_MAX 12	/* the longest chain one call can make */

struct gw_actions {
	size_t n;
	struct gw_action a[GW_ACTIONS_MAX];
};

/* Release what the actions still own; n becomes 0. */
void gw_actions_clear(struct gw_actions *out);
/* Free what the state owns; it becomes all zero again. */
void gw_state_free(struct gw_state *st);

/* The credential check's answer. ok: fill the identity, join the rooms it
 * allows, welcome, hold. Not ok: close with 4401. Only in GW_PENDING. */
void gw_state_auth(struct gw_state *st, int ok, const struct auth *a,
    const struct gw_env *env, struct gw_actions *out);

/* One client message (raw bytes: depth-checked and parsed here). */
void gw_state_message(struct gw_state *st, const char *buf, size_t len,
    const struct gw_env *env, struct gw_actions *out);

/* The hold ended (GW_HOLD_MS passed): catch up by replay from the welcome. */
void gw_state_release(struct gw_state *st, const struct gw_env *env,
    struct gw_actions *out);

/* The worker's room check: 1 allowed, 0 forbidden, -1 database unavailable. */
void gw_state_subscribed(struct gw_state *st, int ok, const struct gw_env *env,
    struct gw_actions *out);
/* GW_ACT_SUBSCRIBE could not be handed to the worker. */
void gw_state_subscribe_failed(struct gw_state *st, struct gw_actions *out);

/*
 * A replay round. While the state is GW_REPLAYING, each row in order goes
 * through gw_state_replay_route (the envelope to queue, if any); then
 * gw_state_replay_done with the number of rows, whether the worker has more,
 * and its snapshot's head. A failed round (or a GW_ACT_REPLAY that could not
 * be handed over) is gw_state_replay_failed: refresh-required, then live.
 */
enum gw_via { GW_VIA_NONE = 0, GW_VIA_BRANCH, GW_VIA_COMPANY };
enum gw_via gw_state_replay_route(struct gw_state *st, const struct gw_event *ev);
void gw_state_replay_done(struct gw_state *st, size_t rows, int more, long long head,
    const struct gw_env *env, struct gw_actions *out);
void gw_state_replay_failed(struct gw_state *st, const struct gw_env *env,
    struct gw_actions *out);

/* The queue has room again: a waiting replay round goes on. */
void gw_state_drained(struct gw_state *st, const struct gw_env *env,
    struct gw_actions *out);

/* Live fan-out. The envelope of ev for this connection, or GW_VIA_NONE when
 * it is not for it or went out already; no change. Then gw_state_sent once
 * it is queued. */
enum gw_via gw_state_route(const struct gw_state *st, const struct gw_event *ev);
void gw_state_sent(struct gw_state *st, long long id);

/* The queue is full: drop it, one refresh-required, close (1013). */
void gw_state_overflow(struct gw_state *st, const struct gw_env *env,
    struct gw_actions *out);
/* The credential was revoked or the session ended: drop the queue, close
 * with 4401 and reason. */
void gw_state_revoke(struct gw_state *st, const char *reason, struct gw_actions *out);
/* Close once the queue is written (reason: a static string). */
void gw_state_close(struct gw_state *st, int code, const char *reason,
    struct gw_actions *out);

#endif
