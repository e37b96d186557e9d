/*
 * gateway_fanout.c: the fan-out pump of gateway_fanout.h. Event order is per
 * company (store_events.h), so the heads are too. Not here: a connection's
 * queue (gateway_conn.c).
 */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "server/gateway_conn.h"
#include "server/gateway_fanout.h"

static struct lws_context *fo_ctx;
static struct gw_item *fo_head, *fo_tail;	/* events not yet queued to clients */
static size_t fo_pos;				/* in fo_head */
static lws_sorted_usec_list_t fo_sul;
static json_t *fo_heads;

long long
gw_head_of(const char *company_id)
{
	return json_integer_value(json_object_get(fo_heads, company_id));
}

void
gw_head_raise(const char *company_id, long long id)
{
	if (id > gw_head_of(company_id))
		json_object_set_new(fo_heads, company_id, json_integer(id));
}

int
gw_fanout_start(struct lws_context *ctx)
{
	fo_ctx = ctx;
	return (fo_heads = json_object()) != NULL ? 0 : -1;
}

void
gw_fanout_stop(void)
{
	struct gw_item *next;

	for (; fo_head; fo_head = next) {
		next = fo_head->next;
		gw_item_free(fo_head);
	}
	fo_tail = NULL;
	fo_pos = 0;
	if (fo_ctx)
		lws_sul_cancel(&fo_sul);
	fo_ctx = NULL;
	json_decref(fo_heads);
	fo_heads = NULL;
}

void
gw_fanout_add(struct gw_item *it)
{
	it->next = NULL;
	if (fo_tail)
		fo_tail->next = it;
	else
		fo_head = it;
	fo_tail = it;
}

int
gw_fanout_pending(void)
{
	return fo_head != NULL;
}

/* Ms to wait before ev may be queued: 0 when every ready client it is for has
 * room. A client whose full queue has made no progress for GW_STALL_MS is
 * overflowed here, so one stalled reader holds the others up only that long. */
static long long
gw_fanout_blocked(const struct gw_event *ev, long long now)
{
	unsigned limit = (unsigned)gw_cfg->ws_queue_max - 1;	/* one slot for replies */
	long long wait = 0;

	for (struct gw_conn *c = gw_conn_first(); c; c = c->next) {
		if (c->q.len < limit)
			continue;
		/* A replay waiting on a client that reads nothing blocks no one, but
		 * is cut by the same rule. */
		if (c->st.phase == GW_REPLAYING && c->st.replay_wait) {
			if (!c->stall_since)
				c->stall_since = now;
			else if (now - c->stall_since >= GW_STALL_MS)
				gw_conn_overflow(c);
			continue;
		}
		if (c->st.phase != GW_READY || gw_state_route(&c->st, ev) == GW_VIA_NONE)
			continue;
		if (!c->stall_since)
			c->stall_since = now;
		if (now - c->stall_since >= GW_STALL_MS) {
			gw_conn_overflow(c);
			continue;
		}
		if (!wait || c->stall_since + GW_STALL_MS - now < wait)
			wait = c->stall_since + GW_STALL_MS - now;
	}
	return wait;
}

static void
gw_fanout_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	gw_fanout_pump();
}

void
gw_fanout_pump(void)
{
	long long now = clock_ms();
	size_t done = 0;

	while (fo_head) {
		struct gw_item *it = fo_head;

		if (fo_pos < it->nevents) {
			struct gw_event *ev = &it->events[fo_pos];
			long long wait = gw_fanout_blocked(ev, now);

			if (wait > 0) {
				lws_sul_schedule(fo_ctx, 0, &fo_sul, gw_fanout_cb,
				    (lws_usec_t)wait * 1000);
				break;
			}
			for (struct gw_conn *c = gw_conn_first(); c; c = c->next)
				if (c->st.phase == GW_READY)
					gw_conn_deliver(c, ev);
			gw_head_raise(ev->company_id, ev->id);
			fo_pos++;
			done++;
			continue;
		}
		fo_head = it->next;
		if (!fo_head)
			fo_tail = NULL;
		fo_pos = 0;
		gw_item_free(it);
	}
	if (done)
		gw_inbox_release(done);
}
