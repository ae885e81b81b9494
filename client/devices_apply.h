/* SPDX-License-Identifier: MIT */
/*
 * The devices file, applied: at start (after the devices an earlier run
 * left are taken over) and again at each reload (SIGHUP, nbdctl reload,
 * systemctl reload). A reload is additive and never takes a device away
 * from a file system: an entry new in the file is attached; one that is
 * attached already (the same section and URI) is left as it is; one that
 * left the file, or whose URI changed, stays attached, and the log says
 * how to apply the change (nbdctl detach, then reload).
 */
#ifndef CNBD_DEVICES_APPLY_H
#define CNBD_DEVICES_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "devices_conf.h"

/* The file reloads read; given: named with -c (a missing default file
 * means no devices, a missing named one is an error). */
void devices_apply_init(const char *path, bool given);

/* Reads the file: 0, or -1 with the reason logged. */
int devices_read(struct devices_conf *conf);

/* Takes over the devices an earlier run left attached (device_state.h). */
void devices_adopt(void);

/* Starts a supervisor for each entry not served yet. */
void devices_start(const struct devices_conf *conf);

/* Re-reads the file and starts what is new in it (RELOADING=1 and
 * READY=1 around it). 0 with what changed in summary, or -1 with the
 * reason in err and nothing changed. One reload at a time. */
int devices_reload(char *summary, size_t slen, char *err, size_t errlen);

#endif
