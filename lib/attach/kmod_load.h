/* SPDX-License-Identifier: MIT */
#ifndef CNBD_KMOD_LOAD_H
#define CNBD_KMOD_LOAD_H

#include <stddef.h>

/* Loads a kernel module the way modprobe would (dependencies, and the
 * options in modprobe.d). 0 when it is loaded or built in; -1 with a
 * reason in err. */
int kmod_load(const char *module, char *err, size_t errlen);

#endif
