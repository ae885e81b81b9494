/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <unistd.h>

#include "pread_full.h"

int pread_full(int fd, void *buf, uint32_t count, uint64_t offset)
{
	char *p = buf;
	ssize_t n;

	while (count) {
		n = pread(fd, p, count, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 1;
		p += n;
		count -= n;
		offset += n;
	}
	return 0;
}

int pwrite_full(int fd, const void *buf, uint64_t count, uint64_t offset)
{
	const char *p = buf;
	ssize_t n;

	while (count) {
		n = pwrite(fd, p, count, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		count -= n;
		offset += n;
	}
	return 0;
}
