/*
 * gateway_state.c: the connection state machine of gateway_state.h. Pure: no
 * lws, no locks, no clock; every effect leaves as an action, so the unit test
 * can drive each transition and read exactly what the client would get. Not
 * here: queues, sockets, threads (gateway_conn.c, gateway.c).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonlimit.h"
#include "server/gateway_state.h"

static const char *const gw_roles[] = { "none", "viewer", "admin", "agent" };

static struct gw_action *
gw_act(struct gw_actions *out, enum gw_act_kind kind)
{
	struct gw_action *a;

	/* Each call makes a bounded chain (see GW_ACTIONS_MAX). */
	assert(out->n < GW_ACTIONS_MAX);
	a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

/* Queue j (stolen); nothing when j is NULL (out of memory: not sent). */
static void
gw_send(struct gw_actions *out, json_t *j)
{
	if (j)
		gw_act(out, GW_ACT_SEND)->msg = j;
}

static void
gw_error(struct gw_actions *out, const char *code, const char *message)
{
	gw_send(out, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code,
	    "message", message));
}

static void
gw_refresh(struct gw_actions *out, const char *reason, long long count, long long id)
{
	struct gw_action *a = gw_act(out, GW_ACT_REFRESH);

	a->reason = reason;
	a->a = count;
	a->b = id;
}

const char *
gw_role_name(enum auth_role role)
{
	return gw_roles[role];
}

void
gw_ident_auth(const struct gw_ident *id, struct auth *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = id->kind;
	a->role = id->role;
	memcpy(a->company_id, id->company_id, sizeof(a->company_id));
	memcpy(a->branch_id, id->branch_id, sizeof(a->branch_id));
	memcpy(a->principal_id, id->principal_id, sizeof(a->principal_id));
}

void
gw_actions_clear(struct gw_actions *out)
{
	for (size_t i = 0; i < out->n; i++)
		json_decref(out->a[i].msg);
	out->n = 0;
}

static void
gw_rooms_clear(struct gw_rooms *r)
{
	free(r->branch);
	memset(r, 0, sizeof(*r));
}

void
gw_state_free(struct gw_state *st)
{
	gw_rooms_clear(&st->rooms);
	gw_rooms_clear(&st->asked);
	gw_rooms_clear(&st->before);
	json_decref(st->deferred);
	memset(st, 0, sizeof(*st));
}

static json_t *
gw_rooms_json(const struct gw_state *st)
{
	json_t *a = json_array();
	char room[64];

	if (st->rooms.company) {
		snprintf(room, sizeof(room), "company:%s", st->auth.company_id);
		json_array_append_new(a, json_string(room));
	}
	for (int i = 0; i < st->rooms.n; i++) {
		snprintf(room, sizeof(room), "branch:%s", st->rooms.branch[i]);
		json_array_append_new(a, json_string(room));
	}
	return a;
}

void
gw_state_close(struct gw_state *st, int code, const char *reason, struct gw_actions *out)
{
	struct gw_action *a;

	st->phase = GW_CLOSING;
	st->close_code = code;
	st->close_reason = reason;
	a = gw_act(out, GW_ACT_CLOSE);
	a->code = code;
	a->reason = reason;
}

void
gw_state_auth(struct gw_state *st, int ok, const struct auth *a, const struct gw_env *env,
    struct gw_actions *out)
{
	if (st->phase != GW_PENDING)
		return;
	if (!ok) {
		gw_state_close(st, GW_CLOSE_UNAUTHORIZED, "unauthorized", out);
		return;
	}
	st->auth.kind = a->kind;
	st->auth.role = a->role;
	memcpy(st->auth.company_id, a->company_id, sizeof(st->auth.company_id));
	memcpy(st->auth.branch_id, a->branch_id, sizeof(st->auth.branch_id));
	memcpy(st->auth.principal_id, a->principal_id, sizeof(st->auth.principal_id));
	st->auth.expires = a->expires;
	if (st->auth.branch_id[0]) {
		if ((st->rooms.branch = malloc(sizeof(*st->rooms.branch))) == NULL) {
			gw_state_close(st, GW_CLOSE_TRY_LATER, "server busy", out);
			return;
		}
		st->rooms.n = 1;
		memcpy(st->rooms.branch[0], st->auth.branch_id, sizeof(st->rooms.branch[0]));
	} else {
		st->rooms.company = 1;
	}
	/* Held: no live event before the client's first message (or the timer),
	 * then a replay from here; see gw_state_release. */
	st->last_sent = st->live_from = env->head;
	st->phase = GW_REPLAYING;
	st->held = 1;
	gw_act(out, GW_ACT_HOLD);
	gw_send(out, json_pack("{s:s,s:o,s:I,s:s}", "type", "welcome", "rooms",
	    gw_rooms_json(st), "lastEventId", (json_int_t)st->last_sent, "role",
	    gw_role_name(st->auth.role)));
}

