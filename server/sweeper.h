/*
 * sweeper.h: the agent lease sweep and the sync_batches prune, done by one
 * server instance at a time (the holder of a session advisory lock on its own
 * connection; another instance takes over within a second when it goes).
 * An agent silent for longer than agent_offline_after is written offline once
 * (agent:offline) and the printers only it saw turn unknown / agent-offline
 * (printer:status); an agent that is heard from again over HTTP only is
 * written online (agent:online). Its next report restores the printers.
 */
#ifndef PM_SWEEPER_H
#define PM_SWEEPER_H

#include "server/config.h"
#include "server/metrics.h"

#define SWEEPER_ROUND_MS 1000

/* Start the sweeper thread (main thread, once). 0 or -1. */
int sweeper_start(const struct server_config *cfg);
/* Stop it and release the lock; a no-op when not started. */
void sweeper_stop(void);
/* /metrics lines: leader gauge, agents swept and renewed, batches pruned. */
void sweeper_metrics(struct metrics_buf *m);

#endif
