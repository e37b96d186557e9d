/*
 * metrics.c: a growable text buffer and the list of metric sources. The
 * counters owned here are the ones no other module is a better home for. Not
 * here: serving /metrics (api_system.c).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"
#include "db.h"

#define METRICS_MAX_SOURCES 16

static metrics_source metrics_sources[METRICS_MAX_SOURCES];
static int metrics_nsources;
static atomic_ulong metrics_upserted, metrics_bulk;

void
metrics_printf(struct metrics_buf *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (m->failed)
		return;
	for (;;) {
		size_t room = m->cap - m->len;

		va_start(ap, fmt);
		n = vsnprintf(m->data ? m->data + m->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			m->failed = 1;
			return;
		}
		if ((size_t)n < room) {
			m->len += (size_t)n;
			return;
		}
		size_t ncap = m->cap ? m->cap * 2 : 4096;
		while (ncap - m->len <= (size_t)n)
			ncap *= 2;
		char *p = realloc(m->data, ncap);
		if (!p) {
			m->failed = 1;
			return;
		}
		m->data = p;
		m->cap = ncap;
	}
}

int
metrics_add_source(metrics_source fn)
{
	if (metrics_nsources >= METRICS_MAX_SOURCES)
		return -1;
	metrics_sources[metrics_nsources++] = fn;
	return 0;
}

void
metrics_printers_upserted(unsigned long n)
{
	atomic_fetch_add(&metrics_upserted, n);
}

void
metrics_bulk_request(void)
{
	atomic_fetch_add(&metrics_bulk, 1);
}

int
metrics_render(struct metrics_buf *m)
{
	metrics_printf(m, "# HELP printmaster_printers_upserted_total Printers written by bulk sync.\n"
	    "# TYPE printmaster_printers_upserted_total counter\n"
	    "printmaster_printers_upserted_total %lu\n", atomic_load(&metrics_upserted));
	metrics_printf(m, "# HELP printmaster_bulk_batches_total Bulk requests committed.\n"
	    "# TYPE printmaster_bulk_batches_total counter\n"
	    "printmaster_bulk_batches_total %lu\n", atomic_load(&metrics_bulk));
	metrics_printf(m, "# HELP printmaster_db_errors_total Failed database statements and connects.\n"
	    "# TYPE printmaster_db_errors_total counter\n"
	    "printmaster_db_errors_total %lu\n", db_error_count());
	for (int i = 0; i < metrics_nsources; i++)
		metrics_sources[i](m);
	return m->failed ? -1 : 0;
}
