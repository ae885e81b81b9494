/* SPDX-License-Identifier: MIT */
/*
 * In-memory disks for the engine fuzz targets, built like the shipped
 * backends but in-process (no dlopen, no master): small, so that any
 * request the fuzzer makes is cheap, and with a few fixed failure spots
 * so that the error paths of the engine are reached too.
 */
#ifndef CNBD_FUZZ_DISK_H
#define CNBD_FUZZ_DISK_H

#include <pthread.h>
#include <stdint.h>

#include "cnbd/backend.h"

#define FUZZ_DISK_BLOCK		4096

struct fuzz_disk {
	pthread_mutex_t lock;
	uint8_t *data;
	uint8_t *allocated;	/* one byte per block, for extents */
	uint64_t size;
};

int fuzz_disk_init(struct fuzz_disk *d, uint64_t size);
/* Forgets what was written (extents back to one hole), between inputs. */
void fuzz_disk_reset(struct fuzz_disk *d);

/* Every callback with extents; NONBLOCKING, so the engine runs requests
 * inline on its reading thread. */
extern const struct cnbd_backend fuzz_disk_inline;
/* No zero, cache or extents (the engine emulates them), NATIVE_FUA, no
 * NONBLOCKING: requests go to the executor threads, except what NOWAIT
 * lets the engine do on its reading thread (reads and writes starting in
 * an even block; NOWAIT needs PARALLEL). */
extern const struct cnbd_backend fuzz_disk_pool;

#endif
