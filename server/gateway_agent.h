/*
 * gateway_agent.h: every message an agent sends over its websocket (hello,
 * stats, command-result, ...), in one table in gateway_agent.c: a new message
 * type is one row and one handler there. Handlers check what came, hand
 * database work to the gateway's worker (gateway_worker.h) and say what to
 * answer; they never touch the connection. Not here: the messages every
 * client may send (ping, subscribe: gateway_state.c). lws thread only.
 */
#ifndef PM_GATEWAY_AGENT_H
#define PM_GATEWAY_AGENT_H

#include <stdint.h>
#include <jansson.h>

#include "server/gateway_state.h"

struct gw_agent_call {
	const struct gw_ident *who;	/* the sender's credential */
	uint64_t serial;		/* its connection, for worker answers */
	const char *type;
	const json_t *msg;		/* the whole message, borrowed */
	/* Answers, set by the handler: a refusal sent as {"type":"error"}, and/or
	 * a message for the agent (owned, sent after the refusal if both). */
	const char *err_code, *err_message;
	json_t *reply;
};

/* Handle call->msg. 0 when type is an agent message (answers in call; a
 * sender that is not an agent is refused), -1 when it is no message type
 * of ours at all. */
int gw_agent_message(struct gw_agent_call *call);

#endif
