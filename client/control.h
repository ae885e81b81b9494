/* SPDX-License-Identifier: MIT */
/*
 * The client daemon's control socket: a Unix stream socket, mode 0600,
 * whose peers must be root (SO_PEERCRED). One request line per
 * connection; reply lines, then "ok" or "error: REASON". Each connection
 * is served on a thread of its own so that a slow attach never holds up
 * udev's calls.
 */
#ifndef CNBD_CONTROL_H
#define CNBD_CONTROL_H

#include <stddef.h>

/* Binds and listens on path (creating its directory); -1 with a reason
 * when another daemon already listens there. */
int control_listen(const char *path, char *err, size_t errlen);
/* Accepts one connection on lfd and starts serving it. */
void control_accept(int lfd);

/* The verbs (control_commands.c): handles one request line on fd. */
void control_dispatch(int fd, char *line);
/* One reply line (a '\n' is added). */
void control_reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
