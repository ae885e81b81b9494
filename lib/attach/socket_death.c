/* SPDX-License-Identifier: MIT */
/*
 * The kernel shuts a socket down (both ways) when it gives it up, so by
 * the time the daemon looks, every dead socket is shut. What tells the
 * stories apart is the socket's error and, for TCP, who sent the first
 * FIN: a server that closed leaves us in CLOSE_WAIT/LAST_ACK (or CLOSE),
 * a kernel that gave up on a silent server (a request timed out) leaves
 * us in FIN_WAIT with the server's side still open.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "attach/socket_death.h"

static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int domain;
	socklen_t dlen = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0 ||
	    (domain != AF_INET && domain != AF_INET6))
		return -1;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -1;
	return ti.tcpi_state;
}

void socket_death_reason(int fd, char *out, size_t outlen)
{
	int error = 0;
	socklen_t len = sizeof(error);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error) {
		snprintf(out, outlen, "%s", strerror(error));
		return;
	}
	switch (tcp_state(fd)) {
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
	case TCP_CLOSE:
		snprintf(out, outlen, "the server closed the connection");
		break;
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:
	case TCP_TIME_WAIT:
		snprintf(out, outlen,
			 "the kernel gave the connection up: a request timed out, or the device was disconnected");
		break;
	default:
		snprintf(out, outlen, "the connection was shut down");
		break;
	}
}
