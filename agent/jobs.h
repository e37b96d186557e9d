/*
 * jobs.h: print jobs on the agent. The server offers a job over the
 * websocket ({"type":"job","job":{...}}); the agent writes it to its spool
 * (<spool_dir>/jobs, fsync'd) before answering "accepted", prints it only
 * after the server's go-ahead ({"type":"job-ack","id","print":true}: the job
 * is still this agent's), and answers "printed" or "failed" with the reason.
 * Finished job ids are kept in an fsync'd log, so an offer made again (after
 * a restart, a lost answer) is answered from it and never printed twice. One
 * thread of its own; printing blocks only it.
 */
#ifndef PM_JOBS_H
#define PM_JOBS_H

#include <stddef.h>
#include <jansson.h>

#include "agent/agent_config.h"
#include "agent/ws_client.h"

#define JOBS_DIR "jobs"
#define JOBS_DONE_FILE "done.log"
#define JOBS_DONE_KEEP 10000	/* finished ids kept when the log is compacted */

struct jobs;

/* Open <spool_dir>/jobs (jobs left half-printed by a crash are recorded as
 * failed, never printed again) and start the thread. NULL (logged) on failure. */
struct jobs *jobs_start(const struct agent_config *cfg);
/* Stop the thread (a print under way finishes first) and free. NULL is a no-op. */
void jobs_stop(struct jobs *j);

/* The websocket the answers go out on, and which offers come from; NULL
 * before it is stopped. Any thread. */
void jobs_set_ws(struct jobs *j, struct ws_client *w);

/* Pure: `text` content as printable lines for a raw (receipt) printer:
 * CR LF and lone CR become LF, other control bytes except TAB are dropped,
 * and the text ends with a LF. Writes at most len + 1 bytes to out (the
 * caller gives that much) and returns the length. */
size_t jobs_text_lines(const unsigned char *in, size_t len, unsigned char *out);

#endif
