/* SPDX-License-Identifier: MIT */
/* Socket addresses as text for log lines: "127.0.0.1:41234",
 * "[::1]:41234", "unix(pid 123 uid 0)". */
#ifndef CNBD_SERVER_PEER_H
#define CNBD_SERVER_PEER_H

#include <stddef.h>
#include <sys/socket.h>

#define PEER_NAME_MAX	80

void sockaddr_to_string(const struct sockaddr *sa, socklen_t len,
			char *buf, size_t size);
/* The other end of a connected socket (for Unix sockets: who it is,
 * from SO_PEERCRED, since the address is empty). */
void peer_name(int fd, char *buf, size_t size);

#endif
