/* SPDX-License-Identifier: MIT */
/*
 * The kernel's "nbd_mc_group" multicast group: NBD_CMD_LINK_DEAD, sent as
 * soon as the kernel marks one of a device's sockets dead (the server
 * closed it, or a request timed out). One thread of the daemon listens
 * and passes the device's index on.
 */
#ifndef CNBD_NETLINK_EVENTS_H
#define CNBD_NETLINK_EVENTS_H

#include <stddef.h>

/* Every index when the kernel dropped events (the socket overran). */
#define NETLINK_EVENTS_ALL	(~0U)

/* Starts the listener once; later calls return 0 at once. fn runs on the
 * listener's thread for each LINK_DEAD. -1 with a reason in err. */
int netlink_events_start(void (*fn)(unsigned index), char *err, size_t errlen);

#endif
