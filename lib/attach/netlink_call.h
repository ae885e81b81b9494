/* SPDX-License-Identifier: MIT */
/*
 * One request to the kernel's "nbd" generic netlink family and its
 * answer: a socket of its own per call (cheap, and no sequence numbers
 * shared between the supervisors' threads), the family resolved, the
 * message built, sent, its replies read until the kernel's ack.
 *
 * nbd_nl_call is a pointer so that the unit tests can put a fake kernel
 * behind the netlink binding.
 */
#ifndef CNBD_NETLINK_CALL_H
#define CNBD_NETLINK_CALL_H

#include <stdbool.h>
#include <stddef.h>

struct nl_msg;

struct nbd_nl_request {
	const char *what;				/* "NBD_CMD_CONNECT" */
	struct nl_msg *(*build)(int family, const void *arg);
	const void *arg;
	/* Each reply message (not the ack); NULL when an ack is all. A
	 * nonzero return makes the call fail with EPROTO. */
	int (*reply)(struct nl_msg *msg, void *arg);
	void *reply_arg;
};

/* 0, or -1 with errno (the kernel's, e.g. EBUSY) and a sentence in err. */
extern int (*nbd_nl_call)(const struct nbd_nl_request *rq, char *err, size_t errlen);

/* Whether the running kernel has the "nbd" family (resolving it loads
 * nbd.ko through its module alias when needed). */
bool nbd_nl_available(void);

#endif
