/* SPDX-License-Identifier: MIT */
/* Spec names for option numbers, reply types and error values, so that a
 * refusal reads "NBD_REP_ERR_UNKNOWN" rather than "2147483654". */
#include <errno.h>

#include "client.h"

const char *client_opt_name(uint32_t opt)
{
	switch (opt) {
	case NBD_OPT_EXPORT_NAME: return "EXPORT_NAME";
	case NBD_OPT_ABORT: return "ABORT";
	case NBD_OPT_LIST: return "LIST";
	case NBD_OPT_STARTTLS: return "STARTTLS";
	case NBD_OPT_INFO: return "INFO";
	case NBD_OPT_GO: return "GO";
	case NBD_OPT_STRUCTURED_REPLY: return "STRUCTURED_REPLY";
	case NBD_OPT_LIST_META_CONTEXT: return "LIST_META_CONTEXT";
	case NBD_OPT_SET_META_CONTEXT: return "SET_META_CONTEXT";
	default: return "unknown option";
	}
}

const char *client_rep_name(uint32_t type)
{
	switch (type) {
	case NBD_REP_ACK: return "NBD_REP_ACK";
	case NBD_REP_SERVER: return "NBD_REP_SERVER";
	case NBD_REP_INFO: return "NBD_REP_INFO";
	case NBD_REP_META_CONTEXT: return "NBD_REP_META_CONTEXT";
	case NBD_REP_ERR_UNSUP: return "NBD_REP_ERR_UNSUP";
	case NBD_REP_ERR_POLICY: return "NBD_REP_ERR_POLICY";
	case NBD_REP_ERR_INVALID: return "NBD_REP_ERR_INVALID";
	case NBD_REP_ERR_PLATFORM: return "NBD_REP_ERR_PLATFORM";
	case NBD_REP_ERR_TLS_REQD: return "NBD_REP_ERR_TLS_REQD";
	case NBD_REP_ERR_UNKNOWN: return "NBD_REP_ERR_UNKNOWN";
	case NBD_REP_ERR_SHUTDOWN: return "NBD_REP_ERR_SHUTDOWN";
	case NBD_REP_ERR_BLOCK_SIZE_REQD: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
	case NBD_REP_ERR_TOO_BIG: return "NBD_REP_ERR_TOO_BIG";
	default:
		return type & NBD_REP_FLAG_ERROR ? "unknown error reply" : "unknown reply";
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

const char *client_nbd_errno_name(uint32_t error)
{
	for (size_t i = 0; i < sizeof(nbd_errors) / sizeof(nbd_errors[0]); i++)
		if (nbd_errors[i].nbd == error)
			return nbd_errors[i].name;
	return "an unknown error";
}

int client_nbd_errno(uint32_t error)
{
	for (size_t i = 0; i < sizeof(nbd_errors) / sizeof(nbd_errors[0]); i++)
		if (nbd_errors[i].nbd == error)
			return nbd_errors[i].host;
	/* The spec: unknown values are to be treated as EINVAL. */
	return EINVAL;
}
