/*
 * gateway_worker.h: the gateway's database thread. The lws thread must never
 * wait on libpq, so credential checks, room checks, replays and agent presence
 * updates are queued here; answers go back through gateway_post().
 */
#ifndef PM_GATEWAY_WORKER_H
#define PM_GATEWAY_WORKER_H

#include <stdint.h>
#include <jansson.h>

#include "server/gateway.h"

enum gw_job_kind {
	GW_JOB_AUTH,		/* token -> GW_ITEM_AUTH */
	GW_JOB_SUBSCRIBE,	/* branches in the credential's company? -> GW_ITEM_SUBSCRIBED */
	GW_JOB_REPLAY,		/* rows after since -> GW_ITEM_REPLAY */
	GW_JOB_HELLO,		/* agent hello: hostname, version, agent:online */
	GW_JOB_STATS,		/* agent stats: agents.stats, printer:sync:stats */
	GW_JOB_OFFLINE,		/* an agent connection closed */
	GW_JOB_SYNC,		/* agent sync: the bulk run -> GW_ITEM_REPLY sync-result */
};

struct gw_job {
	enum gw_job_kind kind;
	struct gw_job *next;
	uint64_t serial;
	struct auth auth;
	char token[GW_TOKEN_MAX + 1];		/* wiped after use */
	char branches[GW_MAX_ROOMS][UUID_TEXT_LEN + 1];
	int nbranches;
	int company_room;			/* replay: every branch of the company */
	long long since;
	int limit;
	char hostname[256], version[64];
	json_t *stats;				/* owned */
	char *body;				/* sync: the bulk's body, owned */
	size_t body_len;
	char idem[256];				/* sync: its Idempotency-Key */
};

/* A zeroed job; NULL on allocation failure. */
struct gw_job *gw_job_new(enum gw_job_kind kind, uint64_t serial);
/* Queue a job (takes ownership). -1 when the worker is stopped or its queue is
 * full (OFFLINE jobs are always taken, so presence is never left stale). */
int gw_worker_post(struct gw_job *j);

int gw_worker_start(gateway_authenticator auth, gateway_sync_fn sync);
/* Finishes the queued jobs, then stops. */
void gw_worker_stop(void);

#endif
