/* SPDX-License-Identifier: MIT */
/* Spec names for option numbers, reply types and commands, so that a
 * refusal reads "NBD_REP_ERR_UNKNOWN" rather than "2147483654". */
#include "proto/names.h"

const char *nbd_opt_name(uint32_t opt)
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

const char *nbd_rep_name(uint32_t type)
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

const char *nbd_cmd_name(uint16_t type)
{
	switch (type) {
	case NBD_CMD_READ: return "READ";
	case NBD_CMD_WRITE: return "WRITE";
	case NBD_CMD_DISC: return "DISC";
	case NBD_CMD_FLUSH: return "FLUSH";
	case NBD_CMD_TRIM: return "TRIM";
	case NBD_CMD_CACHE: return "CACHE";
	case NBD_CMD_WRITE_ZEROES: return "WRITE_ZEROES";
	case NBD_CMD_BLOCK_STATUS: return "BLOCK_STATUS";
	default: return "unknown command";
	}
}
