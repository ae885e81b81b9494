/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor.h"

int monitor_socketpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0)
		return 0;
	close(sv[0]);
	close(sv[1]);
	return -1;
}

int monitor_send(int fd, const void *msg, size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * MON_FDS_MAX)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > MON_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(&ctl.h), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/* Takes the descriptors out of every SCM_RIGHTS message: those that do
 * not fit are closed, so that a peer cannot fill our table. */
static void take_fds(struct msghdr *mh, int *fds, size_t *nfds)
{
	size_t max = *nfds, got = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	*nfds = got;
}

ssize_t monitor_recv(int fd, void *msg, size_t len, int *fds, size_t *nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * MON_FDS_MAX)];
	} ctl;
	struct iovec iov = { .iov_base = msg, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	size_t none = 0;
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	take_fds(&mh, fds ? fds : NULL, nfds ? nfds : &none);
	if (n == 0) {
		errno = 0;
		return -1;
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

int monitor_call(int fd, const struct mon_request *rq, struct mon_reply *r,
		 int *fds, size_t *nfds)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t none = 0;
	ssize_t n;
	int rc;

	if (monitor_send(fd, rq, sizeof(*rq), NULL, 0) < 0)
		return -1;
	do
		rc = poll(&pfd, 1, MON_TIMEOUT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return -1;
	n = monitor_recv(fd, r, sizeof(*r), fds, nfds ? nfds : &none);
	if (n < (ssize_t)offsetof(struct mon_reply, data) || r->type != rq->type ||
	    r->len > sizeof(r->data) || (size_t)n != MON_REPLY_SIZE(r))
		return -1;
	r->why[MON_WHY_MAX] = '\0';
	r->exp.name[MON_NAME_MAX] = '\0';
	r->exp.backend[MON_BACKEND_MAX] = '\0';
	r->exp.description[NBD_MAX_STRING] = '\0';
	if (r->exp.description_len > NBD_MAX_STRING)
		return -1;
	return 0;
}
