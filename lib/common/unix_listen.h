/* SPDX-License-Identifier: MIT */
/* A listening Unix socket at a path, for the server's unix: listeners and
 * both daemons' control sockets. */
#ifndef CNBD_UNIX_LISTEN_H
#define CNBD_UNIX_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Binds path with exactly mode (the umask is set for the bind, so there
 * is no moment with looser permissions) and listens with backlog. A
 * socket file that nobody answers on (left by a process that died) is
 * replaced; one a live process answers on, or a path that is not a
 * socket, is refused. make_parent creates a missing parent directory
 * (0755, one level, as for /run/cnbd). The descriptor is non-blocking
 * and close-on-exec. Returns it, or -1 with the reason in err. */
int unix_listen(const char *path, mode_t mode, int backlog, bool make_parent,
		char *err, size_t errlen);

#endif
