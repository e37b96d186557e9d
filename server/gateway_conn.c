/*
 * gateway_conn.c: the connections of gateway_conn.h: who is connected, what
 * each has queued, and the glue that turns the state machine's actions into
 * queued frames, worker jobs and lws timers. Every outgoing frame goes through
 * a connection's bounded queue, so a client that does not read costs at most
 * ws_queue_max shared messages before it is told to refresh and is closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "log.h"
#include "server/auth_cache.h"
#include "server/gateway_agent.h"
#include "server/gateway_conn.h"
#include "server/gateway_fanout.h"
#include "server/gateway_worker.h"

struct gw_counters gw_counters;

static struct gw_conn *gw_conns;
static uint64_t gw_next_serial;

/*
 * Worker answers name their connection by serial. With thousands of clients a
 * walk of gw_conns per answer made connecting quadratic, so connections are
 * also hashed by serial (sequential: the low bits spread them evenly). Without
 * a table (allocation failed) gw_conn_find walks the list.
 */
static struct gw_conn **gw_htab;
static size_t gw_hsize, gw_hcount;	/* gw_hsize: 0 or a power of two */

static void
gw_hash_add(struct gw_conn *c)
{
	if (gw_hcount + 1 > gw_hsize) {
		size_t n = gw_hsize ? gw_hsize * 2 : 256;
		struct gw_conn **t = calloc(n, sizeof(*t));

		if (t) {
			for (size_t i = 0; i < gw_hsize; i++) {
				struct gw_conn *e, *next;

				for (e = gw_htab[i]; e; e = next) {
					next = e->hnext;
					e->hnext = t[e->serial & (n - 1)];
					t[e->serial & (n - 1)] = e;
				}
			}
			free(gw_htab);
			gw_htab = t;
			gw_hsize = n;
		}
	}
	gw_hcount++;
	if (!gw_htab)
		return;
	c->hnext = gw_htab[c->serial & (gw_hsize - 1)];
	gw_htab[c->serial & (gw_hsize - 1)] = c;
}

static void
gw_hash_del(struct gw_conn *c)
{
	gw_hcount--;
	if (!gw_htab)
		return;
	for (struct gw_conn **p = &gw_htab[c->serial & (gw_hsize - 1)]; *p; p = &(*p)->hnext)
		if (*p == c) {
			*p = c->hnext;
			break;
		}
	c->hnext = NULL;
}

void
gw_conn_add(struct gw_conn *c)
{
	c->serial = ++gw_next_serial;
	c->prev = NULL;
	c->next = gw_conns;
	if (gw_conns)
		gw_conns->prev = c;
	gw_conns = c;
	gw_hash_add(c);
	atomic_fetch_add(&gw_counters.clients, 1);
}

void
gw_conn_remove(struct gw_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		gw_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	gw_hash_del(c);
	atomic_fetch_sub(&gw_counters.clients, 1);
}

