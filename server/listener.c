/*
 * listener.c: one thread, one libpq connection of its own. It LISTENs, waits
 * on PQsocket with poll, and on each notification reads the rows after the
 * last id it delivered (ids commit in order, see events.h), so a lost
 * connection costs nothing: reconnect, LISTEN again, catch up from last_id.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "server/db.h"
#include "server/events.h"
#include "server/listener.h"

#define LISTENER_BATCH 500
#define LISTENER_BATCH_S "500"
#define LISTENER_PRUNE_EVERY 600	/* seconds */
#define LISTENER_PRUNE_BATCH "10000"
#define LISTENER_BACKOFF_MAX_MS 5000
#define LISTENER_MAX_TARGETS 64

static pthread_t lis_thread;
static int lis_running, lis_wake = -1;
static atomic_int lis_stopping;
static long lis_retention;
static long long lis_last_id = -1;	/* -1: not yet known */
static atomic_ulong lis_events_read, lis_reconnects, lis_pruned;

struct gw_event *
listener_events_from(const PGresult *res, int n)
{
	struct gw_event *ev = calloc(n > 0 ? (size_t)n : 1, sizeof(*ev));

	if (!ev)
		return NULL;
	for (int i = 0; i < n; i++) {
		const char *b = PQgetvalue(res, i, 3), *co = PQgetvalue(res, i, 4);

		ev[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(ev[i].company_id, sizeof(ev[i].company_id), "%s", PQgetvalue(res, i, 1));
		snprintf(ev[i].branch_id, sizeof(ev[i].branch_id), "%s", PQgetvalue(res, i, 2));
		if (!PQgetisnull(res, i, 3) &&
		    (ev[i].as_branch = gw_msg_new(b, strlen(b), 1)) == NULL)
			goto err;
		if ((ev[i].as_company = gw_msg_new(co, strlen(co), 1)) == NULL)
			goto err;
	}
	return ev;
err:
	gw_events_free(ev, (size_t)n);
	return NULL;
}

int
listener_publish_command(PGconn *c, const json_t *payload)
{
	char *s = json_dumps(payload, JSON_COMPACT);
	const char *p[1] = { s };
	PGresult *res;

	/* NOTIFY payloads stop at 8000 bytes: the command carries ids only. */
	if (!s || strlen(s) >= 7900) {
		free(s);
		return -1;
	}
	res = db_exec(c, PGRES_TUPLES_OK,
	    "SELECT pg_notify('" LISTENER_COMMANDS_CHANNEL "', $1)", 1, p);
	free(s);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* Sleep up to ms, waking at once on stop. */
static void
lis_sleep(int ms)
{
	struct pollfd p = { .fd = lis_wake, .events = POLLIN };

	if (poll(&p, 1, ms) < 0 && errno != EINTR)
		log_warn("[GATEWAY] poll");
}

static PGconn *
lis_connect(void)
{
	PGconn *c = db_connect();
	PGresult *r;

	if (!c)
		return NULL;
	/* Named, so operators (and tests) can tell this connection apart. */
	if ((r = db_exec(c, PGRES_COMMAND_OK, "SET application_name = "
	    "'printmaster-listener'", 0, NULL)) == NULL)
		goto err;
	PQclear(r);
	if ((r = db_exec(c, PGRES_COMMAND_OK, "LISTEN " EVENTS_CHANNEL, 0, NULL)) == NULL)
		goto err;
	PQclear(r);
	if ((r = db_exec(c, PGRES_COMMAND_OK, "LISTEN " LISTENER_COMMANDS_CHANNEL, 0,
	    NULL)) == NULL)
		goto err;
	PQclear(r);
	if (lis_last_id < 0) {
		r = db_exec(c, PGRES_TUPLES_OK,
		    "SELECT coalesce(max(id), 0) FROM printer_events", 0, NULL);
		if (!r)
			goto err;
		lis_last_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	return c;
err:
	PQfinish(c);
	return NULL;
}

/* Read and hand over every row after lis_last_id. 0, or -1 on a database error. */
static int
lis_fetch(PGconn *c)
{
	for (;;) {
		char last[32];
		const char *p[2] = { last, LISTENER_BATCH_S };
		struct gw_item *it;
		PGresult *r;
		int n;

		snprintf(last, sizeof(last), "%lld", lis_last_id);
		r = db_exec(c, PGRES_TUPLES_OK, "SELECT " LISTENER_EVENT_COLUMNS
		    " FROM (SELECT * FROM printer_events WHERE id > $1 ORDER BY id "
		    "LIMIT $2::int) e ORDER BY e.id", 2, p);
		if (!r)
			return -1;
		n = PQntuples(r);
		if ((it = calloc(1, sizeof(*it))) == NULL ||
		    (n > 0 && (it->events = listener_events_from(r, n)) == NULL)) {
			free(it);
			PQclear(r);
			return -1;
		}
		it->kind = GW_ITEM_EVENTS;
		it->nevents = (size_t)n;
		if (n > 0)
			lis_last_id = it->events[n - 1].id;
		it->head = lis_last_id;
		PQclear(r);
		atomic_fetch_add(&lis_events_read, (unsigned long)n);
		if (gateway_post(it) < 0)
			return 0;	/* the gateway is stopping */
		if (n < LISTENER_BATCH || atomic_load(&lis_stopping))
			return 0;
	}
}

/* A command notification: find the message and hand it to each target agent. */
static void
lis_command(PGconn *c, const char *payload)
{
	json_t *j = json_loads(payload, 0, NULL), *agents, *msg = NULL, *a;
	const char *cmd, *req, *company, *printer;
	size_t i;

	if (!j)
		return;
	agents = json_object_get(j, "agents");
	cmd = json_string_value(json_object_get(j, "command"));
	req = json_string_value(json_object_get(j, "requestId"));
	company = json_string_value(json_object_get(j, "companyId"));
	printer = json_string_value(json_object_get(j, "printerId"));
	if (!json_is_array(agents) || json_array_size(agents) > LISTENER_MAX_TARGETS ||
	    !cmd || !req || !company)
		goto out;
	msg = json_pack("{s:s,s:s,s:s}", "type", "command", "command", cmd, "requestId", req);
	if (!msg)
		goto out;
	if (strcmp(cmd, "test-print") == 0) {
		const char *p[2] = { company, printer };
		PGresult *r = printer ? db_exec(c, PGRES_TUPLES_OK,
		    "SELECT printer_json(p)::text FROM printers p WHERE p.company_id = $1 "
		    "AND p.id = $2", 2, p) : NULL;

		if (!r || PQntuples(r) != 1) {
			PQclear(r);
			log_warnx("[GATEWAY] test-print %s: printer is gone", req);
			goto out;
		}
		json_object_set_new(msg, "printer", json_loads(PQgetvalue(r, 0, 0), 0, NULL));
		PQclear(r);
	}
	json_array_foreach(agents, i, a) {
		struct gw_item *it;

		if (!json_is_string(a) || strlen(json_string_value(a)) > HTTP_ID_LEN)
			continue;
		if ((it = calloc(1, sizeof(*it))) == NULL)
			break;
		it->kind = GW_ITEM_COMMAND;
		snprintf(it->agent_id, sizeof(it->agent_id), "%s", json_string_value(a));
		if ((it->msg = gw_msg_json(msg)) == NULL) {
			free(it);
			break;
		}
		gateway_post(it);
	}
out:
	json_decref(msg);
	json_decref(j);
}

static void
lis_prune(PGconn *c)
{
	char hours[24];
	const char *p[1] = { hours };
	PGresult *r;

	snprintf(hours, sizeof(hours), "%ld", lis_retention);
	/* Usually there is nothing to prune: look first, write only when needed. */
	r = db_exec(c, PGRES_TUPLES_OK, "SELECT 1 FROM printer_events WHERE created_at < "
	    "now() - make_interval(hours => $1::int) LIMIT 1", 1, p);
	if (!r || PQntuples(r) == 0) {
		PQclear(r);
		return;
	}
	PQclear(r);
	/* Bounded: a backlog is worked off over several rounds, never one huge DELETE. */
	r = db_exec(c, PGRES_COMMAND_OK, "DELETE FROM printer_events WHERE id IN "
	    "(SELECT id FROM printer_events WHERE created_at < now() - "
	    "make_interval(hours => $1::int) ORDER BY id LIMIT " LISTENER_PRUNE_BATCH ")",
	    1, p);
	if (!r)
		return;
	atomic_fetch_add(&lis_pruned, strtoul(PQcmdTuples(r), NULL, 10));
	if (strcmp(PQcmdTuples(r), "0") != 0)
		log_info("[GATEWAY] pruned %s events older than %ld h", PQcmdTuples(r),
		    lis_retention);
	PQclear(r);
}

static void *
lis_main(void *arg)
{
	PGconn *c = NULL;
	int backoff = 250, first = 1;
	long long next_prune = (clock_ms() / 1000) + 10;

	(void)arg;
	while (!atomic_load(&lis_stopping)) {
		struct pollfd p[2];
		PGnotify *n;
		int fetch = 0;

		if (!c) {
			if ((c = lis_connect()) == NULL) {
				lis_sleep(backoff);
				backoff = backoff * 2 > LISTENER_BACKOFF_MAX_MS ?
				    LISTENER_BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			if (!first) {
				atomic_fetch_add(&lis_reconnects, 1);
				log_info("[GATEWAY] listener reconnected; catching up after "
				    "event %lld", lis_last_id);
			}
			first = 0;
			backoff = 250;
			/* Catch up (or, the first time, tell the gateway the head). */
			if (lis_fetch(c) < 0)
				goto broken;
		}
		p[0].fd = PQsocket(c);
		p[0].events = POLLIN;
		p[1].fd = lis_wake;
		p[1].events = POLLIN;
		if (poll(p, 2, 1000) < 0 && errno != EINTR) {
			log_warn("[GATEWAY] poll");
			continue;
		}
		if (atomic_load(&lis_stopping))
			break;
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !PQconsumeInput(c))
			goto broken;
		while ((n = PQnotifies(c)) != NULL) {
			if (strcmp(n->relname, EVENTS_CHANNEL) == 0)
				fetch = 1;
			else if (strcmp(n->relname, LISTENER_COMMANDS_CHANNEL) == 0)
				lis_command(c, n->extra);
			PQfreemem(n);
		}
		if (fetch && lis_fetch(c) < 0)
			goto broken;
		if ((clock_ms() / 1000) >= next_prune) {
			next_prune = (clock_ms() / 1000) + LISTENER_PRUNE_EVERY;
			lis_prune(c);
		}
		if (PQstatus(c) == CONNECTION_OK)
			continue;
broken:
		log_warnx("[GATEWAY] listener lost its database connection; reconnecting");
		PQfinish(c);
		c = NULL;
	}
	PQfinish(c);
	return NULL;
}

int
listener_start(const struct server_config *cfg)
{
	lis_retention = cfg->event_retention;
	if ((lis_wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		log_warn("[GATEWAY] eventfd");
		return -1;
	}
	atomic_store(&lis_stopping, 0);
	if (pthread_create(&lis_thread, NULL, lis_main, NULL) != 0) {
		log_error("[GATEWAY] could not start the listener thread");
		close(lis_wake);
		lis_wake = -1;
		return -1;
	}
	lis_running = 1;
	return 0;
}

void
listener_stop(void)
{
	uint64_t one = 1;

	if (!lis_running)
		return;
	atomic_store(&lis_stopping, 1);
	if (write(lis_wake, &one, sizeof(one)) < 0)
		log_warn("[GATEWAY] eventfd");
	pthread_join(lis_thread, NULL);
	lis_running = 0;
	close(lis_wake);
	lis_wake = -1;
}

void
listener_metrics(struct metrics_buf *m)
{
	metrics_printf(m, "# HELP printmaster_listener_events_total Events read from printer_events.\n"
	    "# TYPE printmaster_listener_events_total counter\n"
	    "printmaster_listener_events_total %lu\n"
	    "# HELP printmaster_listener_reconnects_total Listener reconnections.\n"
	    "# TYPE printmaster_listener_reconnects_total counter\n"
	    "printmaster_listener_reconnects_total %lu\n"
	    "# HELP printmaster_events_pruned_total Events deleted past event_retention.\n"
	    "# TYPE printmaster_events_pruned_total counter\n"
	    "printmaster_events_pruned_total %lu\n", atomic_load(&lis_events_read),
	    atomic_load(&lis_reconnects), atomic_load(&lis_pruned));
}
