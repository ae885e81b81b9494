/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "activation.h"
#include "common/peer.h"

int activation_count(void)
{
	return sd_listen_fds(1);
}

/* "unix:/run/nbd.sock", "unix:@abstract", "127.0.0.1:10809". */
static void socket_name(int fd, bool is_unix, char *name, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
	size_t pathlen;

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		snprintf(name, len, "descriptor %d", fd);
		return;
	}
	if (!is_unix) {
		sockaddr_to_string((struct sockaddr *)&ss, sslen, name, len);
		return;
	}
	pathlen = sslen > offsetof(struct sockaddr_un, sun_path) ?
		  sslen - offsetof(struct sockaddr_un, sun_path) : 0;
	if (pathlen && un->sun_path[0] == '\0')
		snprintf(name, len, "unix:@%.*s", (int)pathlen - 1, un->sun_path + 1);
	else
		snprintf(name, len, "unix:%.*s", (int)strnlen(un->sun_path, pathlen),
			 un->sun_path);
}

static int adopt_one(int fd, struct listener **ls, size_t *nls, char *err, size_t errlen)
{
	char name[LISTEN_HOST_MAX + 16];
	bool is_unix = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0;
	int flags;

	if (!is_unix && sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
		snprintf(err, errlen,
			 "descriptor %d from systemd is not a listening TCP or Unix stream socket (the socket unit may have only ListenStream= lines)",
			 fd);
		return -1;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(err, errlen, "descriptor %d from systemd: %s", fd, strerror(errno));
		return -1;
	}
	socket_name(fd, is_unix, name, sizeof(name));
	if (listen_add(ls, nls, fd, is_unix, name, NULL) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int activation_adopt(int n, struct listener **ls, size_t *nls, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++)
		if (adopt_one(SD_LISTEN_FDS_START + i, ls, nls, err, errlen) < 0)
			return -1;
	return 0;
}
