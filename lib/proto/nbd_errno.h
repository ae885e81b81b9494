/* SPDX-License-Identifier: MIT */
/* NBD error values (the reply's error field) and the host's errno. */
#ifndef CNBD_PROTO_NBD_ERRNO_H
#define CNBD_PROTO_NBD_ERRNO_H

#include <stdint.h>

#include "cnbd/protocol.h"

/* What a server puts in a reply for a backend's errno: the spec allows
 * only a few values (EDQUOT and EFBIG become ENOSPC, the rest EIO). */
uint32_t nbd_error_from_errno(int err);
/* What a client makes of a reply's error; unknown values are EINVAL,
 * as the spec asks. */
int nbd_error_to_errno(uint32_t error);
/* What a client makes of an option's error reply (NBD_REP_ERR_*): ENOENT
 * for an unknown export, EPERM for policy, EACCES when TLS is required,
 * ENOTSUP for an unknown option...; EPROTO for a type it does not know. */
int nbd_rep_error_to_errno(uint32_t type);
/* "ENOSPC (no space left)", for messages. */
const char *nbd_error_name(uint32_t error);

#endif
