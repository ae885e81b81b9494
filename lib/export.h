/* SPDX-License-Identifier: MIT */
/* An export: a name, how it is advertised, and the backend serving it. */
#ifndef CNBD_EXPORT_H
#define CNBD_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnbd/backend.h"

struct cnbd_export {
	char *name;
	char *description;		/* may be NULL */
	bool readonly;
	uint32_t min_block;		/* advertised with NBD_INFO_BLOCK_SIZE */
	uint32_t pref_block;
	uint32_t max_block;		/* also the largest request accepted */
	unsigned max_connections;	/* 0: unlimited */
	const struct cnbd_backend *backend;
	void *handle;			/* from backend->open_export */
	uint64_t generation;		/* bumps when a reload replaces it */
};

#endif
