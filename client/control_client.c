/* SPDX-License-Identifier: MIT */
/* nbdctl's side of the control socket. Every step has a deadline: a
 * udev rule calls nbdctl and must never hang on a stuck daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_client.h"
#include "common/wire.h"

static int connect_socket(const char *path, int timeout)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Timeouts before connect() bound it too (a full backlog). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Reads one '\n'-terminated line (without it) into *buf, grown as
 * needed up to CONTROL_REPLY_MAX. */
static int read_line(int fd, char **buf, size_t *size)
{
	size_t n = 0;

	for (;;) {
		ssize_t r;

		if (n + 1 >= *size) {
			size_t grown = *size * 2;
			char *p = grown <= CONTROL_REPLY_MAX ? realloc(*buf, grown) : NULL;

			if (!p) {
				errno = EMSGSIZE;
				return -1;
			}
			*buf = p;
			*size = grown;
		}
		r = read(fd, *buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if ((*buf)[n] == '\n') {
			(*buf)[n] = '\0';
			return 0;
		}
		n++;
	}
}

enum control_result control_call(const char *peer, const char *socket_path,
				 const char *request, int timeout, control_line_fn fn,
				 void *opaque, char *err, size_t errlen)
{
	size_t size = CONTROL_LINE_MAX;
	char *line = malloc(size);
	int fd = line ? connect_socket(socket_path, timeout) : -1;
	enum control_result rc = CONTROL_BROKEN;

	if (fd < 0) {
		free(line);
		snprintf(err, errlen, "cannot reach %s at %s: %s", peer, socket_path,
			 strerror(errno));
		return CONTROL_UNREACHABLE;
	}
	snprintf(line, size, "%s\n", request);
	/* A failed send is reported only if no reply explains it. */
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line))
		snprintf(err, errlen, "sending to %s: %s", peer, strerror(errno));
	else
		err[0] = '\0';
	for (;;) {
		if (read_line(fd, &line, &size) < 0) {
			if (!err[0])
				snprintf(err, errlen, "reading %s's reply: %s", peer,
					 errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		if (!strcmp(line, "ok")) {
			rc = CONTROL_OK;
			goto out;
		}
		if (!strncmp(line, "error: ", 7)) {
			snprintf(err, errlen, "%s", line + 7);
			rc = CONTROL_REFUSED;
			goto out;
		}
		if (fn && fn(opaque, line)) {
			snprintf(err, errlen, "unexpected reply from %s: %s", peer, line);
			goto out;
		}
	}
out:
	close(fd);
	free(line);
	return rc;
}
