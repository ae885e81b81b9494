/* SPDX-License-Identifier: MIT */
#ifndef CNBD_SUPERVISOR_H
#define CNBD_SUPERVISOR_H

/* A device's thread: attach, watch, reconnect with backoff, detach when
 * told. arg is the struct device; the thread holds a reference. */
void *supervise(void *arg);

#endif
