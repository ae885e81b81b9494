/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_peer.h"
#include "fuzz_target.h"

void fuzz_init_once(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	/* The code under test uses MSG_NOSIGNAL where it should; a write
	 * that does not is a finding for the log, not a dead fuzzer. */
	signal(SIGPIPE, SIG_IGN);
}

/* Sends what is left of (buf, *len); false when the socket is gone. */
static int send_some(int fd, const uint8_t **buf, size_t *len)
{
	ssize_t n = send(fd, *buf, *len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	*buf += n;
	*len -= n;
	return 0;
}

static void *peer_main(void *arg)
{
	struct fuzz_peer *p = arg;
	const uint8_t *a = p->prefix, *b = p->data;
	size_t alen = p->prefix_len, blen = p->len;
	uint8_t sink[65536];
	int writing = 1;

	for (;;) {
		struct pollfd pfd = {
			.fd = p->fd,
			.events = POLLIN | (writing ? POLLOUT : 0),
		};

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (writing && (pfd.revents & POLLOUT)) {
			int rc = alen ? send_some(p->fd, &a, &alen)
				      : send_some(p->fd, &b, &blen);

			if (rc < 0 || (!alen && !blen)) {
				shutdown(p->fd, SHUT_WR);
				writing = 0;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(p->fd, sink, sizeof(sink), MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	return NULL;
}

int fuzz_peer_start(struct fuzz_peer *p, const uint8_t *prefix,
		    size_t prefix_len, const uint8_t *data, size_t len)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	p->fd = sv[0];
	p->prefix = prefix;
	p->prefix_len = prefix_len;
	p->data = data;
	p->len = len;
	if (pthread_create(&p->thread, NULL, peer_main, p)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return sv[1];
}

void fuzz_peer_join(struct fuzz_peer *p)
{
	pthread_join(p->thread, NULL);
	close(p->fd);
}
