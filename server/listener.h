/*
 * listener.h: the LISTEN thread. Its own libpq connection LISTENs on the event
 * and command channels, reads new printer_events rows in id order and hands
 * them to the gateway; it reconnects with backoff and catches up from the last
 * id it saw, and prunes events past event_retention.
 */
#ifndef PM_LISTENER_H
#define PM_LISTENER_H

#include <libpq-fe.h>

#include "server/config.h"
#include "server/gateway.h"

#define LISTENER_COMMANDS_CHANNEL "printmaster_commands"

/*
 * The columns that turn a printer_events row `e` into what the gateway sends:
 * id, company, branch, the envelope through the branch room, the envelope
 * through the company room. Shared with the replay query.
 */
#define LISTENER_EVENT_COLUMNS \
	"e.id, e.company_id::text, coalesce(e.branch_id::text, ''), " \
	"CASE WHEN e.branch_id IS NULL THEN NULL ELSE json_build_object('type', 'event', " \
	"'id', e.id, 'event', e.type, 'room', 'branch:' || e.branch_id, 'companyId', " \
	"e.company_id, 'branchId', e.branch_id, 'ts', to_char(e.created_at AT TIME ZONE " \
	"'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'data', e.payload)::text END, " \
	"json_build_object('type', 'event', 'id', e.id, 'event', e.type, 'room', " \
	"'company:' || e.company_id, 'companyId', e.company_id, 'branchId', e.branch_id, " \
	"'ts', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), " \
	"'data', e.payload)::text"

/* Convert rows [0, n) of a result selecting LISTENER_EVENT_COLUMNS first.
 * Returns a new array (gw_events_free) or NULL on allocation failure. */
struct gw_event *listener_events_from(const PGresult *res, int n);

/* Publish a command for agents on whatever instance holds them: `payload` is
 * {"agents":[ids],"command":"scan|test-print","requestId","companyId",
 * "printerId"?}. In the caller's connection (and transaction, if any). */
int listener_publish_command(PGconn *c, const json_t *payload);

int listener_start(const struct server_config *cfg);
void listener_stop(void);

/* Prometheus lines: events read, reconnects, pruned rows. */
void listener_metrics(struct metrics_buf *m);

#endif
