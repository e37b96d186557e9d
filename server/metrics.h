/*
 * metrics.h: Prometheus text exposition for GET /metrics. Modules register a
 * source function that appends their lines; counters are atomics, so any
 * thread may bump them.
 */
#ifndef PM_METRICS_H
#define PM_METRICS_H

#include <stddef.h>

struct metrics_buf {
	char *data;
	size_t len, cap;
	int failed;
};

typedef void (*metrics_source)(struct metrics_buf *);

void metrics_printf(struct metrics_buf *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Register before the server starts; at most 16 sources. */
int metrics_add_source(metrics_source fn);
/* Render everything; caller frees m->data. */
int metrics_render(struct metrics_buf *m);

void metrics_printers_upserted(unsigned long n);
void metrics_bulk_request(void);

#endif
