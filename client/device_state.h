/* SPDX-License-Identifier: MIT */
/*
 * What the daemon remembers of each device it bound with netlink, so that
 * a daemon started after a crash can take the device over: the kernel
 * keeps serving a netlink-bound device when the daemon dies, but nothing
 * would replace its connections any more. One file per device in a
 * directory beside the control socket (/run/cnbd/devices/nbd0), written
 * when the device is attached and removed when it is detached on purpose
 * or lost; a file left behind means "the daemon died with this device
 * attached".
 */
#ifndef CNBD_DEVICE_STATE_H
#define CNBD_DEVICE_STATE_H

#include "device.h"

/* The directory of the records: "<control socket's directory>/devices". */
void device_state_init(const char *control_socket);
/* Records d, bound now with netlink as st says. Best effort: a failure
 * is logged. */
void device_state_save(const struct device *d, const struct cnbd_attach_status *st);
/* Removes the record of the device named name, if any. */
void device_state_forget(const char *name);
/* Every device a previous run left attached becomes a device to adopt
 * (d->adopting), with one reference for the caller; damaged records are
 * removed (and stale ones when the device starts: device_start_locked).
 * Returns how many were found; *out is malloc'd. */
size_t device_state_load(struct device ***out);

#endif
