/* SPDX-License-Identifier: MIT */
/*
 * cnbd_backend_lookup(), the host service through which a layer (faulty)
 * gets the backend it wraps: the program says how a name is resolved.
 * nbd-serverd's master loads it with its checks, from the directory of
 * the export being opened; a worker answers from what the master handed
 * over; a program that set nothing refuses.
 */
#ifndef CNBD_BACKEND_LOOKUP_H
#define CNBD_BACKEND_LOOKUP_H

#include <stddef.h>

#include "cnbd/backend.h"

typedef const struct cnbd_backend *(*backend_resolver)(void *ctx, const char *name,
							char *err, size_t errlen);

void backend_lookup_set(backend_resolver resolve, void *ctx);

#endif
