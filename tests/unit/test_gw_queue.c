/*
 * test_gw_queue.c: the websocket connection queue: order across growth and
 * wrap-around, the bound, shrinking back once drained, and freeing; frame
 * headers and packing queued messages into frames for one send.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/gateway.h"
#include "server/gw_queue.h"

/* The queue never dereferences its messages: numbered fake pointers do. */
#define MSG(n) ((struct gw_msg *)(uintptr_t)(0x1000 + (n)))

static void
test_empty(void **state)
{
	struct gw_queue q = { 0 };

	(void)state;
	assert_null(gw_queue_pop(&q));
	assert_null(gw_queue_peek(&q, 0));
	assert_int_equal(q.cap, 0);
	gw_queue_free(&q);
	gw_queue_free(&q);
	assert_null(q.slot);
}

static void
test_fifo_and_growth(void **state)
{
	struct gw_queue q = { 0 };

	(void)state;
	assert_int_equal(gw_queue_push(&q, MSG(0), 256), 0);
	assert_int_equal(q.cap, GW_QUEUE_MIN);
	for (int i = 1; i < 100; i++)
		assert_int_equal(gw_queue_push(&q, MSG(i), 256), 0);
	assert_int_equal(q.len, 100);
	assert_int_equal(q.cap, 128);
	for (uint32_t i = 0; i < 100; i++)
		assert_ptr_equal(gw_queue_peek(&q, i), MSG(i));
	assert_null(gw_queue_peek(&q, 100));
	for (int i = 0; i < 100; i++)
		assert_ptr_equal(gw_queue_pop(&q), MSG(i));
	assert_null(gw_queue_pop(&q));
	gw_queue_free(&q);
}

/* Growth while the ring has wrapped keeps the order. */
static void
test_grow_wrapped(void **state)
{
	struct gw_queue q = { 0 };
	int next = 0, want = 0;

	(void)state;
	for (int i = 0; i < GW_QUEUE_MIN; i++)
		assert_int_equal(gw_queue_push(&q, MSG(next++), 64), 0);
	/* head at 3: the tail wraps to slots 0..2 */
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(gw_queue_pop(&q), MSG(want++));
	for (int i = 0; i < 3; i++)
		assert_int_equal(gw_queue_push(&q, MSG(next++), 64), 0);
	assert_int_equal(q.len, GW_QUEUE_MIN);
	assert_int_equal(q.cap, GW_QUEUE_MIN);
	assert_int_not_equal(q.head, 0);
	assert_int_equal(gw_queue_push(&q, MSG(next++), 64), 0);
	assert_int_equal(q.cap, 2 * GW_QUEUE_MIN);
	for (uint32_t i = 0; i < q.len; i++)
		assert_ptr_equal(gw_queue_peek(&q, i), MSG(want + (int)i));
	while (q.len)
		assert_ptr_equal(gw_queue_pop(&q), MSG(want++));
	assert_int_equal(want, next);
	gw_queue_free(&q);
}

/* The bound is exact, also when it is not a power of two, and a full queue is
 * left as it was. */
static void
test_bound(void **state)
{
	struct gw_queue q = { 0 };

	(void)state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(gw_queue_push(&q, MSG(i), 100), 0);
	assert_int_equal(q.cap, 100);
	assert_int_equal(gw_queue_push(&q, MSG(100), 100), -1);
	assert_int_equal(q.len, 100);
	assert_ptr_equal(gw_queue_peek(&q, 99), MSG(99));
	assert_ptr_equal(gw_queue_pop(&q), MSG(0));
	assert_int_equal(gw_queue_push(&q, MSG(100), 100), 0);
	assert_ptr_equal(gw_queue_peek(&q, 99), MSG(100));
	gw_queue_free(&q);

	/* A bound below GW_QUEUE_MIN is still the bound. */
	assert_int_equal(gw_queue_push(&q, MSG(0), 2), 0);
	assert_int_equal(gw_queue_push(&q, MSG(1), 2), 0);
	assert_int_equal(gw_queue_push(&q, MSG(2), 2), -1);
	assert_int_equal(q.cap, 2);
	gw_queue_free(&q);
}

/* Drained, a grown ring goes back to GW_QUEUE_MIN slots; partly drained, it
 * keeps its size. */
