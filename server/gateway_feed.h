/*
 * gateway_feed.h: what the listener and the gateway's worker hand the gateway,
 * turned into its items: rows of printer_events become shared envelopes (one
 * per room, serialized once, whatever the number of clients), commands become
 * messages for one agent's connections. Any thread.
 */
#ifndef PM_GATEWAY_FEED_H
#define PM_GATEWAY_FEED_H

#include <stddef.h>
#include <jansson.h>

#include "server/gateway.h"
#include "server/store_events.h"

/* A new array of n gw_events (gw_events_free) copied from rows; NULL on
 * allocation failure. */
struct gw_event *gw_feed_events_from(const struct store_event *ev, size_t n);

/* The listener's hooks: live events (0, or -1 when the gateway stopped), and
 * a command for one agent. */
int gateway_feed_events(const struct store_event *ev, size_t n);
void gateway_feed_command(const char *agent_id, const json_t *msg);

/* A credential changed ("user:<id>", ...): the connections it covers are
 * closed with 4401 and get nothing more. */
void gateway_feed_credentials(const char *what);

#endif
