/*
 * jobs_dispatch.h: delivery of print jobs to agents. One thread per instance
 * with a database connection of its own: it LISTENs for new jobs, hands queued
 * jobs to agents this instance holds (over their websocket), expires and
 * re-offers, and records the agents' answers (job-result messages, which the
 * gateway passes here). The state machine is in store_jobs.c.
 */
#ifndef PM_JOBS_DISPATCH_H
#define PM_JOBS_DISPATCH_H

#include <jansson.h>

#include "server/config.h"
#include "server/metrics.h"

#define JOBS_REASON_MAX 500	/* bytes of an agent's failure reason */

/* Start the thread (after gateway_start: it posts to the gateway). 0 or -1. */
int jobs_dispatch_start(const struct server_config *cfg);
/* Stop and join it; the answers still queued are dropped (the agent's
 * re-offer brings them back). */
void jobs_dispatch_stop(void);
/* A job was queued somewhere, or notices may have been missed: look at the
 * jobs on the next wake (any thread; the listener calls it). */
void jobs_dispatch_wake(void);

/*
 * An agent's {"type":"job-result","id","state","reason"} (any thread; the
 * gateway's lws thread). Pure check, then queued for the dispatcher: 0, or -1
 * when the message is malformed (state not accepted|printed|failed, id not
 * a UUID, reason not a string of at most JOBS_REASON_MAX bytes) or the
 * dispatcher is not running.
 */
int jobs_dispatch_result(const char *agent_id, const json_t *msg);

/* Any thread: a job changed state here (the API's created and cancelled). */
void jobs_dispatch_count(const char *state);
/* Prometheus lines: jobs by state reached on this instance, and the time
 * from queued to printed. */
void jobs_dispatch_metrics(struct metrics_buf *m);

#endif
