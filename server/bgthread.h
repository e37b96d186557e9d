/*
 * bgthread.h: a background thread of the server that sleeps between rounds,
 * may be woken early and is asked to stop: the thread, the eventfd that wakes
 * it at once, and the stop flag. The event listener, the lease sweeper and the
 * job dispatcher each run on one.
 */
#ifndef PM_BGTHREAD_H
#define PM_BGTHREAD_H

#include <pthread.h>
#include <stdatomic.h>

struct bgthread {
	const char *what;	/* for log lines: "listener", "sweeper" */
	pthread_t thread;
	/* eventfd, -1 when not running; mu keeps a wake from another thread
	 * off a descriptor that stop is closing (and the system may reuse). */
	int wake;
	pthread_mutex_t mu;
	int running;
	atomic_int stopping;
};

#define BGTHREAD_INIT(name) { .what = (name), .wake = -1, .mu = PTHREAD_MUTEX_INITIALIZER }

/* Run fn(NULL) on a new thread. 0, or -1 (logged). */
int bgthread_start(struct bgthread *t, void *(*fn)(void *));
/* Ask the thread to stop, wake it and wait for it; a no-op when not running. */
void bgthread_stop(struct bgthread *t);
/* Has stop been asked? (the thread's loop condition) */
int bgthread_stopping(struct bgthread *t);
/* Any thread: end the thread's current or next sleep early (a no-op when it
 * is not running). */
void bgthread_wake(struct bgthread *t);
/* The thread itself: sleep up to ms, waking at once on bgthread_wake or when
 * stop is asked. 1 when woken, 0 when the time ran out. */
int bgthread_sleep(struct bgthread *t, int ms);
/* The thread itself: the descriptor that turns readable on a wake or a stop,
 * for a poll of more. */
int bgthread_fd(const struct bgthread *t);

#endif
