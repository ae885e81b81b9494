/* SPDX-License-Identifier: MIT */
/* The list a backend fills through cnbd_add_extent() for BLOCK_STATUS. */
#ifndef CNBD_EXTENTS_H
#define CNBD_EXTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnbd/backend.h"

struct cnbd_extent_entry {
	uint64_t offset;
	uint64_t length;
	uint32_t type;		/* CNBD_EXTENT_* */
};

/* Extents covering at most [offset, offset + max_length); with req_one,
 * the first extent is all that is kept. */
struct cnbd_extents *extents_new(uint64_t offset, uint64_t max_length, bool req_one);
size_t extents_count(const struct cnbd_extents *extents);
const struct cnbd_extent_entry *extents_get(const struct cnbd_extents *extents, size_t i);
void extents_free(struct cnbd_extents *extents);

#endif
