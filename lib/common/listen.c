/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets, opened by the master before it accepts anything.
 * They are non-blocking (the master polls them all) and close-on-exec.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/listen.h"
#include "common/peer.h"
#include "common/unix_listen.h"

static int parse_port(const char *s, char *port, char *err, size_t errlen)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (!*s || *end || errno || n == 0 || n > 65535 || *s == '-' || *s == '+') {
		snprintf(err, errlen, "'%s' is not a port number from 1 to 65535", s);
		return -1;
	}
	snprintf(port, 6, "%lu", n);
	return 0;
}

static int parse_unix(const char *path, struct listen_addr *addr,
		      char *err, size_t errlen)
{
	addr->is_unix = true;
	if (*path != '/') {
		snprintf(err, errlen, "unix socket path '%s' is not absolute", path);
		return -1;
	}
	if (strlen(path) >= sizeof(addr->path)) {
		snprintf(err, errlen, "unix socket path longer than %zu characters",
			 sizeof(addr->path) - 1);
		return -1;
	}
	strcpy(addr->path, path);
	return 0;
}

int listen_parse(const char *spec, struct listen_addr *addr,
		 char *err, size_t errlen)
{
	const char *host = spec, *colon;
	size_t hostlen;

	memset(addr, 0, sizeof(*addr));
	if (!strncmp(spec, "unix:", 5))
		return parse_unix(spec + 5, addr, err, errlen);
	if (*spec == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPv6-ADDRESS]:PORT", spec);
			return -1;
		}
		host = spec + 1;
		hostlen = close - host;
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || memchr(spec, ':', colon - spec)) {
			snprintf(err, errlen,
				 "'%s': expected HOST:PORT, [IPv6-ADDRESS]:PORT or unix:/PATH", spec);
			return -1;
		}
		hostlen = colon - spec;
	}
	if (hostlen >= sizeof(addr->host)) {
		snprintf(err, errlen, "'%s': host name too long", spec);
		return -1;
	}
	/* "*:10809" and ":10809" both mean every address. */
	if (!(hostlen == 1 && *host == '*'))
		memcpy(addr->host, host, hostlen);
	return parse_port(colon + 1, addr->port, err, errlen);
}

int listen_add(struct listener **ls, size_t *nls, int fd, bool is_unix,
	       const char *name, const char *unix_path)
{
	struct listener *grown = realloc(*ls, (*nls + 1) * sizeof(**ls));
	struct listener *l;

	if (!grown)
		return -1;
	*ls = grown;
	l = &grown[*nls];
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->is_unix = is_unix;
	snprintf(l->name, sizeof(l->name), "%s", name);
	if (unix_path && !(l->unix_path = strdup(unix_path)))
		return -1;
	(*nls)++;
	return 0;
}

static int open_tcp_one(const struct addrinfo *ai, char *name, size_t namelen,
			char *err, size_t errlen)
{
	int one = 1;
	int fd;

	sockaddr_to_string(ai->ai_addr, ai->ai_addrlen, name, namelen);
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", name, strerror(errno));
		return errno == EAFNOSUPPORT ? -2 : -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Let "*" bind 0.0.0.0 and :: side by side. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int open_tcp(const struct listen_addr *addr, struct listener **ls,
		    size_t *nls, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char name[LISTEN_HOST_MAX + 16];
	int rc, fd;

	rc = getaddrinfo(addr->host[0] ? addr->host : NULL, addr->port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve '%s': %s", addr->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = open_tcp_one(ai, name, sizeof(name), err, errlen);
		/* A host without IPv6 still serves "*" on IPv4. */
		if (fd == -2 && !addr->host[0])
			continue;
		if (fd < 0)
			break;
		if (listen_add(ls, nls, fd, false, name, NULL) < 0) {
			close(fd);
			snprintf(err, errlen, "out of memory");
			break;
		}
	}
	freeaddrinfo(res);
	return ai ? -1 : 0;
}

static int open_unix(const struct listen_addr *addr, unsigned mode,
		     struct listener **ls, size_t *nls, char *err, size_t errlen)
{
	char name[sizeof(addr->path) + 8];
	int fd;

	snprintf(name, sizeof(name), "unix:%s", addr->path);
	fd = unix_listen(addr->path, mode, SOMAXCONN, false, err, errlen);
	if (fd < 0)
		return -1;
	if (listen_add(ls, nls, fd, true, name, addr->path) < 0) {
		close(fd);
		unlink(addr->path);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int listen_open(const char *spec, unsigned unix_mode, struct listener **ls,
		size_t *nls, char *err, size_t errlen)
{
	struct listen_addr addr;

	if (listen_parse(spec, &addr, err, errlen) < 0)
		return -1;
	if (addr.is_unix)
		return open_unix(&addr, unix_mode, ls, nls, err, errlen);
	return open_tcp(&addr, ls, nls, err, errlen);
}

void listen_close_all(struct listener *ls, size_t nls, bool unlink_paths)
{
	for (size_t i = 0; i < nls; i++) {
		if (ls[i].fd < 0)
			continue;
		close(ls[i].fd);
		ls[i].fd = -1;
		if (unlink_paths && ls[i].unix_path)
			unlink(ls[i].unix_path);
	}
}

void listen_free(struct listener *ls, size_t nls)
{
	listen_close_all(ls, nls, false);
	for (size_t i = 0; i < nls; i++)
		free(ls[i].unix_path);
	free(ls);
}
