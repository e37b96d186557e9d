/*
 * test_gateway_state.c: the websocket connection's state machine
 * (server/gateway_state.c), transition by transition: welcome, hold, the
 * first message, subscribe (allowed, refused, during a replay), replay rounds
 * and their budget, the skip of what went out live, live routing, overflow,
 * refresh-required, revocation and close. Each test asserts the exact actions
 * the glue is told to carry out, in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "server/gateway_state.h"

#define CO "0f78cb04-e211-42bf-a211-14c3c7fd0228"
#define CO2 "1f78cb04-e211-42bf-a211-14c3c7fd0228"
#define B1 "2f78cb04-e211-42bf-a211-14c3c7fd0228"
#define B2 "3f78cb04-e211-42bf-a211-14c3c7fd0228"

static struct gw_actions acts;

static struct auth
cred(const char *branch, enum auth_role role)
{
	struct auth a;

	memset(&a, 0, sizeof(a));
	a.kind = role == ROLE_AGENT ? AUTH_AGENT : AUTH_USER;
	a.role = role;
	snprintf(a.company_id, sizeof(a.company_id), "%s", CO);
	snprintf(a.branch_id, sizeof(a.branch_id), "%s", branch);
	snprintf(a.principal_id, sizeof(a.principal_id), "%s", B2);
	return a;
}

static struct gw_env
env(long long head, uint32_t queued, uint32_t max)
{
	struct gw_env e = { head, queued, max };

	return e;
}

/* The actions are exactly these kinds, in this order. */
static void
expect(int n, ...)
{
	va_list ap;

	va_start(ap, n);
	if ((int)acts.n != n)
		print_error("got %zu actions, wanted %d\n", acts.n, n);
	assert_int_equal(acts.n, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(acts.a[i].kind, va_arg(ap, int));
	va_end(ap);
}

/* Action i is a SEND of a message of this type (and, for errors, code). */
static const json_t *
sent(size_t i, const char *type, const char *code)
{
	const json_t *m;

	assert_true(i < acts.n);
	assert_int_equal(acts.a[i].kind, GW_ACT_SEND);
	m = acts.a[i].msg;
	assert_string_equal(json_string_value(json_object_get(m, "type")), type);
	if (code)
		assert_string_equal(json_string_value(json_object_get(m, "code")), code);
	return m;
}

static void
done(void)
{
	gw_actions_clear(&acts);
}

static void
msg(struct gw_state *st, const char *text, struct gw_env e)
{
	gw_state_message(st, text, strlen(text), &e, &acts);
}

/* A welcomed connection (company-wide admin unless branch), at head. */
static void
welcomed(struct gw_state *st, const char *branch, long long head)
{
	struct auth a = cred(branch, ROLE_ADMIN);
	struct gw_env e = env(head, 0, 100);

	memset(st, 0, sizeof(*st));
	gw_state_auth(st, 1, &a, &e, &acts);
	done();
}

/* A welcomed connection whose hold ended: its replay from head is asked for. */
static void
replaying(struct gw_state *st, const char *branch, long long head, struct gw_env e)
{
	welcomed(st, branch, head);
	gw_state_release(st, &e, &acts);
	assert_int_equal(st->phase, GW_REPLAYING);
	done();
}

/* A connection that is live (READY) at head. */
static void
live(struct gw_state *st, const char *branch, long long head)
{
	struct gw_env e = env(head, 0, 100);

	welcomed(st, branch, head);
	gw_state_release(st, &e, &acts);
	done();
	gw_state_replay_done(st, 0, 0, head, &e, &acts);
	assert_int_equal(st->phase, GW_READY);
	done();
}

static struct gw_event
event(long long id, const char *company, const char *branch, struct gw_msg *m)
{
	struct gw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = id;
	snprintf(ev.company_id, sizeof(ev.company_id), "%s", company);
	snprintf(ev.branch_id, sizeof(ev.branch_id), "%s", branch);
	ev.as_branch = branch[0] ? m : NULL;
	ev.as_company = m;
	return ev;
}

static void
test_welcome(void **state)
{
	struct gw_state st = { 0 };
	struct auth a = cred("", ROLE_ADMIN);
	struct gw_env e = env(7, 0, 100);
	const json_t *w;

	(void)state;
	msg(&st, "{\"type\":\"ping\"}", e);		/* before the welcome */
	expect(1, GW_ACT_SEND);
	sent(0, "error", "not_ready");
	done();
	gw_state_auth(&st, 1, &a, &e, &acts);
	expect(2, GW_ACT_HOLD, GW_ACT_SEND);
	w = sent(1, "welcome", NULL);
	assert_int_equal(json_integer_value(json_object_get(w, "lastEventId")), 7);
	assert_string_equal(json_string_value(json_object_get(w, "role")), "admin");
	assert_string_equal(json_string_value(json_array_get(json_object_get(w, "rooms"), 0)),
	    "company:" CO);
	assert_int_equal(st.phase, GW_REPLAYING);
	assert_true(st.held);
	assert_int_equal(st.last_sent, 7);
	done();
	gw_state_auth(&st, 1, &a, &e, &acts);	/* only once */
	expect(0);
	gw_state_free(&st);

	/* A branch credential joins its branch room only. */
	a = cred(B1, ROLE_AGENT);
	gw_state_auth(&st, 1, &a, &e, &acts);
	w = sent(1, "welcome", NULL);
	assert_string_equal(json_string_value(json_array_get(json_object_get(w, "rooms"), 0)),
	    "branch:" B1);
	assert_int_equal(json_array_size(json_object_get(w, "rooms")), 1);
	assert_string_equal(json_string_value(json_object_get(w, "role")), "agent");
	done();
	gw_state_free(&st);

	/* Refused: 4401, nothing else. */
	gw_state_auth(&st, 0, &a, &e, &acts);
	expect(1, GW_ACT_CLOSE);
	assert_int_equal(acts.a[0].code, GW_CLOSE_UNAUTHORIZED);
	assert_int_equal(st.phase, GW_CLOSING);
	done();
	gw_state_free(&st);
}

/* Held until the timer: then a replay from the welcome, then live. */
static void
test_hold(void **state)
{
	struct gw_state st;
	struct gw_env e = env(7, 0, 100);

	(void)state;
	welcomed(&st, "", 7);
	gw_state_release(&st, &e, &acts);
	expect(2, GW_ACT_UNHOLD, GW_ACT_REPLAY);
	assert_int_equal(acts.a[1].a, 7);		/* after the welcome's id */
	assert_int_equal(acts.a[1].b, 99);		/* the queue's room less one */
	assert_false(st.held);
	done();
	gw_state_release(&st, &e, &acts);		/* once */
	expect(0);
	gw_state_replay_done(&st, 0, 0, 7, &e, &acts);
	expect(0);
	assert_int_equal(st.phase, GW_READY);
	assert_int_equal(st.live_from, 7);
	gw_state_free(&st);
}

/* The first message ends the hold, except a subscribe, which ends it once
 * answered, with a replay from its since. */
static void
test_first_message(void **state)
{
	struct gw_state st;
	struct gw_env e = env(7, 0, 100);

	(void)state;
	welcomed(&st, "", 7);
	msg(&st, "{\"type\":\"ping\"}", e);
	expect(3, GW_ACT_UNHOLD, GW_ACT_REPLAY, GW_ACT_SEND);
	sent(2, "pong", NULL);
	done();
	gw_state_free(&st);

	welcomed(&st, "", 7);
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[\"branch:" B1 "\"],\"since\":3}", e);
	expect(1, GW_ACT_SUBSCRIBE);
	assert_true(st.sub_pending);
	assert_int_equal(st.asked.n, 1);
	assert_string_equal(st.asked.branch[0], B1);
	done();
	gw_state_release(&st, &e, &acts);		/* the timer: the answer releases */
	expect(0);
	msg(&st, "{\"type\":\"subscribe\"}", e);
	expect(1, GW_ACT_SEND);
	sent(0, "error", "busy");
	done();
	gw_state_subscribed(&st, 1, &e, &acts);
	expect(3, GW_ACT_SEND, GW_ACT_UNHOLD, GW_ACT_REPLAY);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    sent(0, "subscribed", NULL), "rooms"), 0)), "branch:" B1);
	assert_int_equal(acts.a[2].a, 3);		/* from since */
	assert_int_equal(st.rooms.n, 1);
	assert_int_equal(st.rooms.company, 0);
	done();
	gw_state_free(&st);

	/* Refused while held: the error, and live events flow anyway. */
	welcomed(&st, B1, 7);
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[\"branch:" B1 "\"]}", e);
	done();
	gw_state_subscribed(&st, -1, &e, &acts);
	expect(3, GW_ACT_UNHOLD, GW_ACT_REPLAY, GW_ACT_SEND);
	sent(2, "error", "unavailable");
	done();
	gw_state_free(&st);
}

