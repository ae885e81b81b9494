/* SPDX-License-Identifier: MIT */
/* Allocation of a file descriptor's storage as base:allocation extents,
 * found with lseek(SEEK_DATA/SEEK_HOLE). Shared by the file and memory
 * backends (tmpfs, and so a memfd, supports both whences). */
#ifndef CNBD_BACKENDS_SEEK_EXTENTS_H
#define CNBD_BACKENDS_SEEK_EXTENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cnbd/backend.h"

/* Reports [offset, offset + count) of fd: data as type 0, holes as
 * CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO. With req_one, stops after the
 * first extent. Where the file system cannot tell, everything is data.
 * 0, or -1 with errno set. */
int seek_extents(int fd, uint64_t offset, uint32_t count, bool req_one,
		 struct cnbd_extents *extents);

#endif
