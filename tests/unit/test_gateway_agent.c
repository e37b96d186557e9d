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
	struct gw_ident agent = { .kind = AUTH_AGENT, .role = ROLE_AGENT };
	struct gw_ident user = { .kind = AUTH_USER, .role = ROLE_ADMIN };
	struct gw_agent_call c;

	(void)state;
	/* Not an agent message type at all: the caller says "unknown". */
	assert_int_equal(call_with(&c, &agent, "{\"type\":\"dance\"}"), -1);
	/* Only agents send these. */
	assert_int_equal(call_with(&c, &user, "{\"type\":\"hello\"}"), 0);
	assert_string_equal(c.err_code, "forbidden");
	assert_int_equal(call_with(&c, &user, "{\"type\":\"command-result\"}"), 0);
	assert_string_equal(c.err_code, "forbidden");
	/* Checked before any work is queued. */
	assert_int_equal(call_with(&c, &agent, "{\"type\":\"hello\",\"hostname\":7}"), 0);
	assert_string_equal(c.err_code, "bad_request");
	assert_int_equal(call_with(&c, &agent, "{\"type\":\"stats\",\"stats\":{\"a\":{}}}"), 0);
	assert_string_equal(c.err_code, "bad_request");
	assert_int_equal(call_with(&c, &agent, "{\"type\":\"stats\"}"), 0);
	assert_string_equal(c.err_code, "bad_request");
	/* Valid, but no worker runs here: the agent is told to try again. */
	assert_int_equal(call_with(&c, &agent, "{\"type\":\"hello\",\"hostname\":\"till\"}"), 0);
	assert_string_equal(c.err_code, "unavailable");
	assert_int_equal(call_with(&c, &agent, "{\"type\":\"stats\",\"stats\":{\"queue\":1}}"), 0);
	assert_string_equal(c.err_code, "unavailable");
	/* A command's result is logged only. */
	assert_int_equal(call_with(&c, &agent,
	    "{\"type\":\"command-result\",\"requestId\":\"r\",\"ok\":true}"), 0);
	assert_null(c.err_code);
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