static void
test_subscribe_checks(void **state)
{
	static const struct {
		const char *text, *code;
	} bad[] = {
		{ "{\"type\":\"subscribe\",\"rooms\":\"company:" CO "\"}", "bad_request" },
		{ "{\"type\":\"subscribe\",\"since\":-1}", "bad_request" },
		{ "{\"type\":\"subscribe\",\"since\":\"1\"}", "bad_request" },
		{ "{\"type\":\"subscribe\",\"rooms\":[\"printers\"]}", "bad_request" },
		{ "{\"type\":\"subscribe\",\"rooms\":[1]}", "bad_request" },
		{ "{\"type\":\"subscribe\",\"rooms\":[\"company:" CO2 "\"]}", "forbidden" },
	};
	struct gw_state st;
	struct gw_env e = env(7, 0, 100);
	char many[40 * 60] = "{\"type\":\"subscribe\",\"rooms\":[";

	(void)state;
	live(&st, "", 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg(&st, bad[i].text, e);
		expect(1, GW_ACT_SEND);
		sent(0, "error", bad[i].code);
		done();
		assert_false(st.sub_pending);
	}
	for (int i = 0; i < GW_MAX_ROOMS + 1; i++)
		strcat(many, i ? ",\"branch:" B1 "\"" : "\"branch:" B1 "\"");
	strcat(many, "]}");
	msg(&st, many, e);
	sent(0, "error", "bad_request");
	done();
	/* The worker says no: forbidden, the rooms unchanged. */
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[\"branch:" B2 "\"]}", e);
	expect(1, GW_ACT_SUBSCRIBE);
	done();
	gw_state_subscribed(&st, 0, &e, &acts);
	expect(1, GW_ACT_SEND);
	sent(0, "error", "forbidden");
	assert_int_equal(st.rooms.company, 1);
	assert_int_equal(st.asked.n, 0);
	done();
	gw_state_free(&st);

	/* A branch credential may name only its own branch and no company room. */
	live(&st, B1, 7);
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[\"branch:" B2 "\"]}", e);
	sent(0, "error", "forbidden");
	done();
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[\"company:" CO "\"]}", e);
	sent(0, "error", "forbidden");
	done();
	/* No rooms: keep them (a since alone moves the starting point). */
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[],\"since\":9}", e);
	expect(1, GW_ACT_SUBSCRIBE);
	assert_int_equal(st.asked.n, 1);
	done();
	gw_state_subscribed(&st, 1, &e, &acts);
	expect(1, GW_ACT_SEND);
	assert_int_equal(st.phase, GW_READY);
	assert_int_equal(st.last_sent, 9);
	assert_int_equal(st.live_from, 9);
	done();
	gw_state_free(&st);
}

