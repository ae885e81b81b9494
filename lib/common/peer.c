/* SPDX-License-Identifier: MIT */
#include <netdb.h>
#include <stdio.h>
#include <sys/un.h>

#include "common/peer.h"

void sockaddr_to_string(const struct sockaddr *sa, socklen_t len,
			char *buf, size_t size)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

void peer_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ucred cred;
	socklen_t credlen = sizeof(cred);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, size, "?");
		return;
	}
	if (ss.ss_family != AF_UNIX) {
		sockaddr_to_string((struct sockaddr *)&ss, len, buf, size);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0)
		snprintf(buf, size, "unix(pid %d uid %u)", (int)cred.pid, (unsigned)cred.uid);
	else
		snprintf(buf, size, "unix");
}