/* Ask for the next replay round, or wait for the queue when it has too little
 * room: rounds of at least half a queue, or of what the budget has left. */
static void
gw_replay_next(struct gw_state *st, const struct gw_env *env, struct gw_actions *out)
{
	int room = (int)env->queue_max - (int)env->queued - 1;
	int n = room < st->replay_budget ? room : st->replay_budget;
	struct gw_action *a;

	if (n <= 0 || (n < st->replay_budget && room < (int)env->queue_max / 2)) {
		st->replay_wait = 1;	/* gw_state_drained goes on */
		return;
	}
	st->replay_wait = 0;
	a = gw_act(out, GW_ACT_REPLAY);
	a->a = st->last_sent;
	a->b = n;
}

static void
gw_replay_start(struct gw_state *st, long long since, const struct gw_env *env,
    struct gw_actions *out)
{
	st->phase = GW_REPLAYING;
	st->skip_from = st->skip_to = 0;
	st->last_sent = st->replay_from = since;
	st->replay_budget = GW_REPLAY_MAX;
	gw_replay_next(st, env, out);
}

static void gw_subscribe(struct gw_state *st, const json_t *msg, struct gw_actions *out);

/* Live again: the replay's old rooms are done with; a subscribe that waited
 * for the replay runs now. */
static void
gw_ready(struct gw_state *st, struct gw_actions *out)
{
	json_t *msg = st->deferred;

	st->phase = GW_READY;
	gw_rooms_clear(&st->before);
	st->deferred = NULL;
	if (msg)
		gw_subscribe(st, msg, out);
	json_decref(msg);
}

void
gw_state_release(struct gw_state *st, const struct gw_env *env, struct gw_actions *out)
{
	if (!st->held || st->sub_pending || st->phase == GW_CLOSING)
		return;		/* a pending subscribe releases it */
	st->held = 0;
	gw_act(out, GW_ACT_UNHOLD);
	gw_replay_start(st, st->last_sent, env, out);
}

/* One room name against the credential into st->asked: 0, -1 malformed, -2
 * outside the credential's scope. */
static int
gw_ask_room(struct gw_state *st, const char *room)
{
	char id[UUID_TEXT_LEN + 1];
	int kind = gateway_room_parse(room, id);

	if (kind == GW_ROOM_COMPANY) {
		if (strcmp(id, st->auth.company_id) != 0 || st->auth.branch_id[0])
			return -2;
		st->asked.company = 1;
		return 0;
	}
	if (kind != GW_ROOM_BRANCH)
		return -1;
	if (st->auth.branch_id[0] && strcmp(id, st->auth.branch_id) != 0)
		return -2;
	for (int i = 0; i < st->asked.n; i++)
		if (strcmp(st->asked.branch[i], id) == 0)
			return 0;
	memcpy(st->asked.branch[st->asked.n++], id, sizeof(id));
	return 0;
}

static void
gw_subscribe(struct gw_state *st, const json_t *msg, struct gw_actions *out)
{
	json_t *rooms = json_object_get(msg, "rooms"), *since = json_object_get(msg, "since"), *v;
	size_t i;

	if (json_is_null(rooms) || (json_is_array(rooms) && json_array_size(rooms) == 0))
		rooms = NULL;	/* the same as leaving it out: keep the rooms */
	if (st->sub_pending) {
		gw_error(out, "busy", "the previous subscribe is still being answered");
		return;
	}
	if (st->phase == GW_REPLAYING && !st->held) {
		/* After the replay, in order; only the latest one waits. */
		json_decref(st->deferred);
		st->deferred = json_deep_copy(msg);
		return;
	}
	if ((rooms && (!json_is_array(rooms) || json_array_size(rooms) > GW_MAX_ROOMS)) ||
	    (since && !json_is_null(since) &&
	    (!json_is_integer(since) || json_integer_value(since) < 0))) {
		gw_error(out, "bad_request", "rooms must be an array of at most 32 room "
		    "names; since a non-negative event id");
		return;
	}
	gw_rooms_clear(&st->asked);
	if ((st->asked.branch = malloc(GW_MAX_ROOMS * sizeof(*st->asked.branch))) == NULL) {
		gw_state_subscribe_failed(st, out);
		return;
	}
	if (!rooms) {
		st->asked.company = st->rooms.company;
		st->asked.n = st->rooms.n;
		if (st->rooms.n > 0)
			memcpy(st->asked.branch, st->rooms.branch,
			    (size_t)st->rooms.n * sizeof(*st->rooms.branch));
	}
	json_array_foreach(rooms, i, v) {
		int rc = json_is_string(v) ? gw_ask_room(st, json_string_value(v)) : -1;

		if (rc < 0) {
			gw_rooms_clear(&st->asked);
			if (rc == -1)
				gw_error(out, "bad_request", "a room is company:<id> or branch:<id>");
			else
				gw_error(out, "forbidden", "a room is outside the credential's scope");
			return;
		}
	}
	st->has_since = since && json_is_integer(since);
	st->since = st->has_since ? (long long)json_integer_value(since) : 0;
	st->sub_pending = 1;
	gw_act(out, GW_ACT_SUBSCRIBE);
}

