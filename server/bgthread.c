/*
 * bgthread.c: start, stop and sleep of the server's background threads (see
 * bgthread.h). Not here: what a thread does in its rounds.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "server/bgthread.h"

int
bgthread_start(struct bgthread *t, void *(*fn)(void *))
{
	if ((t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		log_warn("[GATEWAY] %s: eventfd", t->what);
		return -1;
	}
	atomic_store(&t->stopping, 0);
	if (pthread_create(&t->thread, NULL, fn, NULL) != 0) {
		log_error("[GATEWAY] could not start the %s thread", t->what);
		close(t->wake);
		t->wake = -1;
		return -1;
	}
	t->running = 1;
	return 0;
}

void
bgthread_stop(struct bgthread *t)
{
	uint64_t one = 1;

	if (!t->running)
		return;
	atomic_store(&t->stopping, 1);
	if (write(t->wake, &one, sizeof(one)) < 0)
		log_warn("[GATEWAY] %s: eventfd", t->what);
	pthread_join(t->thread, NULL);
	t->running = 0;
	close(t->wake);
	t->wake = -1;
}

int
bgthread_stopping(struct bgthread *t)
{
	return atomic_load(&t->stopping);
}

void
bgthread_sleep(struct bgthread *t, int ms)
{
	struct pollfd p = { .fd = t->wake, .events = POLLIN };

	if (poll(&p, 1, ms) < 0 && errno != EINTR)
		log_warn("[GATEWAY] %s: poll", t->what);
}

int
bgthread_fd(const struct bgthread *t)
{
	return t->wake;
}
