/* SPDX-License-Identifier: MIT */
/*
 * The wait between two attempts: capped exponential backoff with jitter
 * (half to all of the delay, so that many clients of one server do not
 * come back in step). A kick (udev saw a device appear, or nbdctl asked)
 * cuts it short, and so do a stop and the end of the binding.
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

bool backoff(struct device *d, unsigned attempt, unsigned cap_ms)
{
	unsigned ms = BACKOFF_FIRST_MS << (attempt < 6 ? attempt : 6);
	unsigned r = 0;
	struct timespec deadline;
	bool stop;

	if (ms > cap_ms)
		ms = cap_ms;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) < 0)
		r = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)d;
	ms = ms / 2 + r % (ms / 2 + 1);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	add_ms(&deadline, ms);
	pthread_mutex_lock(&device_lock);
	while (!d->stop && !d->kicked && !(d->bound && d->ended) && !passed(&deadline))
		device_wait_locked(d, &deadline);
	d->kicked = false;
	stop = d->stop;
	pthread_mutex_unlock(&device_lock);
	return stop;
}
