/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lease.h"

int lease_socketpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0)
		return 0;
	close(sv[0]);
	close(sv[1]);
	return -1;
}

static int wait_reply(int fd, struct lease_reply *r)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int rc;

	do
		rc = poll(&pfd, 1, LEASE_TIMEOUT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return -1;
	n = recv(fd, r, sizeof(*r), 0);
	if (n != sizeof(*r))
		return -1;
	r->why[LEASE_WHY_MAX] = '\0';
	return 0;
}

int lease_ask(int fd, const struct cnbd_export *exp, char *why, size_t whylen)
{
	struct lease_request rq = { .generation = exp->generation };
	struct lease_reply r;

	if (strlen(exp->name) > LEASE_NAME_MAX) {
		snprintf(why, whylen, "export name too long for a lease");
		return -1;
	}
	strcpy(rq.name, exp->name);
	if (send(fd, &rq, sizeof(rq), MSG_NOSIGNAL) != sizeof(rq) || wait_reply(fd, &r) < 0) {
		snprintf(why, whylen, "export '%s': the server could not grant a connection",
			 exp->name);
		return -1;
	}
	if (r.granted)
		return 0;
	snprintf(why, whylen, "%s", r.why);
	return -1;
}

int lease_receive(int fd, struct lease_request *rq)
{
	ssize_t n = recv(fd, rq, sizeof(*rq), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n != sizeof(*rq) || !memchr(rq->name, '\0', sizeof(rq->name)))
		return -1;
	return 1;
}

int lease_answer(int fd, bool granted, const char *why)
{
	struct lease_reply r = { .granted = granted };

	snprintf(r.why, sizeof(r.why), "%s", why);
	if (send(fd, &r, sizeof(r), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(r))
		return -1;
	return 0;
}
