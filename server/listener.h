/*
 * listener.h: the LISTEN thread. Its own libpq connection LISTENs on the
 * event, command and credential channels and hands what arrives to hooks set
 * by main.c: new printer_events rows (read per company after the last id it
 * delivered, in id order), commands for agents, credential changes. It
 * reconnects with backoff, catches up each company it knows from its last id,
 * and prunes events past event_retention.
 */
#ifndef PM_LISTENER_H
#define PM_LISTENER_H

#include <stddef.h>
#include <jansson.h>

#include "server/config.h"
#include "server/metrics.h"
#include "server/store_events.h"

struct listener_hooks {
	/* Rows of one or more companies, each company's in id order; the rows
	 * live only during the call. Returns 0, or -1 when nobody takes events
	 * any more (shutting down). */
	int (*events)(const struct store_event *ev, size_t n);
	/* A command for one agent: `msg` (borrowed) is what it is sent. */
	void (*command)(const char *agent_id, const json_t *msg);
	/* A credential changed ("user:<id>", "agent:<id>", "company:<id>",
	 * "branch:<id>"), or NULL: notices may have been missed, check them all. */
	void (*credentials)(const char *what);
	/* A print job was queued somewhere (NOTIFY on STORE_JOBS_CHANNEL), or
	 * notices may have been missed (a reconnect): look at the jobs. */
	void (*jobs)(void);
};

/* Publish a command for agents on whatever instance holds them: `payload` is
 * {"agents":[ids],"command":"scan|test-print","requestId","companyId",
 * "printerId"?}. In the caller's connection (and transaction, if any). */
int listener_publish_command(PGconn *c, const json_t *payload);

/* Start the thread; hooks (copied) must be set. 0 or -1. */
/* Any thread: a bulk inserted n printers. When the table has grown enough,
 * the listener thread refreshes its statistics (at most every 2 s), so the
 * planner stops taking a filled branch for empty. */
void listener_note_new_printers(long n);

int listener_start(const struct server_config *cfg, const struct listener_hooks *hooks);
void listener_stop(void);

/* Prometheus lines: events read, reconnects, pruned rows. */
void listener_metrics(struct metrics_buf *m);

#endif
