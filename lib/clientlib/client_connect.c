/* SPDX-License-Identifier: MIT */
/* Opening a stream socket to the server a URI names: every address the
 * name resolves to is tried in turn, each with a bounded connect. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clientlib/client.h"

/* connect() that gives up after timeout seconds (0: the kernel's own). */
static int connect_bounded(int fd, const struct sockaddr *sa, socklen_t len,
			   int timeout)
{
	int flags = fcntl(fd, F_GETFL);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int rc, soerr = 0;

	if (timeout <= 0)
		return connect(fd, sa, len);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	rc = connect(fd, sa, len);
	if (rc < 0 && errno == EINPROGRESS) {
		do {
			rc = poll(&pfd, 1, timeout * 1000);
		} while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) < 0)
			return -1;
		if (soerr) {
			errno = soerr;
			return -1;
		}
		rc = 0;
	}
	if (rc < 0)
		return -1;
	return fcntl(fd, F_SETFL, flags);
}

static int connect_unix(const struct nbd_uri *uri, int timeout,
			char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + uri->socket_len;
	bool abstract = uri->socket[0] == '\0';
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memcpy(sun.sun_path, uri->socket, uri->socket_len);
	if (connect_bounded(fd, (struct sockaddr *)&sun, len, timeout) < 0) {
		snprintf(err, errlen, "cannot connect to Unix socket %s%s: %s",
			 abstract ? "@" : "", uri->socket + abstract, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_addr(const struct addrinfo *ai, int timeout)
{
	int one = 1;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

	if (fd < 0)
		return -1;
	if (connect_bounded(fd, ai->ai_addr, ai->ai_addrlen, timeout) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	/* Requests are small and latency-bound: never wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int connect_tcp(const struct nbd_uri *uri, int timeout,
		       char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	bool v6 = strchr(uri->host, ':') != NULL;
	int rc, fd = -1, last = ECONNREFUSED;

	rc = getaddrinfo(uri->host, uri->port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve %s: %s", uri->host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = connect_addr(ai, timeout);
		if (fd < 0)
			last = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot connect to %s%s%s:%s: %s", v6 ? "[" : "",
			 uri->host, v6 ? "]" : "", uri->port, strerror(last));
	return fd;
}

int client_connect_uri(const struct nbd_uri *uri, int connect_timeout,
		       char *err, size_t errlen)
{
	if (uri->transport == URI_UNIX)
		return connect_unix(uri, connect_timeout, err, errlen);
	return connect_tcp(uri, connect_timeout, err, errlen);
}