static void
test_shrink(void **state)
{
	struct gw_queue q = { 0 };

	(void)state;
	for (int i = 0; i < 40; i++)
		assert_int_equal(gw_queue_push(&q, MSG(i), 256), 0);
	assert_int_equal(q.cap, 64);
	for (int i = 0; i < 39; i++)
		assert_ptr_equal(gw_queue_pop(&q), MSG(i));
	assert_int_equal(q.cap, 64);
	assert_ptr_equal(gw_queue_pop(&q), MSG(39));
	assert_int_equal(q.cap, GW_QUEUE_MIN);
	assert_int_equal(q.head, 0);
	assert_non_null(q.slot);
	/* and is used again from there */
	for (int i = 0; i < 6; i++)
		assert_int_equal(gw_queue_push(&q, MSG(i), 256), 0);
	for (int i = 0; i < 6; i++)
		assert_ptr_equal(gw_queue_pop(&q), MSG(i));
	gw_queue_free(&q);
	assert_int_equal(q.cap, 0);
	assert_int_equal(q.len, 0);
}

/* RFC 6455 5.2: 7-bit, 16-bit and 64-bit payload lengths, FIN + text. */
static void
test_frame_header(void **state)
{
	unsigned char h[GW_FRAME_HEADER_MAX];

	(void)state;
	assert_int_equal(gw_frame_header(h, 0), 2);
	assert_memory_equal(h, "\x81\x00", 2);
	assert_int_equal(gw_frame_header(h, 125), 2);
	assert_memory_equal(h, "\x81\x7d", 2);
	assert_int_equal(gw_frame_header(h, 126), 4);
	assert_memory_equal(h, "\x81\x7e\x00\x7e", 4);
	assert_int_equal(gw_frame_header(h, 65535), 4);
	assert_memory_equal(h, "\x81\x7e\xff\xff", 4);
	assert_int_equal(gw_frame_header(h, 65536), 10);
	assert_memory_equal(h, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
	assert_int_equal(gw_frame_header(h, 0x0102030405ULL), 10);
	assert_memory_equal(h, "\x81\x7f\x00\x00\x00\x01\x02\x03\x04\x05", 10);
}

/* Whole frames in queue order, as many as fit; the queue is not changed. */
static void
test_pack(void **state)
{
	struct gw_queue q = { 0 };
	struct gw_msg *a = gw_msg_new("{\"a\":1}", 7, 1);
	char long_text[300];
	struct gw_msg *b, *c;
	unsigned char buf[1024];
	uint32_t n = 99;
	size_t len;

	(void)state;
	memset(long_text, 'x', sizeof(long_text));
	b = gw_msg_new(long_text, sizeof(long_text), 1);
	c = gw_msg_new("{}", 2, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(gw_queue_pack(&q, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(gw_queue_push(&q, a, 8), 0);
	assert_int_equal(gw_queue_push(&q, b, 8), 0);
	assert_int_equal(gw_queue_push(&q, c, 8), 0);

	len = gw_queue_pack(&q, buf, sizeof(buf), &n);
	assert_int_equal(n, 3);
	assert_int_equal(len, 2 + 7 + 4 + 300 + 2 + 2);
	assert_memory_equal(buf, "\x81\x07{\"a\":1}", 9);
	assert_memory_equal(buf + 9, "\x81\x7e\x01\x2c", 4);
	assert_memory_equal(buf + 13, long_text, 300);
	assert_memory_equal(buf + 313, "\x81\x02{}", 4);
	assert_int_equal(q.len, 3);

	/* Room for the first two frames exactly: the third waits. */
	len = gw_queue_pack(&q, buf, 313, &n);
	assert_int_equal(n, 2);
	assert_int_equal(len, 313);
	len = gw_queue_pack(&q, buf, 316, &n);
	assert_int_equal(n, 2);
	/* The head alone too long: nothing packed. */
	len = gw_queue_pack(&q, buf, 8, &n);
	assert_int_equal(n, 0);
	assert_int_equal(len, 0);
	assert_ptr_equal(gw_queue_pop(&q), a);
	len = gw_queue_pack(&q, buf, 100, &n);
	assert_int_equal(n, 0);

	while (q.len)
		gw_msg_unref(gw_queue_pop(&q));
	gw_msg_unref(a);
	gw_queue_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fifo_and_growth),
		cmocka_unit_test(test_grow_wrapped),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_shrink),
		cmocka_unit_test(test_frame_header),
		cmocka_unit_test(test_pack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
