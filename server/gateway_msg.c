/*
 * gateway_msg.c: the gateway's plain data: shared outgoing messages, the items
 * handed to the lws thread, and the pure checks on what a client sends (its
 * Origin, room names). No lws calls here, so any thread and the unit tests
 * may use it. Not here: queues (gw_queue.c, gateway_conn.c).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libwebsockets.h>

#include "server/gateway.h"
#include "common/uuid.h"

struct gw_msg *
gw_msg_new(const char *s, size_t len, int is_event)
{
	struct gw_msg *m = malloc(sizeof(*m) + LWS_PRE + len + 1);

	if (!m)
		return NULL;
	m->refs = 1;
	m->is_event = is_event;
	m->len = len;
	if (s)
		memcpy(m->data + LWS_PRE, s, len);
	m->data[LWS_PRE + len] = '\0';
	return m;
}

struct gw_msg *
gw_msg_json(const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	struct gw_msg *m;

	if (!s)
		return NULL;
	m = gw_msg_new(s, strlen(s), 0);
	free(s);
	return m;
}

void
gw_msg_unref(struct gw_msg *m)
{
	if (m && --m->refs == 0)
		free(m);
}

void
gw_events_free(struct gw_event *ev, size_t n)
{
	if (!ev)
		return;
	for (size_t i = 0; i < n; i++) {
		gw_msg_unref(ev[i].as_branch);
		gw_msg_unref(ev[i].as_company);
	}
	free(ev);
}

void
gw_item_free(struct gw_item *it)
{
	if (!it)
		return;
	gw_events_free(it->events, it->nevents);
	gw_msg_unref(it->msg);
	free(it);
}

int
gateway_origin_allowed(const char *origin, const char *host, const char *list)
{
	const char *p;
	char own[300];

	if (host[0]) {
		snprintf(own, sizeof(own), "http://%s", host);
		if (strcasecmp(origin, own) == 0)
			return 1;
		snprintf(own, sizeof(own), "https://%s", host);
		if (strcasecmp(origin, own) == 0)
			return 1;
	}
	for (p = list; p && *p;) {
		size_t n;

		p += strspn(p, " ,");
		n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n > 0 && strlen(origin) == n && strncasecmp(origin, p, n) == 0)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

int
gateway_room_parse(const char *room, char id[UUID_TEXT_LEN + 1])
{
	if (strncmp(room, "company:", 8) == 0 && strlen(room + 8) <= UUID_TEXT_LEN &&
	    uuid_norm(room + 8, id, UUID_TEXT_LEN + 1) == 0)
		return GW_ROOM_COMPANY;
	if (strncmp(room, "branch:", 7) == 0 && strlen(room + 7) <= UUID_TEXT_LEN &&
	    uuid_norm(room + 7, id, UUID_TEXT_LEN + 1) == 0)
		return GW_ROOM_BRANCH;
	return -1;
}
