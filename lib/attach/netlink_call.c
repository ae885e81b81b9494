/* SPDX-License-Identifier: MIT */
/*
 * Talking to the kernel's "nbd" family through libnl-genl-3. The kernel
 * answers a request with its reply messages (CONNECT: the INDEX it used;
 * STATUS: the device list), then an ack carrying 0 or -errno. libnl would
 * turn that errno into its own NLE_* codes; the error callback keeps the
 * kernel's, so that EBUSY stays EBUSY.
 */
#include <errno.h>
#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <string.h>

#include "attach/netlink_call.h"

struct call_state {
	const struct nbd_nl_request *rq;
	int kernel_errno;	/* from the ack */
	bool bad_reply;
};

static int on_reply(struct nl_msg *msg, void *arg)
{
	struct call_state *st = arg;

	if (st->rq->reply && st->rq->reply(msg, st->rq->reply_arg) != 0)
		st->bad_reply = true;
	return NL_OK;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct call_state *st = arg;

	(void)nla;
	st->kernel_errno = e->error < 0 ? -e->error : e->error;
	return NL_STOP;
}

/* A connected generic netlink socket and the family's id. */
static struct nl_sock *open_family(int *family, char *err, size_t errlen)
{
	struct nl_sock *sk = nl_socket_alloc();
	int rc;

	if (!sk) {
		snprintf(err, errlen, "netlink: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	rc = genl_connect(sk);
	if (rc == 0)
		rc = *family = genl_ctrl_resolve(sk, NBD_GENL_FAMILY_NAME);
	if (rc >= 0)
		return sk;
	snprintf(err, errlen, "netlink family '%s': %s", NBD_GENL_FAMILY_NAME,
		 rc == -NLE_OBJ_NOTFOUND ? "the kernel has none (no nbd module?)"
					 : nl_geterror(rc));
	nl_socket_free(sk);
	errno = rc == -NLE_OBJ_NOTFOUND ? ENOENT : EIO;
	return NULL;
}

static int real_call(const struct nbd_nl_request *rq, char *err, size_t errlen)
{
	struct call_state st = { .rq = rq };
	struct nl_msg *msg = NULL;
	struct nl_sock *sk;
	int family, rc = -1;

	sk = open_family(&family, err, errlen);
	if (!sk)
		return -1;
	msg = rq->build(family, rq->arg);
	if (!msg) {
		snprintf(err, errlen, "%s: cannot build the message", rq->what);
		errno = ENOMEM;
		goto out;
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_reply, &st);
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, &st);
	rc = nl_send_auto(sk, msg);
	if (rc >= 0)
		rc = nl_wait_for_ack(sk);
	if (st.kernel_errno) {
		snprintf(err, errlen, "%s: %s", rq->what, strerror(st.kernel_errno));
		errno = st.kernel_errno;
		rc = -1;
	} else if (rc < 0) {
		snprintf(err, errlen, "%s: %s", rq->what, nl_geterror(rc));
		errno = EIO;
		rc = -1;
	} else if (st.bad_reply) {
		snprintf(err, errlen, "%s: the kernel's reply lacks what was asked for",
			 rq->what);
		errno = EPROTO;
		rc = -1;
	}
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return rc;
}

int (*nbd_nl_call)(const struct nbd_nl_request *rq, char *err, size_t errlen) = real_call;

bool nbd_nl_available(void)
{
	char err[256];
	struct nl_sock *sk;
	int family;

	sk = open_family(&family, err, sizeof(err));
	if (!sk)
		return false;
	nl_socket_free(sk);
	return true;
}
