/* SPDX-License-Identifier: MIT */
/*
 * The backends' code in a worker: the .so files the master loaded and
 * checked, handed over as descriptors and loaded from them before the
 * sandbox closes the door on opening anything. Code only: an export's
 * state comes later, with the lease, and only for the chosen export.
 */
#ifndef CNBD_SERVER_WORKER_BACKENDS_H
#define CNBD_SERVER_WORKER_BACKENDS_H

#include <stddef.h>

#include "cnbd/backend.h"

/* Loads the backend named names[i] from descriptor first_fd + i, and
 * closes the descriptors. 0, or -1 (logged). */
int worker_backends_load(char **names, size_t n, int first_fd);
/* The index-th one loaded, or NULL. */
const struct cnbd_backend *worker_backend_at(size_t index);
/* CNBD_BACKEND_* flags of all of them, or'ed: what the sandbox allows. */
unsigned worker_backends_flags(void);

#endif
