/* SPDX-License-Identifier: MIT */
/*
 * Building and reading nbd's generic netlink messages with libnl. The
 * kernel's policy (drivers/block/nbd.c) wants every number but INDEX as
 * a u64, the sockets as SOCKETS { SOCK_ITEM { SOCK_FD u32 } ... }, and
 * the identifier as a string.
 */
#include <linux/nbd-netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "attach/netlink_msg.h"

static struct nl_msg *start(int family, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, cmd,
			 NBD_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int put_sockets(struct nl_msg *msg, const int *fds, unsigned nfds)
{
	struct nlattr *socks = nla_nest_start(msg, NBD_ATTR_SOCKETS);

	if (!socks)
		return -1;
	for (unsigned i = 0; i < nfds; i++) {
		struct nlattr *item = nla_nest_start(msg, NBD_SOCK_ITEM);

		if (!item || nla_put_u32(msg, NBD_SOCK_FD, (uint32_t)fds[i]) < 0)
			return -1;
		nla_nest_end(msg, item);
	}
	nla_nest_end(msg, socks);
	return 0;
}

struct nl_msg *nbd_msg_connect(int family, const struct nbd_nl_connect *c)
{
	struct nl_msg *msg = start(family, NBD_CMD_CONNECT);

	if (!msg)
		return NULL;
	if ((c->index >= 0 && nla_put_u32(msg, NBD_ATTR_INDEX, c->index) < 0) ||
	    nla_put_u64(msg, NBD_ATTR_SIZE_BYTES, c->size) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_BLOCK_SIZE_BYTES, c->blksize) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_TIMEOUT, c->timeout) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_DEAD_CONN_TIMEOUT, c->dead_timeout) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_SERVER_FLAGS, c->server_flags) < 0 ||
	    nla_put_u64(msg, NBD_ATTR_CLIENT_FLAGS, c->client_flags) < 0 ||
	    put_sockets(msg, c->fds, c->nfds) < 0 ||
	    (c->identifier &&
	     nla_put_string(msg, NBD_ATTR_BACKEND_IDENTIFIER, c->identifier) < 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

struct nl_msg *nbd_msg_reconfigure(int family, unsigned index, int fd,
				   const char *identifier)
{
	struct nl_msg *msg = start(family, NBD_CMD_RECONFIGURE);

	if (!msg)
		return NULL;
	if (nla_put_u32(msg, NBD_ATTR_INDEX, index) < 0 ||
	    put_sockets(msg, &fd, 1) < 0 ||
	    (identifier &&
	     nla_put_string(msg, NBD_ATTR_BACKEND_IDENTIFIER, identifier) < 0)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static struct nl_msg *index_only(int family, uint8_t cmd, unsigned index)
{
	struct nl_msg *msg = start(family, cmd);

	if (msg && nla_put_u32(msg, NBD_ATTR_INDEX, index) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

struct nl_msg *nbd_msg_disconnect(int family, unsigned index)
{
	return index_only(family, NBD_CMD_DISCONNECT, index);
}

struct nl_msg *nbd_msg_status(int family, unsigned index)
{
	return index_only(family, NBD_CMD_STATUS, index);
}

static int parse(struct nl_msg *msg, uint8_t cmd, struct nlattr **tb)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh;

	if (!genlmsg_valid_hdr(nlh, 0))
		return -1;
	gh = nlmsg_data(nlh);
	if (gh->cmd != cmd)
		return -1;
	return genlmsg_parse(nlh, 0, tb, NBD_ATTR_MAX, NULL) < 0 ? -1 : 0;
}

int nbd_msg_parse_index(struct nl_msg *msg, uint8_t cmd, unsigned *index)
{
	struct nlattr *tb[NBD_ATTR_MAX + 1];

	if (parse(msg, cmd, tb) < 0 || !tb[NBD_ATTR_INDEX] ||
	    nla_len(tb[NBD_ATTR_INDEX]) < (int)sizeof(uint32_t))
		return -1;
	*index = nla_get_u32(tb[NBD_ATTR_INDEX]);
	return 0;
}

/* One DEVICE_ITEM { INDEX u32, CONNECTED u8 }: 1 when it is index. */
static int device_item(struct nlattr *item, unsigned index, bool *connected)
{
	struct nlattr *dev[NBD_DEVICE_ATTR_MAX + 1];

	if (nla_type(item) != NBD_DEVICE_ITEM ||
	    nla_parse_nested(dev, NBD_DEVICE_ATTR_MAX, item, NULL) < 0 ||
	    !dev[NBD_DEVICE_INDEX] || !dev[NBD_DEVICE_CONNECTED] ||
	    nla_get_u32(dev[NBD_DEVICE_INDEX]) != index)
		return 0;
	*connected = nla_get_u8(dev[NBD_DEVICE_CONNECTED]) != 0;
	return 1;
}

int nbd_msg_parse_status(struct nl_msg *msg, unsigned index, bool *connected)
{
	struct nlattr *tb[NBD_ATTR_MAX + 1];
	struct nlattr *item;
	int rem;

	if (parse(msg, NBD_CMD_STATUS, tb) < 0 || !tb[NBD_ATTR_DEVICE_LIST])
		return -1;
	*connected = false;
	nla_for_each_nested(item, tb[NBD_ATTR_DEVICE_LIST], rem)
		if (device_item(item, index, connected))
			break;
	return 0;
}
