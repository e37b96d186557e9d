/*
 * sync.h: `printmaster-agent run` and `sync --once`: discover on a schedule,
 * diff against the last snapshot, spool the changes, send them in batches to
 * the bulk API with retries, heartbeats, statistics and the live connection
 * (DESIGN 4). And `status`, which prints the state file the loop writes.
 */
#ifndef PM_SYNC_H
#define PM_SYNC_H

#include <stddef.h>

#include "agent/agent_config.h"

enum sync_mode {
	SYNC_MODE_RUN,		/* the daemon: until SIGTERM or SIGINT */
	SYNC_MODE_ONCE,		/* one discovery and sync, then exit */
};

/*
 * Read the settings again as at start (file, environment, flags) into *out,
 * which the caller zeroed and frees with cfg_free(agent_config_table, out).
 * Returns 0, or -1 with a reason in err (and nothing to free).
 */
typedef int (*sync_reload_fn)(struct agent_config *out, char *err, size_t errlen,
    void *arg);

/*
 * Run the loop in the calling (main) thread; installs SIGTERM and SIGINT
 * handlers, and in run mode a SIGHUP handler that calls `reload` (may be
 * NULL) and takes a changed agent_key into use. Returns the process exit
 * status: run mode 0 after a signal (the spool keeps whatever was not
 * confirmed), 1 when it cannot start; once mode 0 only when every change was
 * confirmed by the server and none was refused.
 */
int sync_main(const struct agent_config *cfg, enum sync_mode mode, sync_reload_fn reload,
    void *reload_arg);

/* `printmaster-agent status`: print spool_dir's state file. 0 or 1. */
int sync_status(const struct agent_config *cfg);

#endif
