/* SPDX-License-Identifier: MIT */
/*
 * The wait between two attempts: capped exponential backoff with jitter
 * (half to all of the delay, so that many clients of one server do not
 * come back in step). A kick (udev saw a device appear, or nbdctl asked)
 * cuts it short, and so do a stop and the end of the binding. And the
 * give-up clock: how long the attachment has gone without a live
 * connection.
 */
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "attach/supervisor_priv.h"

static void add_ms(struct timespec *t, unsigned ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool passed(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

unsigned backoff_ms(const struct cnbd_attach *a, unsigned attempt, bool held, unsigned r)
{
	unsigned cap = held ? a->backoff_held_ms : a->backoff_max_ms;
	uint64_t ms = (uint64_t)a->backoff_min_ms << (attempt < 16 ? attempt : 16);

	if (ms > cap)
		ms = cap;
	return (unsigned)(ms / 2 + r % (ms / 2 + 1));
}

bool backoff(struct cnbd_attach *a, unsigned attempt, bool held)
{
	unsigned r = 0;
	struct timespec deadline;
	bool stop;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) < 0)
		r = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)a;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	add_ms(&deadline, backoff_ms(a, attempt, held, r));
	pthread_mutex_lock(&a->lock);
	while (!a->stop && !a->kicked && !(a->bound && a->ended) && !passed(&deadline))
		attach_wait_locked(a, &deadline);
	a->kicked = false;
	stop = a->stop;
	pthread_mutex_unlock(&a->lock);
	return stop;
}

void connected(struct cnbd_attach *a)
{
	a->unconnected = false;
}

bool giving_up(struct cnbd_attach *a)
{
	struct timespec now;

	if (!a->give_up_s)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!a->unconnected) {
		a->unconnected = true;
		a->unconnected_since = now;
		return false;
	}
	return (now.tv_sec - a->unconnected_since.tv_sec) * 1000 +
	       (now.tv_nsec - a->unconnected_since.tv_nsec) / 1000000 >=
	       (long long)a->give_up_s * 1000;
}
