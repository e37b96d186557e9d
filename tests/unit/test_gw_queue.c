/*
 * test_gw_queue.c: the websocket connection queue: order across growth and
 * wrap-around, the bound, shrinking back once drained, and freeing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fifo_and_growth),
		cmocka_unit_test(test_grow_wrapped),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_shrink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
