/* SPDX-License-Identifier: MIT */
/* Knobs of the ioctl binding, for the unit tests: where device nodes and
 * sysfs live, and how long EBUSY is retried. */
#ifndef CNBD_IOCTL_BIND_H
#define CNBD_IOCTL_BIND_H

extern const char *ioctl_bind_dev_dir;		/* "/dev" */
extern const char *ioctl_bind_sysfs_dir;	/* "/sys/block" */
extern unsigned ioctl_bind_busy_ms;		/* 5000 */

#endif
