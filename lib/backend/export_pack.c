/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "backend/export_pack.h"

void pack_init(struct cnbd_pack *p)
{
	p->nfds = 0;
	p->len = 0;
	p->next_fd = 0;
	p->next_byte = 0;
}

void pack_clear(struct cnbd_pack *p)
{
	for (size_t i = p->next_fd; i < p->nfds; i++)
		close(p->fds[i]);
	pack_init(p);
}

int cnbd_pack_fd(struct cnbd_pack *p, int fd)
{
	int copy;

	if (p->nfds >= CNBD_PACK_MAX_FDS) {
		errno = EMFILE;
		return -1;
	}
	copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (copy < 0)
		return -1;
	p->fds[p->nfds++] = copy;
	return 0;
}

int cnbd_pack_bytes(struct cnbd_pack *p, const void *data, size_t len)
{
	if (len > sizeof(p->bytes) - p->len) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(p->bytes + p->len, data, len);
	p->len += len;
	return 0;
}

int cnbd_unpack_fd(struct cnbd_pack *p)
{
	if (p->next_fd >= p->nfds) {
		errno = EINVAL;
		return -1;
	}
	return p->fds[p->next_fd++];
}

int cnbd_unpack_bytes(struct cnbd_pack *p, void *data, size_t len)
{
	if (len > p->len - p->next_byte) {
		errno = EINVAL;
		return -1;
	}
	memcpy(data, p->bytes + p->next_byte, len);
	p->next_byte += len;
	return 0;
}
