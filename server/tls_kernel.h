/* SPDX-License-Identifier: MIT */
/*
 * tls-kernel = auto (not the default): a worker hands its TLS session to the kernel after
 * the handshake (lib/common/ktls.h), where this kernel can take it. Asked once,
 * in the master: as root it makes the kernel load the tls module, which
 * a worker (no CAP_NET_ADMIN) could not.
 */
#ifndef CNBD_SERVER_TLS_KERNEL_H
#define CNBD_SERVER_TLS_KERNEL_H

#include <stdbool.h>

#include "config.h"

/* Whether TLS-first workers get --tls-kernel; the first call logs the
 * answer (and why not, when not). */
bool tls_kernel_wanted(const struct tls_config *t);

#endif
