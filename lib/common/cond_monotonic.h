/* SPDX-License-Identifier: MIT */
#ifndef CNBD_COND_MONOTONIC_H
#define CNBD_COND_MONOTONIC_H

#include <pthread.h>

/* A condition variable whose timed waits take CLOCK_MONOTONIC deadlines:
 * a change of the wall clock neither cuts a wait short nor stretches it. */
void cond_init_monotonic(pthread_cond_t *c);

#endif
