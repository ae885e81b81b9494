/* SPDX-License-Identifier: MIT */
/*
 * Socket activation (sd_listen_fds(3)): nbd-serverd.socket listens and
 * systemd starts the server with those sockets at descriptors 3, 4, ...
 * When it does, they are the server's listeners and the configuration's
 * listen lines are not opened: the socket unit says where to listen,
 * and opening both would bind the same address twice. The control
 * socket is the server's own either way.
 */
#ifndef CNBD_SERVER_ACTIVATION_H
#define CNBD_SERVER_ACTIVATION_H

#include <stddef.h>

#include "common/listen.h"

/* How many sockets systemd passed (0: not activated), or -1 when
 * LISTEN_FDS is malformed. Call before anything opens a descriptor or
 * closes the ones above stderr; it unsets LISTEN_FDS and LISTEN_PID
 * so that nothing started later takes them for its own. */
int activation_count(void);

/* Checks each passed descriptor (a listening TCP or Unix stream socket,
 * else -1 with the reason in err) and appends it to *ls, non-blocking
 * and close-on-exec. */
int activation_adopt(int n, struct listener **ls, size_t *nls, char *err, size_t errlen);

#endif
