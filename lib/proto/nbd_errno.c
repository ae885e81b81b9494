/* SPDX-License-Identifier: MIT */
/* NBD error values <-> the host's errno, both ways, for both halves. */
#include <errno.h>
#include <stddef.h>

#include "proto/nbd_errno.h"

/* The spec restricts the error field to a few values; map the host's
 * errno onto them the way it asks (EDQUOT and EFBIG become ENOSPC). */
uint32_t nbd_error_from_errno(int err)
{
	switch (err) {
	case 0: return 0;
	case EPERM: case EROFS: case EACCES: return NBD_EPERM;
	case ENOMEM: return NBD_ENOMEM;
	case EINVAL: return NBD_EINVAL;
	case ENOSPC: case EDQUOT: case EFBIG: return NBD_ENOSPC;
	case EOVERFLOW: return NBD_EOVERFLOW;
	case ENOTSUP: return NBD_ENOTSUP;
	case ESHUTDOWN: return NBD_ESHUTDOWN;
	default: return NBD_EIO;
	}
}

static const struct {
	uint32_t nbd;
	int host;
	const char *name;
} nbd_errors[] = {
	{ NBD_EPERM, EPERM, "EPERM (operation not permitted)" },
	{ NBD_EIO, EIO, "EIO (input/output error)" },
	{ NBD_ENOMEM, ENOMEM, "ENOMEM (out of memory)" },
	{ NBD_EINVAL, EINVAL, "EINVAL (invalid argument)" },
	{ NBD_ENOSPC, ENOSPC, "ENOSPC (no space left)" },
	{ NBD_EOVERFLOW, EOVERFLOW, "EOVERFLOW (value too large)" },
	{ NBD_ENOTSUP, ENOTSUP, "ENOTSUP (not supported)" },
	{ NBD_ESHUTDOWN, ESHUTDOWN, "ESHUTDOWN (server is shutting down)" },
};

const char *nbd_error_name(uint32_t error)
{
	for (size_t i = 0; i < sizeof(nbd_errors) / sizeof(nbd_errors[0]); i++)
		if (nbd_errors[i].nbd == error)
			return nbd_errors[i].name;
	return "an unknown error";
}

int nbd_error_to_errno(uint32_t error)
{
	for (size_t i = 0; i < sizeof(nbd_errors) / sizeof(nbd_errors[0]); i++)
		if (nbd_errors[i].nbd == error)
			return nbd_errors[i].host;
	/* The spec: unknown values are to be treated as EINVAL. */
	return EINVAL;
}

int nbd_rep_error_to_errno(uint32_t type)
{
	switch (type) {
	case NBD_REP_ERR_UNSUP: return ENOTSUP;
	case NBD_REP_ERR_POLICY: return EPERM;
	case NBD_REP_ERR_INVALID: return EINVAL;
	case NBD_REP_ERR_PLATFORM: return EOPNOTSUPP;
	case NBD_REP_ERR_TLS_REQD: return EACCES;
	case NBD_REP_ERR_UNKNOWN: return ENOENT;
	case NBD_REP_ERR_SHUTDOWN: return ESHUTDOWN;
	case NBD_REP_ERR_BLOCK_SIZE_REQD: return EINVAL;
	case NBD_REP_ERR_TOO_BIG: return EMSGSIZE;
	default: return EPROTO;
	}
}
