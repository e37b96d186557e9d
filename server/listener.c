/*
 * listener.c: one thread, one libpq connection of its own: the instance's
 * only LISTEN (events, agent commands, credential changes, print jobs). It
 * waits on PQsocket with poll, and on each event notice ("<company>:<first>:<last>")
 * reads that company's rows after the last id it delivered for it. One
 * company's ids commit in id order (store_events.h), so a per-company cursor
 * never skips one; a lost connection costs nothing: reconnect, LISTEN again,
 * catch up every known company from its cursor.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "log.h"
#include "server/bgthread.h"
#include "server/db.h"
#include "server/listener.h"
#include "server/store_jobs.h"
#include "server/store_printers.h"
#include "server/store_tenants.h"

#define LISTENER_BATCH 500		/* rows per company per read */
#define LISTENER_COMPANIES 256		/* companies per read */
#define LISTENER_PRUNE_EVERY 600	/* seconds */
#define LISTENER_PRUNE_BATCH 10000
#define LISTENER_BACKOFF_MAX_MS 5000
#define LISTENER_MAX_TARGETS 64
#define LISTENER_COMPANIES_MAX 100000	/* cursors kept; past it the oldest go */

static struct bgthread lis_bg = BGTHREAD_INIT("listener");
static long lis_retention;
static struct listener_hooks lis_hooks;
/* company id -> highest event id delivered (listener thread only). */
static json_t *lis_cursor;
/* company id -> highest id announced and not yet read, this round. */
static json_t *lis_due;
static atomic_ulong lis_events_read, lis_reconnects, lis_pruned;
/* Printers inserted since the statistics were last refreshed, and how many
 * the table had then (as far as this instance knows). */
static atomic_long lis_new_printers;
static long lis_analyzed_base;
#define LISTENER_ANALYZE_EVERY_MS 2000
#define LISTENER_ANALYZE_MIN_NEW 200

void
listener_note_new_printers(long n)
{
	atomic_fetch_add(&lis_new_printers, n);
}

/*
 * Refresh the printers table's statistics when it has grown by a tenth since
 * the last time (and by LISTENER_ANALYZE_MIN_NEW rows at least): prepared
 * statements run generic plans, made from the statistics of their first use;
 * a table that grew from empty would otherwise keep plans that take every
 * branch for empty (scans instead of index lookups) until autovacuum gets to
 * it. ANALYZE invalidates those plans. At most every 2 s (growth by a tenth
 * each time bounds how often that can be).
 */
static void
lis_maybe_analyze(PGconn *c, long long *next)
{
	long pending = atomic_load(&lis_new_printers);

	if (clock_ms() < *next || pending < LISTENER_ANALYZE_MIN_NEW ||
	    pending * 10 < lis_analyzed_base)
		return;
	*next = clock_ms() + LISTENER_ANALYZE_EVERY_MS;
	if (store_printers_analyze(c) < 0)
		return;
	atomic_fetch_sub(&lis_new_printers, pending);
	lis_analyzed_base += pending;
	log_info("[DB] refreshed the printers table's statistics (%ld new printers)",
	    pending);
}

int
listener_publish_command(PGconn *c, const json_t *payload)
{
	return store_events_command(c, payload);
}

static PGconn *
lis_connect(void)
{
	static const char *const setup[] = {
		"SET application_name = 'printmaster-listener'",
		"LISTEN " STORE_EVENTS_CHANNEL,
		"LISTEN " STORE_COMMANDS_CHANNEL,
		"LISTEN " STORE_AUTH_CHANNEL,
		"LISTEN " STORE_JOBS_CHANNEL,
		NULL };
	PGconn *c = db_connect_session();
	PGresult *r;

	if (!c)
		return NULL;
	db_no_reset(c);		/* a new session would have lost its LISTENs */
	for (const char *const *q = setup; *q; q++) {
		if ((r = db_exec(c, PGRES_COMMAND_OK, *q, 0, NULL)) == NULL) {
			PQfinish(c);
			return NULL;
		}
		PQclear(r);
	}
	return c;
}

static long long
lis_cursor_of(const char *company)
{
	json_t *v = json_object_get(lis_cursor, company);

	return v ? (long long)json_integer_value(v) : -1;
}

/*
 * Read and hand over the rows of every company in lis_due (upper bound its
 * value, or none when it is -1), from each company's cursor. 0, or -1 on a
 * database error (lis_due is kept for the retry).
 */
static int
lis_fetch(PGconn *c)
{
	while (json_object_size(lis_due) > 0 && !bgthread_stopping(&lis_bg)) {
		const char *co[LISTENER_COMPANIES];
		long long after[LISTENER_COMPANIES], upto[LISTENER_COMPANIES];
		int n = 0, got[LISTENER_COMPANIES] = { 0 };
		struct store_event *ev;
		const char *k;
		json_t *v;
		PGresult *r;
		int rows;

		json_object_foreach(lis_due, k, v) {
			if (n == LISTENER_COMPANIES)
				break;
			co[n] = k;
			upto[n] = json_integer_value(v);
			/* A company first heard of now: from the notice's first id. */
			after[n] = lis_cursor_of(k);
			n++;
		}
		if ((r = store_events_read(c, n, co, after, upto, LISTENER_BATCH)) == NULL)
			return -1;
		rows = PQntuples(r);
		if ((ev = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*ev))) == NULL) {
			PQclear(r);
			return -1;
		}
		for (int i = 0; i < rows; i++)
			store_events_row(r, i, &ev[i]);
		if (rows > 0 && lis_hooks.events(ev, (size_t)rows) < 0) {
			free(ev);
			PQclear(r);
			json_object_clear(lis_due);
			return 0;	/* the gateway is stopping */
		}
		atomic_fetch_add(&lis_events_read, (unsigned long)rows);
		for (int i = 0; i < rows; i++) {
			json_object_set_new(lis_cursor, ev[i].company_id, json_integer(ev[i].id));
			for (int j = 0; j < n; j++)
				if (strcmp(co[j], ev[i].company_id) == 0)
					got[j]++;
		}
		free(ev);
		PQclear(r);
		/* Done with a company when it gave less than a full batch. */
		for (int j = n - 1; j >= 0; j--) {
			if (got[j] >= LISTENER_BATCH)
				continue;
			if (upto[j] > lis_cursor_of(co[j]))
				json_object_set_new(lis_cursor, co[j], json_integer(upto[j]));
			json_object_del(lis_due, co[j]);
		}
	}
	return 0;
}

