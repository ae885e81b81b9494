/* SPDX-License-Identifier: MIT */
/*
 * The messages of the kernel's generic netlink family "nbd", built and
 * read with libnl-genl-3 (include/uapi/linux/nbd-netlink.h has the
 * numbers). Nothing here talks to the kernel: netlink_call.c sends what
 * these build, so that the unit tests can read every message back.
 */
#ifndef CNBD_NETLINK_MSG_H
#define CNBD_NETLINK_MSG_H

#include <stdbool.h>
#include <stdint.h>

struct nl_msg;

/* What NBD_CMD_CONNECT says about a device. */
struct nbd_nl_connect {
	int index;			/* -1: the kernel picks (and answers INDEX) */
	uint64_t size;			/* bytes */
	uint64_t blksize;
	uint64_t timeout;		/* seconds per request; 0: none */
	uint64_t dead_timeout;		/* seconds I/O waits for a live socket */
	uint64_t server_flags;		/* the negotiated transmission flags */
	uint64_t client_flags;		/* NBD_CFLAG_* */
	const int *fds;
	unsigned nfds;
	const char *identifier;		/* NULL: none */
};

struct nl_msg *nbd_msg_connect(int family, const struct nbd_nl_connect *c);
/* Swaps fd into the device's first dead socket. identifier must repeat
 * the one CONNECT gave (the kernel refuses a mismatch or its absence). */
struct nl_msg *nbd_msg_reconfigure(int family, unsigned index, int fd,
				   const char *identifier);
struct nl_msg *nbd_msg_disconnect(int family, unsigned index);
struct nl_msg *nbd_msg_status(int family, unsigned index);

/* Replies and events. Each returns 0, or -1 when the message is not the
 * command asked for or lacks the attribute. */
int nbd_msg_parse_index(struct nl_msg *msg, uint8_t cmd, unsigned *index);
/* STATUS: *connected for index (false when the device is not listed). */
int nbd_msg_parse_status(struct nl_msg *msg, unsigned index, bool *connected);

#endif
