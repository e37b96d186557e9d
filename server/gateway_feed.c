/*
 * gateway_feed.c: the listener's rows and commands as gateway items. Not here:
 * reading rows (listener.c) or delivering them (gateway_fanout.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libwebsockets.h>

#include "common/clock.h"
#include "server/gateway_feed.h"

/*
 * The envelope of row r through the branch room (via_branch) or the company
 * room: {"type":"event","id","event","room","companyId","branchId","ts",
 * "data"}. The ids are PostgreSQL's uuid text and the payload its JSON text,
 * as they are; the type goes through jansson. The head is formatted, the
 * payload (up to a printer's whole document) copied after it. NULL when out
 * of memory.
 */
static struct gw_msg *
gw_feed_envelope(const struct store_event *r, const char *type_json, const char *ts,
    int via_branch)
{
	char branch[UUID_TEXT_LEN + 3], buf[512], *head = buf;
	struct gw_msg *m = NULL;
	int hl;

#define GW_FEED_HEAD "{\"type\":\"event\",\"id\":%lld,\"event\":%s," \
	"\"room\":\"%s:%s\",\"companyId\":\"%s\",\"branchId\":%s,\"ts\":\"%s\",\"data\":"
#define GW_FEED_ARGS r->id, type_json, via_branch ? "branch" : "company", \
	via_branch ? r->branch_id : r->company_id, r->company_id, branch, ts

	if (r->branch_id[0])
		snprintf(branch, sizeof(branch), "\"%s\"", r->branch_id);
	else
		snprintf(branch, sizeof(branch), "null");
	if ((hl = snprintf(buf, sizeof(buf), GW_FEED_HEAD, GW_FEED_ARGS)) < 0)
		return NULL;
	if ((size_t)hl >= sizeof(buf)) {	/* an unusually long type */
		if ((head = malloc((size_t)hl + 1)) == NULL)
			return NULL;
		snprintf(head, (size_t)hl + 1, GW_FEED_HEAD, GW_FEED_ARGS);
	}
	if ((m = gw_msg_new(NULL, (size_t)hl + r->payload_len + 1, 1)) != NULL) {
		char *d = (char *)m->data + LWS_PRE;

		memcpy(d, head, (size_t)hl);
		memcpy(d + hl, r->payload, r->payload_len);
		d[(size_t)hl + r->payload_len] = '}';
	}
	if (head != buf)
		free(head);
	return m;
#undef GW_FEED_ARGS
#undef GW_FEED_HEAD
}

/* Unix microseconds as 2026-01-02T03:04:05.678Z: the second floored, the
 * milliseconds truncated (as to_char's MS), through clock.c's formatter. */
static void
gw_feed_time(long long us, char out[CLOCK_ISO_MS_LEN])
{
	long long s = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);

	clock_iso8601_ms((time_t)s, (int)((us - s * 1000000) / 1000), out);
}

struct gw_event *
gw_feed_events_from(const struct store_event *rows, size_t n)
{
	struct gw_event *ev = calloc(n > 0 ? n : 1, sizeof(*ev));

	if (!ev)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct store_event *r = &rows[i];
		json_t *t = json_string(r->type);
		char *type_json = t ? json_dumps(t, JSON_ENCODE_ANY) : NULL;
		char ts[CLOCK_ISO_MS_LEN];

		json_decref(t);
		if (!type_json)
			goto err;
		gw_feed_time(r->ts_us, ts);
		ev[i].id = r->id;
		snprintf(ev[i].company_id, sizeof(ev[i].company_id), "%s", r->company_id);
		snprintf(ev[i].branch_id, sizeof(ev[i].branch_id), "%s", r->branch_id);
		if (r->branch_id[0] &&
		    (ev[i].as_branch = gw_feed_envelope(r, type_json, ts, 1)) == NULL) {
			free(type_json);
			goto err;
		}
		ev[i].as_company = gw_feed_envelope(r, type_json, ts, 0);
		free(type_json);
		if (!ev[i].as_company)
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
