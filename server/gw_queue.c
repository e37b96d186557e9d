/*
 * gw_queue.c: the growable ring behind each websocket connection's queue. A
 * fan-out burst doubles the ring as far as it needs (never past the bound);
 * once the client has read everything the ring goes back to GW_QUEUE_MIN
 * slots, so ten thousand idle connections cost 48 bytes of queue each.
 * gw_queue_pack frames what a burst queued, for one send instead of one each.
 * Not here: references or overflow (gateway_conn.c).
 */
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>

#include "server/gateway.h"
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

/*
 * lws 4.1.6 frames one message per lws_write, and each is a send() of its own:
 * with thousands of clients most of the server's time went into the kernel's
 * per-send cost. Frames of several messages are therefore made here and go
 * out with one LWS_WRITE_RAW. A server's frames are unmasked, and no
 * extension (permessage-deflate) is offered, so the bytes are the same for
 * every client.
 */
size_t
gw_frame_header(unsigned char hdr[GW_FRAME_HEADER_MAX], uint64_t len)
{
	hdr[0] = 0x81;		/* FIN, text */
	if (len < 126) {
		hdr[1] = (unsigned char)len;
		return 2;
	}
	if (len < 65536) {
		hdr[1] = 126;
		hdr[2] = (unsigned char)(len >> 8);
		hdr[3] = (unsigned char)len;
		return 4;
	}
	hdr[1] = 127;
	for (int i = 0; i < 8; i++)
		hdr[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return 10;
}

size_t
gw_queue_pack(const struct gw_queue *q, unsigned char *buf, size_t cap, uint32_t *n)
{
	size_t used = 0;
	uint32_t i;

	for (i = 0; i < q->len; i++) {
		const struct gw_msg *m = gw_queue_peek(q, i);
		unsigned char hdr[GW_FRAME_HEADER_MAX];
		size_t h = gw_frame_header(hdr, m->len);

		if (m->len > cap - used || h > cap - used - m->len)
			break;
		memcpy(buf + used, hdr, h);
		memcpy(buf + used + h, m->data + LWS_PRE, m->len);
		used += h + m->len;
	}
	*n = i;
	return used;
}
