/* SPDX-License-Identifier: MIT */
/* Positioned reads and writes that finish the job: the kernel may move
 * fewer bytes than asked (a signal, a large request); a backend must not. */
#ifndef CNBD_BACKENDS_PREAD_FULL_H
#define CNBD_BACKENDS_PREAD_FULL_H

#include <stdint.h>

/* Reads exactly count bytes of fd at offset, retrying after EINTR and
 * short reads. 0 on success; -1 with errno from pread; 1 when the file
 * ended first (it shrank: the caller says so and fails with EINVAL). */
int pread_full(int fd, void *buf, uint32_t count, uint64_t offset);
/* Writes exactly count bytes at offset, retrying after EINTR and short
 * writes. 0, or -1 with errno (ENOSPC when nothing more fits). */
int pwrite_full(int fd, const void *buf, uint64_t count, uint64_t offset);

#endif
