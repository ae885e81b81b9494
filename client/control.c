/* SPDX-License-Identifier: MIT */
/* Listening, accepting, checking the peer and reading its request. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "control.h"
#include "control_client.h"
#include "common/log.h"
#include "common/unix_listen.h"

#define CONTROL_IO_TIMEOUT_S	10
#define CONTROL_MAX_CLIENTS	32

static atomic_int clients;

int control_listen(const char *path, char *err, size_t errlen)
{
	return unix_listen(path, 0600, 16, true, err, errlen);
}

void control_reply(int fd, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* Never longer than nbdctl reads: cut, which the reader then sees
	 * as a broken reply rather than a wrong value. */
	if (n > CONTROL_REPLY_MAX - 2)
		n = CONTROL_REPLY_MAX - 2;
	line[n++] = '\n';
	/* A peer that went away is its own problem, not a SIGPIPE. */
	if (send(fd, line, n, MSG_NOSIGNAL) < 0)
		log_debug("control: reply not delivered: %s", strerror(errno));
	free(line);
}

static int read_request(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -1;
}

static bool peer_is_root(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == 0;
}

static void *serve_client(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct timeval tv = { .tv_sec = CONTROL_IO_TIMEOUT_S };
	char *line = malloc(CONTROL_LINE_MAX);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* The socket's mode already keeps others out; the peer check holds
	 * even if someone loosens it. The request is read first so that the
	 * refusal reaches a peer that is still sending. */
	if (!line || read_request(fd, line, CONTROL_LINE_MAX) < 0)
		control_reply(fd, "error: no request line (or longer than %d bytes)",
			      CONTROL_LINE_MAX - 1);
	else if (!peer_is_root(fd))
		control_reply(fd, "error: permission denied (nbd-clientd answers root only)");
	else
		control_dispatch(fd, line);
	free(line);
	close(fd);
	atomic_fetch_sub(&clients, 1);
	return NULL;
}

void control_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	pthread_attr_t attr;
	pthread_t thread;

	if (fd < 0)
		return;
	if (atomic_fetch_add(&clients, 1) >= CONTROL_MAX_CLIENTS) {
		control_reply(fd, "error: too many control connections; try again");
		goto drop;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	errno = pthread_create(&thread, &attr, serve_client, (void *)(intptr_t)fd);
	pthread_attr_destroy(&attr);
	if (!errno)
		return;
	log_error("control: cannot start a thread: %s", strerror(errno));
drop:
	atomic_fetch_sub(&clients, 1);
	close(fd);
}
