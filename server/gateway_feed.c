/*
 * gateway_feed.c: the listener's rows and commands as gateway items. Not here:
 * reading rows (listener.c) or delivering them (gateway_fanout.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/gateway_feed.h"

struct gw_event *
gw_feed_events_from(const struct store_event *rows, size_t n)
{
	struct gw_event *ev = calloc(n > 0 ? n : 1, sizeof(*ev));

	if (!ev)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct store_event *r = &rows[i];

		ev[i].id = r->id;
		snprintf(ev[i].company_id, sizeof(ev[i].company_id), "%s", r->company_id);
		snprintf(ev[i].branch_id, sizeof(ev[i].branch_id), "%s", r->branch_id);
		if (r->as_branch &&
		    (ev[i].as_branch = gw_msg_new(r->as_branch, r->as_branch_len, 1)) == NULL)
			goto err;
		if ((ev[i].as_company = gw_msg_new(r->as_company, r->as_company_len, 1)) == NULL)
			goto err;
	}
	return ev;
err:
	gw_events_free(ev, n);
	return NULL;
}

int
gateway_feed_events(const struct store_event *rows, size_t n)
{
	struct gw_item *it = calloc(1, sizeof(*it));

	/* Out of memory: -1 leaves the listener's cursor where it was, so the
	 * company's next notice reads these rows again. */
	if (!it)
		return -1;
	it->kind = GW_ITEM_EVENTS;
	if ((it->events = gw_feed_events_from(rows, n)) == NULL) {
		free(it);
		return -1;
	}
	it->nevents = n;
	return gateway_post(it);
}

void
gateway_feed_command(const char *agent_id, const json_t *msg)
{
	struct gw_item *it = calloc(1, sizeof(*it));

	if (!it)
		return;
	it->kind = GW_ITEM_COMMAND;
	snprintf(it->agent_id, sizeof(it->agent_id), "%s", agent_id);
	if ((it->msg = gw_msg_json(msg)) == NULL) {
		free(it);
		return;
	}
	gateway_post(it);
}

void
gateway_feed_credentials(const char *what)
{
	struct gw_item *it;

	if (strlen(what) >= sizeof(it->what) || (it = calloc(1, sizeof(*it))) == NULL)
		return;
	it->kind = GW_ITEM_REVOKE;
	snprintf(it->what, sizeof(it->what), "%s", what);
	gateway_post(it);
}
