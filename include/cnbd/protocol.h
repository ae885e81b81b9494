/* SPDX-License-Identifier: MIT */
/*
 * The NBD wire protocol: constants and on-the-wire structs, named as in the
 * protocol document (doc/proto.md of the NetworkBlockDevice project).
 * Everything on the wire is big-endian.
 *
 * This header clashes with <linux/nbd.h> (same names, the kernel's subset):
 * never include both in one file. The kernel binding in client/ includes only
 * the kernel's header and takes flags as plain integers.
 */
#ifndef CNBD_PROTOCOL_H
#define CNBD_PROTOCOL_H

#include <stdint.h>

#define NBD_DEFAULT_PORT	10809

/* Magic numbers */
#define NBD_MAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_IHAVEOPT		0x49484156454F5054ULL	/* "IHAVEOPT" */
#define NBD_REP_MAGIC		0x0003e889045565a9ULL
#define NBD_REQUEST_MAGIC	0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC	0x67446698U
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efU

/* Handshake flags (server, 16 bits) */
#define NBD_FLAG_FIXED_NEWSTYLE	(1U << 0)
#define NBD_FLAG_NO_ZEROES	(1U << 1)
/* Client flags (32 bits) */
#define NBD_FLAG_C_FIXED_NEWSTYLE (1U << 0)
#define NBD_FLAG_C_NO_ZEROES	(1U << 1)

/* Transmission flags (16 bits) */
#define NBD_FLAG_HAS_FLAGS	(1U << 0)
#define NBD_FLAG_READ_ONLY	(1U << 1)
#define NBD_FLAG_SEND_FLUSH	(1U << 2)
#define NBD_FLAG_SEND_FUA	(1U << 3)
#define NBD_FLAG_ROTATIONAL	(1U << 4)
#define NBD_FLAG_SEND_TRIM	(1U << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1U << 6)
#define NBD_FLAG_SEND_DF	(1U << 7)
#define NBD_FLAG_CAN_MULTI_CONN	(1U << 8)
#define NBD_FLAG_SEND_RESIZE	(1U << 9)
#define NBD_FLAG_SEND_CACHE	(1U << 10)
#define NBD_FLAG_SEND_FAST_ZERO	(1U << 11)

/* Options */
#define NBD_OPT_EXPORT_NAME	1
#define NBD_OPT_ABORT		2
#define NBD_OPT_LIST		3
#define NBD_OPT_STARTTLS	5
#define NBD_OPT_INFO		6
#define NBD_OPT_GO		7
#define NBD_OPT_STRUCTURED_REPLY 8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT 10

/* Option reply types */
#define NBD_REP_ACK		1
#define NBD_REP_SERVER		2
#define NBD_REP_INFO		3
#define NBD_REP_META_CONTEXT	4
#define NBD_REP_FLAG_ERROR	(1U << 31)
#define NBD_REP_ERR_UNSUP	(NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY	(NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID	(NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM	(NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD	(NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN	(NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN	(NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG	(NBD_REP_FLAG_ERROR | 9)

/* NBD_REP_INFO payload types */
#define NBD_INFO_EXPORT		0
#define NBD_INFO_NAME		1
#define NBD_INFO_DESCRIPTION	2
#define NBD_INFO_BLOCK_SIZE	3

/* Commands */
#define NBD_CMD_READ		0
#define NBD_CMD_WRITE		1
#define NBD_CMD_DISC		2
#define NBD_CMD_FLUSH		3
#define NBD_CMD_TRIM		4
#define NBD_CMD_CACHE		5
#define NBD_CMD_WRITE_ZEROES	6
#define NBD_CMD_BLOCK_STATUS	7

/* Command flags */
#define NBD_CMD_FLAG_FUA	(1U << 0)
#define NBD_CMD_FLAG_NO_HOLE	(1U << 1)
#define NBD_CMD_FLAG_DF		(1U << 2)
#define NBD_CMD_FLAG_REQ_ONE	(1U << 3)
#define NBD_CMD_FLAG_FAST_ZERO	(1U << 4)

/* Structured reply chunk flags and types */
#define NBD_REPLY_FLAG_DONE	(1U << 0)
#define NBD_REPLY_TYPE_NONE	0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_OFFSET_HOLE 2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_ERROR	((1U << 15) + 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET ((1U << 15) + 2)

/* base:allocation status bits */
#define NBD_STATE_HOLE		(1U << 0)
#define NBD_STATE_ZERO		(1U << 1)

/* Error values (on the wire; not necessarily the host's errno values) */
#define NBD_EPERM		1
#define NBD_EIO			5
#define NBD_ENOMEM		12
#define NBD_EINVAL		22
#define NBD_ENOSPC		28
#define NBD_EOVERFLOW		75
#define NBD_ENOTSUP		95
#define NBD_ESHUTDOWN		108

/* Limits of this implementation */
#define NBD_MAX_STRING		4096		/* export names, descriptions */
#define NBD_MAX_OPTION_LEN	(64 * 1024)	/* larger options are refused */
#define NBD_DEFAULT_MIN_BLOCK	1
#define NBD_DEFAULT_PREF_BLOCK	4096
#define NBD_DEFAULT_MAX_PAYLOAD	(32U * 1024 * 1024)

/* Fixed-size wire structures, all fields big-endian. */
struct nbd_request {
	uint32_t magic;
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint64_t offset;
	uint32_t count;
} __attribute__((packed));

struct nbd_simple_reply {
	uint32_t magic;
	uint32_t error;
	uint64_t cookie;
} __attribute__((packed));

struct nbd_structured_reply {
	uint32_t magic;
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint32_t length;
} __attribute__((packed));

struct nbd_option_header {
	uint64_t magic;
	uint32_t option;
	uint32_t length;
} __attribute__((packed));

struct nbd_option_reply {
	uint64_t magic;
	uint32_t option;
	uint32_t type;
	uint32_t length;
} __attribute__((packed));

_Static_assert(sizeof(struct nbd_request) == 28, "request is 28 bytes");
_Static_assert(sizeof(struct nbd_simple_reply) == 16, "simple reply is 16 bytes");
_Static_assert(sizeof(struct nbd_structured_reply) == 20, "chunk header is 20 bytes");
_Static_assert(sizeof(struct nbd_option_reply) == 20, "option reply is 20 bytes");

#endif /* CNBD_PROTOCOL_H */
