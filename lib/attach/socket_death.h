/* SPDX-License-Identifier: MIT */
/* Why a socket the kernel served a device on is no longer usable, in
 * words for the log: who closed it first, or its error. */
#ifndef CNBD_SOCKET_DEATH_H
#define CNBD_SOCKET_DEATH_H

#include <stddef.h>

/* fd is the daemon's own descriptor of the socket it gave the kernel. */
void socket_death_reason(int fd, char *out, size_t outlen);

#endif
