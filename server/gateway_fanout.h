/*
 * gateway_fanout.h: live events to every connection, in id order, at the pace
 * of the slowest client still reading: events the listener posted wait here
 * until every ready client they are for has room; a client whose full queue
 * makes no progress for GW_STALL_MS is overflowed instead of holding the
 * others up. Also the per-company head (newest event id seen). Not the
 * inbox (gateway.c) or a connection's own queue (gateway_conn.c). lws thread
 * only.
 */
#ifndef PM_GATEWAY_FANOUT_H
#define PM_GATEWAY_FANOUT_H

#include <libwebsockets.h>

#include "server/gateway.h"

#define GW_STALL_MS 3000	/* a full queue without progress this long overflows */

/* Before the lws thread runs. 0 or -1. */
int gw_fanout_start(struct lws_context *ctx);
/* After it stopped: pending events freed, timer cancelled. */
void gw_fanout_stop(void);

/* A GW_ITEM_EVENTS item (taken over), queued behind the others. */
void gw_fanout_add(struct gw_item *it);
/* Queue pending events while their clients have room. */
void gw_fanout_pump(void);
/* True while events wait. */
int gw_fanout_pending(void);

/* company id -> the highest event id known committed. */
long long gw_head_of(const char *company_id);
void gw_head_raise(const char *company_id, long long id);

#endif
