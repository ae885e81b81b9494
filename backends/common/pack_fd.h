/* SPDX-License-Identifier: MIT */
/* Handing a storage descriptor to a worker (export_pack, ABI 1.2). */
#ifndef CNBD_BACKENDS_PACK_FD_H
#define CNBD_BACKENDS_PACK_FD_H

#include <stdbool.h>

#include "cnbd/backend.h"

/* Puts fd in pack; with readonly, a new open of the same file made
 * read-only instead (through /proc/self/fd), so that the worker cannot
 * write through it whatever it tries: F_SETFL cannot add write access.
 * 0, or -1 with errno. */
int pack_storage_fd(struct cnbd_pack *pack, int fd, bool readonly);

#endif
