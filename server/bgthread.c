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
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0) {
		log_warn("[GATEWAY] %s: eventfd", t->what);
		return -1;
	}
	atomic_store(&t->stopping, 0);
	pthread_mutex_lock(&t->mu);
	t->wake = fd;
	pthread_mutex_unlock(&t->mu);
	if (pthread_create(&t->thread, NULL, fn, NULL) != 0) {
		log_error("[GATEWAY] could not start the %s thread", t->what);
		pthread_mutex_lock(&t->mu);
		t->wake = -1;
		pthread_mutex_unlock(&t->mu);
		close(fd);
		return -1;
	}
	t->running = 1;
	return 0;
}

void
bgthread_wake(struct bgthread *t)
{
	uint64_t one = 1;

	pthread_mutex_lock(&t->mu);
	if (t->wake >= 0 && write(t->wake, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("[GATEWAY] %s: eventfd", t->what);
	pthread_mutex_unlock(&t->mu);
}

void
bgthread_stop(struct bgthread *t)
{
	int fd;

	if (!t->running)
		return;
	atomic_store(&t->stopping, 1);
	bgthread_wake(t);
	pthread_join(t->thread, NULL);
	t->running = 0;
	pthread_mutex_lock(&t->mu);
	fd = t->wake;
	t->wake = -1;
	pthread_mutex_unlock(&t->mu);
	close(fd);
}

int
bgthread_stopping(struct bgthread *t)
{
	return atomic_load(&t->stopping);
}

int
bgthread_sleep(struct bgthread *t, int ms)
{
	/* The thread's own descriptor: stop closes it only after the join. */
	struct pollfd p = { .fd = t->wake, .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, ms) < 0) {
		if (errno != EINTR)
			log_warn("[GATEWAY] %s: poll", t->what);
		return 0;
	}
	if (!(p.revents & POLLIN))
		return 0;
	/* A wake is taken; a stop stays, so every later sleep ends at once. */
	if (!bgthread_stopping(t) && read(p.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("[GATEWAY] %s: eventfd", t->what);
	return 1;
}

int
bgthread_fd(const struct bgthread *t)
{
	return t->wake;
}
