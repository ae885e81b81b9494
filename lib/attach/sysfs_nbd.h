/* SPDX-License-Identifier: MIT */
/* What sysfs says about /dev/nbdX: whether it exists, whether someone
 * serves it (the pid file), its size and backend identifier. */
#ifndef CNBD_SYSFS_NBD_H
#define CNBD_SYSFS_NBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "nbd0", "nbd15": "nbd" and a decimal number without leading zeros. */
bool nbd_name_valid(const char *name);
/* "nbd0p1" -> base "nbd0" and *part 1; "nbd0" -> *part 0. */
bool nbd_split_partition(const char *name, char *base, size_t baselen, unsigned *part);

bool nbd_exists(const char *name);
/* The pid serving the device, 0 when none. */
long nbd_pid(const char *name);
/* Bytes (from the size attribute, in 512-byte sectors). */
uint64_t nbd_size(const char *name);
/* Free: nobody serves it (no pid file) and its size is 0. */
bool nbd_is_free(const char *name);
/* The netlink backend identifier, "" when none: 0, or -1 when unreadable. */
int nbd_backend(const char *name, char *out, size_t outlen);
/* Caps the kernel's request size (queue/max_sectors_kb) at bytes, for a
 * server whose maximum payload is below the kernel's default. Best
 * effort: 0 or -1. */
int nbd_limit_request_size(const char *name, uint32_t bytes);
/* The first free device, in numeric order, for which skip() is false.
 * -1 when there is none. */
int nbd_first_free(char *out, size_t outlen, bool (*skip)(const char *name));

#endif