void
gw_state_subscribe_failed(struct gw_state *st, struct gw_actions *out)
{
	st->sub_pending = 0;
	gw_rooms_clear(&st->asked);
	gw_error(out, "unavailable", "the server is busy; try again");
}

void
gw_state_subscribed(struct gw_state *st, int ok, const struct gw_env *env,
    struct gw_actions *out)
{
	struct gw_rooms old;
	char (*fit)[UUID_TEXT_LEN + 1];

	if (!st->sub_pending || st->phase == GW_CLOSING)
		return;
	st->sub_pending = 0;
	if (ok <= 0) {
		gw_rooms_clear(&st->asked);
		gw_state_release(st, env, out);	/* refused, but live events flow anyway */
		gw_error(out, ok < 0 ? "unavailable" : "forbidden", ok < 0 ?
		    "the database is unavailable; try again" :
		    "a room is outside the credential's scope");
		return;
	}
	/* The asked rooms become ours; the replaced ones stay in before, so a
	 * replay can skip what they delivered live already. */
	old = st->rooms;
	st->rooms = st->asked;
	memset(&st->asked, 0, sizeof(st->asked));
	gw_rooms_clear(&st->before);
	st->before = old;
	/* Asked into GW_MAX_ROOMS slots: keep only what is used. */
	if (st->rooms.n == 0) {
		free(st->rooms.branch);
		st->rooms.branch = NULL;
	} else if ((fit = realloc(st->rooms.branch,
	    (size_t)st->rooms.n * sizeof(*fit))) != NULL) {
		st->rooms.branch = fit;
	}
	gw_send(out, json_pack("{s:s,s:o}", "type", "subscribed", "rooms", gw_rooms_json(st)));
	if (st->held) {
		/* Nothing sent yet: replay from since, or from the welcome. */
		st->held = 0;
		gw_act(out, GW_ACT_UNHOLD);
		gw_replay_start(st, st->has_since ? st->since : st->last_sent, env, out);
		return;
	}
	if (st->has_since && st->since < st->last_sent) {
		/* Back to since; what went out live since live_from is skipped. */
		st->phase = GW_REPLAYING;
		st->skip_from = st->live_from;
		st->skip_to = st->last_sent;
		st->last_sent = st->replay_from = st->since;
		st->replay_budget = GW_REPLAY_MAX;
		gw_replay_next(st, env, out);
		return;
	}
	/* Nothing to replay before what is live already; new rooms from here. */
	if (st->has_since && st->since > st->last_sent)
		st->last_sent = st->since;
	st->live_from = st->last_sent;
	gw_rooms_clear(&st->before);
}

static int
gw_rooms_have_branch(const struct gw_rooms *r, const char *branch)
{
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->branch[i], branch) == 0)
			return 1;
	return 0;
}

enum gw_via
gw_state_route(const struct gw_state *st, const struct gw_event *ev)
{
	if (ev->id <= st->last_sent || strcmp(st->auth.company_id, ev->company_id) != 0)
		return GW_VIA_NONE;
	if (ev->branch_id[0] && ev->as_branch && gw_rooms_have_branch(&st->rooms, ev->branch_id))
		return GW_VIA_BRANCH;
	return st->rooms.company ? GW_VIA_COMPANY : GW_VIA_NONE;
}

void
gw_state_sent(struct gw_state *st, long long id)
{
	if (id > st->last_sent)
		st->last_sent = id;
}

