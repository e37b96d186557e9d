/*
 * test_gateway_agent.c: the agent message table (server/gateway_agent.c):
 * which types are agent messages, who may send them, what is refused, and
 * that work the worker cannot take is answered "unavailable".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "server/gateway_agent.h"

/* One call; returns gw_agent_message's result, answers in *call. */
static int
call_with(struct gw_agent_call *call, const struct gw_ident *who, const char *text)
{
	json_t *msg = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(msg);
	memset(call, 0, sizeof(*call));
	call->who = who;
	call->serial = 1;
	call->type = json_string_value(json_object_get(msg, "type"));
	call->msg = msg;
	rc = gw_agent_message(call);
	json_decref(call->reply);
	call->reply = NULL;
	call->msg = NULL;
	json_decref(msg);
	return rc;
}

static void
test_agent_messages(void **state)
{
	static const struct gw_ident agent = { .kind = AUTH_AGENT, .role = ROLE_AGENT };
	static const struct gw_ident user = { .kind = AUTH_USER, .role = ROLE_ADMIN };
	static const struct {
		const struct gw_ident *who;
		const char *text;
		int rc;
		const char *err;	/* the refusal's code, NULL for none */
	} rows[] = {
		/* Not an agent message type at all: the caller says "unknown". */
		{ &agent, "{\"type\":\"dance\"}", -1, NULL },
		/* Only agents send these. */
		{ &user, "{\"type\":\"hello\"}", 0, "forbidden" },
		{ &user, "{\"type\":\"command-result\"}", 0, "forbidden" },
		/* Checked before any work is queued. */
		{ &agent, "{\"type\":\"hello\",\"hostname\":7}", 0, "bad_request" },
		{ &agent, "{\"type\":\"stats\",\"stats\":{\"a\":{}}}", 0, "bad_request" },
		{ &agent, "{\"type\":\"stats\"}", 0, "bad_request" },
		/* Valid, but no worker runs here: the agent is told to try again. */
		{ &agent, "{\"type\":\"hello\",\"hostname\":\"till\"}", 0, "unavailable" },
		{ &agent, "{\"type\":\"stats\",\"stats\":{\"queue\":1}}", 0, "unavailable" },
		/* A command's result is logged only. */
		{ &agent, "{\"type\":\"command-result\",\"requestId\":\"r\",\"ok\":true}", 0, NULL },
	};
	struct gw_agent_call c;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("%s\n", rows[i].text);
		assert_int_equal(call_with(&c, rows[i].who, rows[i].text), rows[i].rc);
		if (rows[i].err)
			assert_string_equal(c.err_code, rows[i].err);
		else
			assert_null(c.err_code);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_messages),
	};

	log_init("test_gateway_agent", "error", "text");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
