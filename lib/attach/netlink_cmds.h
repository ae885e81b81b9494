/* SPDX-License-Identifier: MIT */
/*
 * The four requests the daemon makes of the kernel's "nbd" family, each
 * one call through nbd_nl_call: 0, or -1 with errno and a reason.
 */
#ifndef CNBD_NETLINK_CMDS_H
#define CNBD_NETLINK_CMDS_H

#include <stdbool.h>
#include <stddef.h>

#include "attach/netlink_msg.h"

/* CONNECT, retried for up to busy_ms while the kernel says EBUSY (udevd
 * holds each new device open for a moment to probe it). *index gets the
 * device the kernel used. */
int nbd_nl_connect(const struct nbd_nl_connect *c, unsigned busy_ms, unsigned *index,
		   char *err, size_t errlen);
int nbd_nl_disconnect(unsigned index, char *err, size_t errlen);
int nbd_nl_reconfigure(unsigned index, int fd, const char *identifier,
		       char *err, size_t errlen);
/* *connected: the kernel still has a configuration for the device. */
int nbd_nl_status(unsigned index, bool *connected, char *err, size_t errlen);

#endif