struct gw_conn *
gw_conn_find(uint64_t serial)
{
	struct gw_conn *c;

	if (gw_htab) {
		for (c = gw_htab[serial & (gw_hsize - 1)]; c; c = c->hnext)
			if (c->serial == serial)
				return c;
		return NULL;
	}
	for (c = gw_conns; c; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

struct gw_conn *
gw_conn_first(void)
{
	return gw_conns;
}

void
gw_conns_reset(void)
{
	free(gw_htab);
	gw_htab = NULL;
	gw_hsize = gw_hcount = 0;
}

void
gw_conn_auth(const struct gw_conn *c, struct auth *a)
{
	gw_ident_auth(&c->st.auth, a);
}

void
gw_conn_env(const struct gw_conn *c, struct gw_env *env)
{
	env->head = gw_head_of(c->st.auth.company_id);
	env->queued = c->q.len;
	env->queue_max = (uint32_t)gw_cfg->ws_queue_max;
}

void
gw_conn_drop_queue(struct gw_conn *c)
{
	struct gw_msg *m;

	while ((m = gw_queue_pop(&c->q)) != NULL) {
		gw_msg_unref(m);
		atomic_fetch_sub(&gw_counters.queued, 1);
	}
}

void
gw_conn_overflow(struct gw_conn *c)
{
	struct gw_actions acts = { 0 };
	struct gw_env env;

	if (c->st.phase == GW_CLOSING)
		return;
	atomic_fetch_add(&gw_counters.overflows, 1);
	log_warnx("[GATEWAY] client %llu too slow: %u messages dropped, closing",
	    (unsigned long long)c->serial, c->q.len);
	gw_conn_env(c, &env);
	gw_state_overflow(&c->st, &env, &acts);
	gw_conn_run(c, &acts);
}

int
gw_conn_enqueue(struct gw_conn *c, struct gw_msg *m)
{
	int rc = gw_queue_push(&c->q, m, (uint32_t)gw_cfg->ws_queue_max);

	if (rc == -2 && c->q.len == 0) {
		/* Not even one slot: there is nothing to flush and no way to say
		 * so (an overflow would come back here). */
		struct gw_actions acts = { 0 };

		gw_state_close(&c->st, GW_CLOSE_TRY_LATER, "server busy", &acts);
		gw_conn_run(c, &acts);
		return -1;
	}
	if (rc < 0) {
		/* Full, or no memory to grow: the same remedy, a refresh. */
		gw_conn_overflow(c);
		return -1;
	}
	m->refs++;
	atomic_fetch_add(&gw_counters.queued, 1);
	/* Asked once per burst: the writeable callback asks again while any is left. */
	if (c->q.len == 1)
		lws_callback_on_writable(c->wsi);
	return 0;
}

void
gw_conn_deliver(struct gw_conn *c, const struct gw_event *ev)
{
	enum gw_via via = gw_state_route(&c->st, ev);

	if (via == GW_VIA_NONE)
		return;
	gw_state_sent(&c->st, ev->id);
	gw_conn_enqueue(c, via == GW_VIA_BRANCH ? ev->as_branch : ev->as_company);
}

/* Queue j (stolen) as one message; -1 when it closed the connection. */
static int
gw_conn_send_json(struct gw_conn *c, json_t *j, int is_event)
{
	struct gw_msg *m = gw_msg_json(j);
	int rc = 0;

	json_decref(j);
	if (m) {
		m->is_event = is_event;
		rc = gw_conn_enqueue(c, m);
		gw_msg_unref(m);
	}
	return rc;
}

/* A server-made event (no row in the log): printer:refresh-required, through
 * the company room, else the first branch room. */
static int
gw_conn_refresh(struct gw_conn *c, const char *reason, long long count, long long id)
{
	const struct gw_state *st = &c->st;
	char ts[CLOCK_ISO_MS_LEN], room[64];
	int branch = !st->rooms.company && st->rooms.n > 0;

	clock_iso8601_ms(time(NULL), 0, ts);
	if (branch)
		snprintf(room, sizeof(room), "branch:%s", st->rooms.branch[0]);
	else
		snprintf(room, sizeof(room), "company:%s", st->auth.company_id);
	return gw_conn_send_json(c, json_pack("{s:s,s:I,s:s,s:s,s:s,s:s?,s:s,s:{s:s,s:I}}",
	    "type", "event", "id", (json_int_t)id, "event", "printer:refresh-required",
	    "room", room, "companyId", st->auth.company_id,
	    "branchId", branch && st->rooms.n == 1 ? st->rooms.branch[0] : NULL,
	    "ts", ts, "data", "reason", reason, "count", (json_int_t)count), 1);
}

static void
gw_conn_error(struct gw_conn *c, const char *code, const char *message)
{
	gw_conn_send_json(c, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code,
	    "message", message), 0);
}

/* The worker job of a SUBSCRIBE (asked rooms) or REPLAY (joined rooms). */
static int
gw_conn_post(struct gw_conn *c, enum gw_job_kind kind, const struct gw_rooms *r,
    long long since, int limit)
{
	struct gw_job *j = gw_job_new(kind, c->serial);

	if (!j)
		return -1;
	gw_conn_auth(c, &j->auth);
	j->company_room = r->company;
	j->nbranches = r->n;
	if (r->n > 0)
		memcpy(j->branches, r->branch, (size_t)r->n * sizeof(*r->branch));
	j->since = since;
	j->limit = limit;
	return gw_worker_post(j);
}

/* GW_ACT_MESSAGE: an agent message, or an unknown type. */
static int
gw_conn_message(struct gw_conn *c, const struct gw_action *a)
{
	struct gw_agent_call call = { .who = &c->st.auth, .serial = c->serial,
	    .type = a->type, .msg = a->msg };

	if (gw_agent_message(&call) < 0) {
		gw_conn_error(c, "bad_request", "unknown message type");
		return 0;
	}
	if (call.err_code)
		gw_conn_error(c, call.err_code, call.err_message);
	return call.reply ? gw_conn_send_json(c, call.reply, 0) : 0;
}

/* One action; -1 when the connection overflowed meanwhile. */
static int
gw_conn_act(struct gw_conn *c, struct gw_action *a)
{
	struct gw_actions more = { 0 };
	struct gw_env env;
	int rc = 0;

	switch (a->kind) {
	case GW_ACT_SEND:
		rc = gw_conn_send_json(c, a->msg, 0);
		a->msg = NULL;
		break;
	case GW_ACT_REFRESH:
		rc = gw_conn_refresh(c, a->reason, a->a, a->b);
		break;
	case GW_ACT_SUBSCRIBE:
		if (gw_conn_post(c, GW_JOB_SUBSCRIBE, &c->st.asked, 0, 0) < 0)
			gw_state_subscribe_failed(&c->st, &more);
		break;
	case GW_ACT_REPLAY:
		log_debug("[GATEWAY] client %llu: replay after %lld, up to %lld",
		    (unsigned long long)c->serial, a->a, a->b);
		if (gw_conn_post(c, GW_JOB_REPLAY, &c->st.rooms, a->a, (int)a->b) < 0) {
			gw_conn_env(c, &env);
			gw_state_replay_failed(&c->st, &env, &more);
		}
		break;
	case GW_ACT_HOLD:
		lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
		lws_set_timer_usecs(c->wsi, (lws_usec_t)GW_HOLD_MS * 1000);
		break;
	case GW_ACT_UNHOLD:
		lws_set_timer_usecs(c->wsi, LWS_SET_TIMER_USEC_CANCEL);
		break;
	case GW_ACT_DROP:
		gw_conn_drop_queue(c);
		break;
	case GW_ACT_CLOSE:
		lws_callback_on_writable(c->wsi);
		if (a->a > 0)
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, (int)a->a);
		break;
	case GW_ACT_MESSAGE:
		rc = gw_conn_message(c, a);
		break;
	}
	if (more.n)
		gw_conn_run(c, &more);
	return rc;
}

