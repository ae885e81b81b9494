/* SPDX-License-Identifier: MIT */
#ifndef CNBD_DEVICE_STATUS_H
#define CNBD_DEVICE_STATUS_H

#include <stdint.h>

#include "common/service_notify.h"

/* Sends the STATUS= line (devices and their states) if it changed;
 * returns the ms until a change held back is due, or -1. */
int device_status_update(struct service_status *s, int64_t now_ms);

#endif