/* A subscribe during a replay waits for it; only the latest one. */
static void
test_subscribe_during_replay(void **state)
{
	struct gw_state st;
	struct gw_env e = env(7, 0, 100);

	(void)state;
	replaying(&st, "", 7, e);
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[\"branch:" B1 "\"]}", e);
	expect(0);
	assert_non_null(st.deferred);
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[\"branch:" B2 "\"]}", e);
	expect(0);
	gw_state_replay_done(&st, 0, 0, 7, &e, &acts);
	expect(1, GW_ACT_SUBSCRIBE);
	assert_int_equal(st.phase, GW_READY);
	assert_null(st.deferred);
	assert_int_equal(st.asked.n, 1);
	assert_string_equal(st.asked.branch[0], B2);
	done();
	gw_state_free(&st);
}

/* Rounds fit the queue, wait for it to drain, and stop at the budget with a
 * refresh-required. */
static void
test_replay_rounds(void **state)
{
	struct gw_state st;
	struct gw_env e = env(500, 0, 100);
	struct gw_msg *m = gw_msg_new("{}", 2, 1);
	struct gw_event ev;

	(void)state;
	welcomed(&st, "", 0);
	gw_state_release(&st, &e, &acts);
	expect(2, GW_ACT_UNHOLD, GW_ACT_REPLAY);
	assert_int_equal(acts.a[1].a, 0);
	assert_int_equal(acts.a[1].b, 99);
	done();
	/* Rows go out in order (a branch's row through the company room); another
	 * company's row never. */
	ev = event(1, CO, B1, m);
	assert_int_equal(gw_state_replay_route(&st, &ev), GW_VIA_COMPANY);
	ev = event(2, CO2, "", m);
	assert_int_equal(gw_state_replay_route(&st, &ev), GW_VIA_NONE);
	ev = event(99, CO, "", m);
	assert_int_equal(gw_state_replay_route(&st, &ev), GW_VIA_COMPANY);
	assert_int_equal(st.last_sent, 99);
	/* More to come, but the queue is too full: wait for it to drain. */
	e.queued = 60;
	gw_state_replay_done(&st, 99, 1, 400, &e, &acts);
	expect(0);
	assert_true(st.replay_wait);
	e.queued = 0;
	gw_state_drained(&st, &e, &acts);
	expect(1, GW_ACT_REPLAY);
	assert_int_equal(acts.a[0].a, 99);
	assert_false(st.replay_wait);
	done();
	gw_state_drained(&st, &e, &acts);		/* not waiting: nothing */
	expect(0);
	/* The listener ahead of the snapshot (head 500 > 450): go on. */
	gw_state_replay_done(&st, 10, 0, 450, &e, &acts);
	expect(1, GW_ACT_REPLAY);
	done();
	gw_state_free(&st);

	/* Out of budget (GW_REPLAY_MAX rows) with more left: refresh-required
	 * with the budget as count, then live from the newest head. */
	e = env(5000, 0, 4000);
	welcomed(&st, "", 0);
	gw_state_release(&st, &e, &acts);
	assert_int_equal(acts.a[1].b, GW_REPLAY_MAX);
	done();
	gw_state_replay_done(&st, GW_REPLAY_MAX, 1, 4000, &e, &acts);
	expect(1, GW_ACT_REFRESH);
	assert_string_equal(acts.a[0].reason, "replay-limit");
	assert_int_equal(acts.a[0].a, GW_REPLAY_MAX);
	assert_int_equal(acts.a[0].b, 5000);
	assert_int_equal(st.phase, GW_READY);
	assert_int_equal(st.last_sent, 5000);
	done();
	gw_state_free(&st);

	/* A failed round: refresh-required, live from the head. */
	e = env(30, 0, 100);
	replaying(&st, "", 10, e);
	gw_state_replay_failed(&st, &e, &acts);
	expect(1, GW_ACT_REFRESH);
	assert_string_equal(acts.a[0].reason, "replay-unavailable");
	assert_int_equal(acts.a[0].b, 30);
	assert_int_equal(st.phase, GW_READY);
	assert_int_equal(st.live_from, 30);
	done();
	gw_state_free(&st);
	gw_msg_unref(m);
}