void
gw_conn_run(struct gw_conn *c, struct gw_actions *acts)
{
	for (size_t i = 0; i < acts->n; i++)
		if (gw_conn_act(c, &acts->a[i]) < 0)
			break;	/* overflowed: the client was told to refresh */
	gw_actions_clear(acts);
}

/* An agent's credential was accepted for a connection that is gone (or the
 * gateway is stopping): undo the presence the check made. */
void
gw_conn_agent_gone(const struct gw_item *it)
{
	struct gw_job *j;

	if (it->ok && it->auth.kind == AUTH_AGENT && (j = gw_job_new(GW_JOB_OFFLINE, 0))) {
		j->auth = it->auth;
		gw_worker_post(j);
	}
}

void
gw_conn_on_auth(struct gw_conn *c, const struct gw_item *it)
{
	struct gw_actions acts = { 0 };
	struct gw_env env;

	if (!it->ok) {
		atomic_fetch_add(&gw_counters.refused, 1);
		log_info("[GATEWAY] client %llu: credential refused",
		    (unsigned long long)c->serial);
	} else {
		/* A company whose events this instance has not yet seen starts
		 * from the newest event the worker found for it. */
		gw_head_raise(it->auth.company_id, it->head);
	}
	gw_conn_env(c, &env);
	env.head = it->ok ? gw_head_of(it->auth.company_id) : 0;
	gw_state_auth(&c->st, it->ok, &it->auth, &env, &acts);
	if (c->st.phase == GW_REPLAYING)
		log_info("[GATEWAY] client %llu: %s %s joined %s:%s",
		    (unsigned long long)c->serial, gw_role_name(c->st.auth.role),
		    c->st.auth.principal_id,
		    c->st.rooms.company ? "company" : "branch", c->st.rooms.company ?
		    c->st.auth.company_id : c->st.auth.branch_id);
	gw_conn_run(c, &acts);
}

void
gw_conn_on_replay(struct gw_conn *c, const struct gw_item *it)
{
	struct gw_actions acts = { 0 };
	struct gw_env env;

	log_debug("[GATEWAY] client %llu: replayed %zu (more %d, head %lld, ours %lld, "
	    "queued %u)", (unsigned long long)c->serial, it->nevents, it->more, it->head,
	    gw_head_of(c->st.auth.company_id), c->q.len);
	if (it->ok) {
		for (size_t i = 0; i < it->nevents && c->st.phase == GW_REPLAYING; i++) {
			const struct gw_event *ev = &it->events[i];
			enum gw_via via = gw_state_replay_route(&c->st, ev);

			if (via != GW_VIA_NONE)
				gw_conn_enqueue(c, via == GW_VIA_BRANCH ? ev->as_branch :
				    ev->as_company);
		}
	}
	gw_conn_env(c, &env);
	if (it->ok)
		gw_state_replay_done(&c->st, it->nevents, it->more, it->head, &env, &acts);
	else
		gw_state_replay_failed(&c->st, &env, &acts);
	gw_conn_run(c, &acts);
}

void
gw_conn_revoke(struct gw_conn *c, const char *reason)
{
	struct gw_actions acts = { 0 };

	log_info("[GATEWAY] client %llu: %s, closing", (unsigned long long)c->serial, reason);
	gw_state_revoke(&c->st, reason, &acts);
	gw_conn_run(c, &acts);
}

int
gw_conn_covered(const struct gw_conn *c, const char *what)
{
	struct auth a;

	gw_conn_auth(c, &a);
	return auth_cache_covers(&a, what);
}
