/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/wire.h"

int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return writev_full(fd, &iov, 1);
}

/* sendmsg with MSG_NOSIGNAL, so that a peer that vanished is an EPIPE
 * for this call and not a SIGPIPE for a program that embeds us; plain
 * writev for what is not a socket. */
static ssize_t writev_nosignal(int fd, struct iovec *iov, int iovcnt, int flags)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = iovcnt };
	ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | flags);

	if (n < 0 && errno == ENOTSOCK)
		n = writev(fd, iov, iovcnt);
	return n;
}

int writev_full(int fd, struct iovec *iov, int iovcnt)
{
	return writev_full_flags(fd, iov, iovcnt, 0);
}

int writev_full_flags(int fd, struct iovec *iov, int iovcnt, int flags)
{
	while (iovcnt > 0) {
		ssize_t n = writev_nosignal(fd, iov, iovcnt > IOV_MAX ? IOV_MAX : iovcnt,
					    flags);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}

int discard_full(int fd, uint64_t len)
{
	uint8_t sink[4096];

	while (len > 0) {
		size_t chunk = len < sizeof(sink) ? len : sizeof(sink);
		if (read_full(fd, sink, chunk) < 0)
			return -1;
		len -= chunk;
	}
	return 0;
}