enum gw_via
gw_state_replay_route(struct gw_state *st, const struct gw_event *ev)
{
	enum gw_via via;

	if (st->phase != GW_REPLAYING)
		return GW_VIA_NONE;
	/* Sent live through the old rooms before this subscribe: once is enough. */
	if (ev->id > st->skip_from && ev->id <= st->skip_to &&
	    strcmp(st->auth.company_id, ev->company_id) == 0 &&
	    (st->before.company ||
	    (ev->branch_id[0] && gw_rooms_have_branch(&st->before, ev->branch_id)))) {
		gw_state_sent(st, ev->id);
		return GW_VIA_NONE;
	}
	if ((via = gw_state_route(st, ev)) != GW_VIA_NONE)
		gw_state_sent(st, ev->id);
	return via;
}

void
gw_state_replay_failed(struct gw_state *st, const struct gw_env *env,
    struct gw_actions *out)
{
	if (st->phase != GW_REPLAYING)
		return;
	if (env->head > st->last_sent)
		st->last_sent = env->head;
	st->live_from = st->last_sent;
	gw_refresh(out, "replay-unavailable", 0, st->last_sent);
	gw_ready(st, out);
}

void
gw_state_replay_done(struct gw_state *st, size_t rows, int more, long long head,
    const struct gw_env *env, struct gw_actions *out)
{
	long long to;

	if (st->phase != GW_REPLAYING)
		return;		/* overflowed meanwhile: the client was told to refresh */
	st->replay_budget -= (int)rows;
	if (!more && env->head <= head) {
		/* Complete: everything in our rooms after replay_from was queued. */
		st->live_from = st->replay_from;
		gw_ready(st, out);
		return;
	}
	/* More rows, or the listener is ahead of the snapshot: go on. */
	if (st->replay_budget > 0) {
		gw_replay_next(st, env, out);
		return;
	}
	/* Out of budget with events possibly left: live from here, after a
	 * refresh-required that tells the client to reload. */
	to = head > env->head ? head : env->head;
	if (to > st->last_sent)
		st->last_sent = to;
	st->live_from = st->last_sent;
	gw_refresh(out, "replay-limit", GW_REPLAY_MAX, st->last_sent);
	gw_ready(st, out);
}

void
gw_state_drained(struct gw_state *st, const struct gw_env *env, struct gw_actions *out)
{
	if (st->phase == GW_REPLAYING && st->replay_wait)
		gw_replay_next(st, env, out);
}

void
gw_state_message(struct gw_state *st, const char *buf, size_t len,
    const struct gw_env *env, struct gw_actions *out)
{
	json_t *msg;
	const char *type;

	if (st->phase == GW_CLOSING)
		return;
	if (st->phase == GW_PENDING) {
		gw_error(out, "not_ready", "wait for the welcome message");
		return;
	}
	if (jsonlimit_depth(buf, len, GW_MAX_DEPTH) < 0 ||
	    (msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		gw_error(out, "bad_request", "messages are JSON objects");
		return;
	}
	type = json_string_value(json_object_get(msg, "type"));
	if (!type || strcmp(type, "subscribe") != 0)
		gw_state_release(st, env, out);
	if (!type) {
		gw_error(out, "bad_request", "a message needs a type");
	} else if (strcmp(type, "ping") == 0) {
		gw_send(out, json_pack("{s:s}", "type", "pong"));
	} else if (strcmp(type, "subscribe") == 0) {
		gw_subscribe(st, msg, out);
	} else {
		struct gw_action *a = gw_act(out, GW_ACT_MESSAGE);

		a->msg = json_incref(msg);
		a->type = type;
	}
	json_decref(msg);
}

void
gw_state_overflow(struct gw_state *st, const struct gw_env *env, struct gw_actions *out)
{
	struct gw_action *a;

	if (st->phase == GW_CLOSING)
		return;
	gw_act(out, GW_ACT_DROP);
	gw_refresh(out, "slow-consumer", env->queued, env->head);
	gw_state_close(st, GW_CLOSE_TRY_LATER, "slow consumer", out);
	a = &out->a[out->n - 1];
	a->a = GW_OVERFLOW_CLOSE_S;
}

void
gw_state_revoke(struct gw_state *st, const char *reason, struct gw_actions *out)
{
	if (st->phase == GW_PENDING || st->phase == GW_CLOSING)
		return;
	st->held = 0;
	gw_act(out, GW_ACT_DROP);
	gw_state_close(st, GW_CLOSE_UNAUTHORIZED, reason, out);
}
