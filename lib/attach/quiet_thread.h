/* SPDX-License-Identifier: MIT */
/*
 * The library's threads take no signals: a program's handlers run on its
 * own threads, and a signal landing on the thread blocked in NBD_DO_IT
 * would make the kernel shut the device's sockets (the wait there is
 * interruptible).
 */
#ifndef CNBD_QUIET_THREAD_H
#define CNBD_QUIET_THREAD_H

#include <pthread.h>

/* pthread_create() with every signal blocked in the new thread; the
 * caller's mask is left as it was. Returns pthread_create()'s answer. */
int quiet_thread_create(pthread_t *thread, const pthread_attr_t *attr,
			void *(*fn)(void *), void *arg);

#endif
