/* SPDX-License-Identifier: MIT */
/*
 * The server engine (cnbd_serve_connection) under a fuzz target: hooks
 * with three exports on in-memory disks, and one call that serves a
 * connection whose client sends prefix then data and then ends.
 *
 *   "a"       1 MiB, every callback, inline (NONBLOCKING); the default
 *             export, with a description
 *   "b"       256 KiB, pool mode (two executors, NOWAIT tries), block
 *             sizes 512/4096/64K
 *   "locked"  on the disk of "a"; every lease on it is refused
 */
#ifndef CNBD_FUZZ_ENGINE_H
#define CNBD_FUZZ_ENGINE_H

#include <stddef.h>
#include <stdint.h>

void fuzz_engine_serve(const uint8_t *prefix, size_t prefix_len,
		       const uint8_t *data, size_t len);

#endif
