/* SPDX-License-Identifier: MIT */
#include <signal.h>

#include "attach/quiet_thread.h"

int quiet_thread_create(pthread_t *thread, const pthread_attr_t *attr,
			void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	/* A new thread inherits the creator's mask: block, create, restore. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(thread, attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
