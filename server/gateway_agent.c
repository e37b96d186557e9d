/*
 * gateway_agent.c: the agent messages of gateway_agent.h. Each row of
 * gw_agent_types is one message type and its handler; the handler validates
 * the message, queues a worker job (database work never runs on the lws
 * thread) and fills the call's answers. Not here: ping and subscribe
 * (gateway_state.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server/gateway_agent.h"
#include "server/gateway_worker.h"
#include "server/jobs_dispatch.h"
#include "server/presence.h"

static void
agent_refuse(struct gw_agent_call *call, const char *code, const char *message)
{
	call->err_code = code;
	call->err_message = message;
}

/* Hand j (with the sender's credential) to the worker, or say it is busy. */
static int
agent_post(struct gw_agent_call *call, struct gw_job *j)
{
	if (j) {
		gw_ident_auth(call->who, &j->auth);
		if (gw_worker_post(j) == 0)
			return 0;
	}
	agent_refuse(call, "unavailable", "the server is busy; try again");
	return 0;
}

/* The answer to a command the server sent (scan, test-print): logged. */
static int
agent_command_result(struct gw_agent_call *call)
{
	const char *req = json_string_value(json_object_get(call->msg, "requestId"));
	const char *txt = json_string_value(json_object_get(call->msg, "message"));

	log_info("[GATEWAY] agent %s: command %.64s %s%s%.200s", call->who->principal_id,
	    req ? req : "?", json_is_true(json_object_get(call->msg, "ok")) ? "ok" : "failed",
	    txt ? ": " : "", txt ? txt : "");
	return 0;
}

/* hostname and version, recorded with agent:online. */
static int
agent_hello(struct gw_agent_call *call)
{
	const json_t *h = json_object_get(call->msg, "hostname");
	const json_t *v = json_object_get(call->msg, "version");
	struct gw_job *j;

	if ((h && (!json_is_string(h) || strlen(json_string_value(h)) > 255)) ||
	    (v && (!json_is_string(v) || strlen(json_string_value(v)) > 63))) {
		agent_refuse(call, "bad_request", "hostname (at most 255 bytes) and version "
		    "(at most 63) must be strings");
		return 0;
	}
	if ((j = gw_job_new(GW_JOB_HELLO, call->serial)) != NULL) {
		snprintf(j->hostname, sizeof(j->hostname), "%s", h ? json_string_value(h) : "");
		snprintf(j->version, sizeof(j->version), "%s", v ? json_string_value(v) : "");
	}
	return agent_post(call, j);
}

/* The agent's sync statistics, stored and sent as printer:sync:stats. */
static int
agent_stats(struct gw_agent_call *call)
{
	const json_t *s = json_object_get(call->msg, "stats");
	struct gw_job *j;

	if (!presence_stats_valid(s)) {
		agent_refuse(call, "bad_request", "stats must be a flat object of at most 4 KB");
		return 0;
	}
	/* A copy of its own: the worker thread owns it from here. */
	if ((j = gw_job_new(GW_JOB_STATS, call->serial)) != NULL)
		j->stats = json_deep_copy(s);
	return agent_post(call, j);
}

/* A print job's state from the agent (accepted, printed, failed): handed to
 * the job dispatcher's thread, which owns the database work. */
static int
agent_job_result(struct gw_agent_call *call)
{
	if (jobs_dispatch_result(call->who->principal_id, call->msg) < 0)
		agent_refuse(call, "bad_request", "job-result needs id, state (accepted, "
		    "printed or failed) and at most a 500-byte reason");
	return 0;
}

/*
 * A batch the agent could not POST (a proxy in the way): the bulk request's
 * body with "type" and "idempotencyKey" beside it. Run on the worker as the
 * bulk itself (gateway_sync_fn), answered with "sync-result".
 */
static int
agent_sync(struct gw_agent_call *call)
{
	const json_t *key = json_object_get(call->msg, "idempotencyKey");
	json_t *body;
	struct gw_job *j;
	char *text;

	if (!json_is_string(key) || json_string_length(key) == 0 ||
	    json_string_length(key) > 200) {
		agent_refuse(call, "bad_request", "sync needs an idempotencyKey of 1 to 200 "
		    "characters");
		return 0;
	}
	if ((body = json_copy((json_t *)call->msg)) == NULL)
		return agent_post(call, NULL);
	json_object_del(body, "type");
	json_object_del(body, "idempotencyKey");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!text || (j = gw_job_new(GW_JOB_SYNC, call->serial)) == NULL) {
		free(text);
		return agent_post(call, NULL);
	}
	j->body = text;
	j->body_len = strlen(text);
	snprintf(j->idem, sizeof(j->idem), "%s", json_string_value(key));
	return agent_post(call, j);
}

static const struct {
	const char *type;
	int (*handle)(struct gw_agent_call *call);
} gw_agent_types[] = {
	{ "hello", agent_hello },
	{ "stats", agent_stats },
	{ "command-result", agent_command_result },
	{ "job-result", agent_job_result },
	{ "sync", agent_sync },
};

int
gw_agent_message(struct gw_agent_call *call)
{
	for (size_t i = 0; i < sizeof(gw_agent_types) / sizeof(gw_agent_types[0]); i++) {
		if (strcmp(call->type, gw_agent_types[i].type) != 0)
			continue;
		if (call->who->kind != AUTH_AGENT) {
			agent_refuse(call, "forbidden", "only agents send this message");
			return 0;
		}
		return gw_agent_types[i].handle(call);
	}
	return -1;
}