/* A subscribe with an older since while live: the replay skips what the old
 * rooms already delivered, and only that. */
static void
test_replay_skips_what_went_live(void **state)
{
	struct gw_state st;
	struct gw_env e = env(10, 0, 100);
	struct gw_msg *m = gw_msg_new("{}", 2, 1);
	struct gw_event ev;

	(void)state;
	live(&st, B1, 5);
	ev = event(6, CO, B1, m);
	assert_int_equal(gw_state_route(&st, &ev), GW_VIA_BRANCH);
	gw_state_sent(&st, 6);
	ev = event(8, CO, B1, m);
	gw_state_sent(&st, 10);		/* 7..10 went out live through branch B1 */
	assert_int_equal(gw_state_route(&st, &ev), GW_VIA_NONE);	/* sent already */
	msg(&st, "{\"type\":\"subscribe\",\"rooms\":[\"branch:" B1 "\"],\"since\":2}", e);
	done();
	gw_state_subscribed(&st, 1, &e, &acts);
	expect(2, GW_ACT_SEND, GW_ACT_REPLAY);
	assert_int_equal(acts.a[1].a, 2);
	assert_int_equal(st.skip_from, 5);
	assert_int_equal(st.skip_to, 10);
	done();
	ev = event(3, CO, B1, m);
	assert_int_equal(gw_state_replay_route(&st, &ev), GW_VIA_BRANCH);
	ev = event(7, CO, B1, m);
	assert_int_equal(gw_state_replay_route(&st, &ev), GW_VIA_NONE);	/* skipped */
	assert_int_equal(st.last_sent, 7);
	ev = event(11, CO, B1, m);
	assert_int_equal(gw_state_replay_route(&st, &ev), GW_VIA_BRANCH);
	gw_state_replay_done(&st, 3, 0, 11, &e, &acts);
	assert_int_equal(st.phase, GW_READY);
	assert_int_equal(st.live_from, 2);
	assert_int_equal(st.before.n, 0);
	done();
	gw_state_free(&st);
	gw_msg_unref(m);
}

/* Live routing: the branch envelope through a branch room, the company one
 * through the company room, each id once. */
