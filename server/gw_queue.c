/*
 * gw_queue.c: the growable ring behind each websocket connection's queue. A
 * fan-out burst doubles the ring as far as it needs (never past the bound);
 * once the client has read everything the ring goes back to GW_QUEUE_MIN
 * slots, so ten thousand idle connections cost 48 bytes of queue each.
 */
#include <stdlib.h>
#include <string.h>

#include "server/gw_queue.h"

/* Copy the ring in order into a new array of cap slots; head becomes 0. */
static int
gw_queue_resize(struct gw_queue *q, uint32_t cap)
{
	struct gw_msg **s = malloc((size_t)cap * sizeof(*s));
	uint32_t first;

	if (!s)
		return -1;
	if (q->len) {
		first = q->cap - q->head < q->len ? q->cap - q->head : q->len;
		memcpy(s, q->slot + q->head, (size_t)first * sizeof(*s));
		memcpy(s + first, q->slot, (size_t)(q->len - first) * sizeof(*s));
	}
	free(q->slot);
	q->slot = s;
	q->cap = cap;
	q->head = 0;
	return 0;
}

int
gw_queue_push(struct gw_queue *q, struct gw_msg *m, uint32_t max)
{
	uint32_t tail;

	if (q->len >= max)
		return -1;
	if (q->len == q->cap) {
		uint32_t cap = q->cap ? q->cap * 2 : GW_QUEUE_MIN;

		if (cap > max)
			cap = max;
		if (cap < q->len + 1)
			cap = q->len + 1;
		if (gw_queue_resize(q, cap) < 0)
			return -2;
	}
	tail = q->head + q->len;
	if (tail >= q->cap)
		tail -= q->cap;
	q->slot[tail] = m;
	q->len++;
	return 0;
}

struct gw_msg *
gw_queue_peek(const struct gw_queue *q, uint32_t i)
{
	uint32_t at;

	if (i >= q->len)
		return NULL;
	at = q->head + i;
	if (at >= q->cap)
		at -= q->cap;
	return q->slot[at];
}

struct gw_msg *
gw_queue_pop(struct gw_queue *q)
{
	struct gw_msg *m;

	if (!q->len)
		return NULL;
	m = q->slot[q->head];
	q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
	q->len--;
	if (q->len == 0) {
		q->head = 0;
		/* A failed shrink keeps the larger ring: still correct. */
		if (q->cap > GW_QUEUE_MIN)
			(void)gw_queue_resize(q, GW_QUEUE_MIN);
	}
	return m;
}

void
gw_queue_free(struct gw_queue *q)
{
	free(q->slot);
	q->slot = NULL;
	q->head = q->len = q->cap = 0;
}
