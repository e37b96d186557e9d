/*
 * gw_queue.h: one websocket connection's outgoing queue: a ring of pointers to
 * shared messages that grows on demand up to a bound and shrinks back once
 * drained, so an idle connection holds a few slots instead of ws_queue_max;
 * and the packing of several queued messages into frames for one send.
 * Pure (no lws calls, no locks): the gateway's lws thread owns every queue.
 */
#ifndef PM_GW_QUEUE_H
#define PM_GW_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define GW_QUEUE_MIN 4		/* slots kept by a queue that has held anything */
#define GW_FRAME_HEADER_MAX 10	/* longest websocket frame header a server sends */

struct gw_msg;

/* All zero is an empty queue without slots. */
struct gw_queue {
	struct gw_msg **slot;
	uint32_t head, len, cap;
};

/* Append m at the tail. The queue holds the pointer only: references are the
 * caller's business. 0; -1 when len has reached max (nothing changed); -2 when
 * the ring could not grow (nothing changed). */
int gw_queue_push(struct gw_queue *q, struct gw_msg *m, uint32_t max);
/* The i-th message from the head, or NULL when i >= len. */
struct gw_msg *gw_queue_peek(const struct gw_queue *q, uint32_t i);
/* Remove and return the head, NULL when empty. Emptying a ring larger than
 * GW_QUEUE_MIN shrinks it back to GW_QUEUE_MIN slots. */
struct gw_msg *gw_queue_pop(struct gw_queue *q);
/* Free the slots (not the messages); the queue is empty and slotless after.
 * gw_queue_free on a zeroed queue is a no-op. */
void gw_queue_free(struct gw_queue *q);

/* The RFC 6455 header of one final, unmasked text frame (what a server sends)
 * of len payload bytes into hdr; returns its length: 2, 4 or 10. */
size_t gw_frame_header(unsigned char hdr[GW_FRAME_HEADER_MAX], uint64_t len);
/* The frames of q's first messages, in order and each whole, into buf (at
 * most cap bytes). Returns the bytes written and sets *n to the number of
 * messages packed: 0 when the head's frame alone is larger than cap. The
 * queue is left as it is. */
size_t gw_queue_pack(const struct gw_queue *q, unsigned char *buf, size_t cap,
    uint32_t *n);

#endif