/* An event notice: the company is due up to the notice's last id. */
static void
lis_notice(const char *payload)
{
	char company[37];
	long long first, last;
	json_t *due;

	if (store_events_parse_notice(payload, company, &first, &last) < 0) {
		log_warnx("[GATEWAY] ignored a malformed event notice");
		return;
	}
	if (lis_cursor_of(company) < 0) {
		if (json_object_size(lis_cursor) >= LISTENER_COMPANIES_MAX)
			json_object_clear(lis_cursor);	/* bounded; rare; costs a re-read */
		json_object_set_new(lis_cursor, company, json_integer(first - 1));
	}
	due = json_object_get(lis_due, company);
	if (!due || (json_integer_value(due) >= 0 && json_integer_value(due) < last))
		json_object_set_new(lis_due, company, json_integer(last));
}

/* After a reconnect: every known company is due, without an upper bound. */
static void
lis_catch_up_all(void)
{
	const char *k;
	json_t *v;

	json_object_foreach(lis_cursor, k, v)
		json_object_set_new(lis_due, k, json_integer(-1));
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
		json_t *p = NULL;

		if (!printer || store_printers_get(c, company, NULL, printer, &p) != 1) {
			log_warnx("[GATEWAY] test-print %s: printer is gone", req);
			goto out;
		}
		json_object_set_new(msg, "printer", p);
	}
	json_array_foreach(agents, i, a)
		if (json_is_string(a) && json_string_length(a) <= 36)
			lis_hooks.command(json_string_value(a), msg);
out:
	json_decref(msg);
	json_decref(j);
}

static void
lis_prune(PGconn *c)
{
	long n = store_events_prune(c, lis_retention, LISTENER_PRUNE_BATCH);

	if (n <= 0)
		return;
	atomic_fetch_add(&lis_pruned, (unsigned long)n);
	log_info("[GATEWAY] pruned %ld events older than %ld h", n, lis_retention);
}

static void *
lis_main(void *arg)
{
	PGconn *c = NULL;
	int backoff = 250, first = 1;
	long long next_prune = (clock_ms() / 1000) + 10, next_analyze = 0;

	(void)arg;
	while (!bgthread_stopping(&lis_bg)) {
		struct pollfd p[2];
		PGnotify *n;

		if (!c) {
			if ((c = lis_connect()) == NULL) {
				bgthread_sleep(&lis_bg, backoff);
				backoff = backoff * 2 > LISTENER_BACKOFF_MAX_MS ?
				    LISTENER_BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			if (!first) {
				atomic_fetch_add(&lis_reconnects, 1);
				log_info("[GATEWAY] listener reconnected; catching up");
				/* Revocations may have been missed while away. */
				lis_hooks.credentials(NULL);
				lis_hooks.jobs();
				lis_catch_up_all();
			}
			first = 0;
			backoff = 250;
		}
		if (json_object_size(lis_due) > 0 && lis_fetch(c) < 0)
			goto broken;
		p[0].fd = PQsocket(c);
		p[0].events = POLLIN;
		p[1].fd = bgthread_fd(&lis_bg);
		p[1].events = POLLIN;
		if (poll(p, 2, 1000) < 0 && errno != EINTR) {
			log_warn("[GATEWAY] poll");
			continue;
		}
		if (bgthread_stopping(&lis_bg))
			break;
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !PQconsumeInput(c))
			goto broken;
		while ((n = PQnotifies(c)) != NULL) {
			if (strcmp(n->relname, STORE_EVENTS_CHANNEL) == 0)
				lis_notice(n->extra);
			else if (strcmp(n->relname, STORE_COMMANDS_CHANNEL) == 0)
				lis_command(c, n->extra);
			else if (strcmp(n->relname, STORE_AUTH_CHANNEL) == 0)
				lis_hooks.credentials(n->extra);
			else if (strcmp(n->relname, STORE_JOBS_CHANNEL) == 0)
				lis_hooks.jobs();
			PQfreemem(n);
		}
		if (json_object_size(lis_due) > 0 && lis_fetch(c) < 0)
			goto broken;
		lis_maybe_analyze(c, &next_analyze);
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
listener_start(const struct server_config *cfg, const struct listener_hooks *hooks)
{
	lis_retention = cfg->event_retention;
	lis_hooks = *hooks;
	if (!lis_hooks.events || !lis_hooks.command || !lis_hooks.credentials)
		return -1;
	if ((lis_cursor = json_object()) == NULL || (lis_due = json_object()) == NULL)
		return -1;
	return bgthread_start(&lis_bg, lis_main);
}

void
listener_stop(void)
{
	bgthread_stop(&lis_bg);
	json_decref(lis_cursor);
	json_decref(lis_due);
	lis_cursor = lis_due = NULL;
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