static void
test_route(void **state)
{
	struct gw_state st;
	struct gw_msg *m = gw_msg_new("{}", 2, 1);
	struct gw_event ev;

	(void)state;
	live(&st, B1, 5);
	ev = event(6, CO, B2, m);
	assert_int_equal(gw_state_route(&st, &ev), GW_VIA_NONE);	/* other branch */
	ev = event(6, CO, "", m);
	assert_int_equal(gw_state_route(&st, &ev), GW_VIA_NONE);	/* company-level */
	ev = event(5, CO, B1, m);
	assert_int_equal(gw_state_route(&st, &ev), GW_VIA_NONE);	/* not after 5 */
	gw_state_free(&st);
	live(&st, "", 5);
	ev = event(6, CO, B2, m);
	assert_int_equal(gw_state_route(&st, &ev), GW_VIA_COMPANY);
	ev = event(6, CO2, "", m);
	assert_int_equal(gw_state_route(&st, &ev), GW_VIA_NONE);	/* other company */
	gw_state_free(&st);
	gw_msg_unref(m);
}

/* Overflow: the queue dropped, one refresh-required saying how much, close
 * with 1013 within GW_OVERFLOW_CLOSE_S; nothing after. */
static void
test_overflow(void **state)
{
	struct gw_state st;
	struct gw_env e = env(20, 50, 100);

	(void)state;
	live(&st, "", 5);
	gw_state_overflow(&st, &e, &acts);
	expect(3, GW_ACT_DROP, GW_ACT_REFRESH, GW_ACT_CLOSE);
	assert_string_equal(acts.a[1].reason, "slow-consumer");
	assert_int_equal(acts.a[1].a, 50);
	assert_int_equal(acts.a[1].b, 20);
	assert_int_equal(acts.a[2].code, GW_CLOSE_TRY_LATER);
	assert_int_equal(acts.a[2].a, GW_OVERFLOW_CLOSE_S);
	assert_int_equal(st.phase, GW_CLOSING);
	done();
	gw_state_overflow(&st, &e, &acts);
	expect(0);
	msg(&st, "{\"type\":\"ping\"}", e);
	expect(0);
	gw_state_free(&st);
}

/* Revocation and close: nothing more is queued or asked for. */
static void
test_close(void **state)
{
	struct gw_state st;
	struct gw_env e = env(7, 0, 100);

	(void)state;
	memset(&st, 0, sizeof(st));
	gw_state_revoke(&st, "credential revoked", &acts);	/* not welcomed yet */
	expect(0);
	welcomed(&st, "", 7);
	msg(&st, "{\"type\":\"subscribe\"}", e);
	done();
	gw_state_revoke(&st, "credential revoked", &acts);
	expect(2, GW_ACT_DROP, GW_ACT_CLOSE);
	assert_int_equal(acts.a[1].code, GW_CLOSE_UNAUTHORIZED);
	assert_string_equal(acts.a[1].reason, "credential revoked");
	assert_string_equal(st.close_reason, "credential revoked");
	done();
	/* Late answers and the hold timer change nothing. */
	gw_state_subscribed(&st, 1, &e, &acts);
	gw_state_release(&st, &e, &acts);
	gw_state_replay_done(&st, 0, 0, 7, &e, &acts);
	gw_state_replay_failed(&st, &e, &acts);
	gw_state_revoke(&st, "session expired", &acts);
	expect(0);
	assert_int_equal(st.phase, GW_CLOSING);
	gw_state_free(&st);

	live(&st, "", 7);
	gw_state_close(&st, GW_CLOSE_TRY_LATER, "server busy", &acts);
	expect(1, GW_ACT_CLOSE);
	assert_int_equal(st.close_code, GW_CLOSE_TRY_LATER);
	done();
	gw_state_free(&st);
}

/* Other messages: malformed ones answered here, the rest handed on. */
static void
test_messages(void **state)
{
	struct gw_state st;
	struct gw_env e = env(7, 0, 100);
	char deep[64];

	(void)state;
	live(&st, "", 7);
	msg(&st, "not json", e);
	sent(0, "error", "bad_request");
	done();
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	msg(&st, deep, e);
	sent(0, "error", "bad_request");
	done();
	msg(&st, "{\"type\":\"ping\",\"type\":\"ping\"}", e);	/* duplicate keys */
	sent(0, "error", "bad_request");
	done();
	msg(&st, "{\"rooms\":[]}", e);
	sent(0, "error", "bad_request");
	done();
	msg(&st, "{\"type\":\"hello\",\"hostname\":\"till\"}", e);
	expect(1, GW_ACT_MESSAGE);
	assert_string_equal(acts.a[0].type, "hello");
	assert_string_equal(json_string_value(json_object_get(acts.a[0].msg, "hostname")),
	    "till");
	done();
	gw_state_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_welcome),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_first_message),
		cmocka_unit_test(test_subscribe_checks),
		cmocka_unit_test(test_subscribe_during_replay),
		cmocka_unit_test(test_replay_rounds),
		cmocka_unit_test(test_replay_skips_what_went_live),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
