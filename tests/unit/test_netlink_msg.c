/* SPDX-License-Identifier: MIT */
/*
 * The nbd generic netlink messages, read back attribute by attribute as
 * the kernel would (drivers/block/nbd.c: u64 numbers, INDEX u32, SOCKETS
 * { SOCK_ITEM { SOCK_FD } }, a string identifier), and the parsers fed
 * replies built the way the kernel builds them.
 */
#include <linux/nbd-netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "attach/netlink_msg.h"

#define FAMILY	0x1c

static struct nlattr *tb[NBD_ATTR_MAX + 1];

/* Checks the generic netlink header and splits the attributes into tb. */
static void parse(struct nl_msg *msg, uint8_t cmd)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *gh;

	assert_non_null(msg);
	nlh = nlmsg_hdr(msg);
	assert_int_equal(nlh->nlmsg_type, FAMILY);
	assert_true(genlmsg_valid_hdr(nlh, 0));
	gh = nlmsg_data(nlh);
	assert_int_equal(gh->cmd, cmd);
	assert_int_equal(gh->version, NBD_GENL_VERSION);
	assert_int_equal(genlmsg_parse(nlh, 0, tb, NBD_ATTR_MAX, NULL), 0);
}

static uint64_t u64(int attr)
{
	assert_non_null(tb[attr]);
	assert_int_equal(nla_len(tb[attr]), 8);
	return nla_get_u64(tb[attr]);
}

/* The descriptors in SOCKETS, in order. */
static unsigned sockets(int *fds, unsigned max)
{
	struct nlattr *item;
	unsigned n = 0;
	int rem;

	assert_non_null(tb[NBD_ATTR_SOCKETS]);
	nla_for_each_nested(item, tb[NBD_ATTR_SOCKETS], rem) {
		struct nlattr *sock[NBD_SOCK_MAX + 1];

		assert_int_equal(nla_type(item), NBD_SOCK_ITEM);
		assert_int_equal(nla_parse_nested(sock, NBD_SOCK_MAX, item, NULL), 0);
		assert_non_null(sock[NBD_SOCK_FD]);
		assert_int_equal(nla_len(sock[NBD_SOCK_FD]), 4);
		assert_true(n < max);
		fds[n++] = (int)nla_get_u32(sock[NBD_SOCK_FD]);
	}
	return n;
}

static void test_connect(void **state)
{
	const int fds[] = { 7, 9, 12 };
	struct nbd_nl_connect c = {
		.index = 5, .size = 1ULL << 34, .blksize = 4096, .timeout = 30,
		.dead_timeout = 120, .server_flags = 0x0d6d, .client_flags = 0,
		.fds = fds, .nfds = 3, .identifier = "nbd://h/disk",
	};
	struct nl_msg *msg = nbd_msg_connect(FAMILY, &c);
	int got[8];

	(void)state;
	parse(msg, NBD_CMD_CONNECT);
	assert_non_null(tb[NBD_ATTR_INDEX]);
	assert_int_equal(nla_get_u32(tb[NBD_ATTR_INDEX]), 5);
	assert_int_equal(u64(NBD_ATTR_SIZE_BYTES), 1ULL << 34);
	assert_int_equal(u64(NBD_ATTR_BLOCK_SIZE_BYTES), 4096);
	assert_int_equal(u64(NBD_ATTR_TIMEOUT), 30);
	assert_int_equal(u64(NBD_ATTR_DEAD_CONN_TIMEOUT), 120);
	assert_int_equal(u64(NBD_ATTR_SERVER_FLAGS), 0x0d6d);
	/* Explicitly 0: neither DESTROY_ON_DISCONNECT nor DISCONNECT_ON_CLOSE. */
	assert_int_equal(u64(NBD_ATTR_CLIENT_FLAGS), 0);
	assert_int_equal(sockets(got, 8), 3);
	assert_memory_equal(got, fds, sizeof(fds));
	assert_string_equal(nla_get_string(tb[NBD_ATTR_BACKEND_IDENTIFIER]), "nbd://h/disk");
	nlmsg_free(msg);
}

static void test_connect_kernel_picks(void **state)
{
	const int fd = 4;
	struct nbd_nl_connect c = { .index = -1, .size = 512, .blksize = 512,
				    .fds = &fd, .nfds = 1 };
	struct nl_msg *msg = nbd_msg_connect(FAMILY, &c);

	(void)state;
	parse(msg, NBD_CMD_CONNECT);
	assert_null(tb[NBD_ATTR_INDEX]);		/* the kernel chooses */
	assert_null(tb[NBD_ATTR_BACKEND_IDENTIFIER]);
	assert_int_equal(u64(NBD_ATTR_DEAD_CONN_TIMEOUT), 0);
	nlmsg_free(msg);
}

static void test_reconfigure(void **state)
{
	struct nl_msg *msg = nbd_msg_reconfigure(FAMILY, 2, 11, "nbd+unix:///x?socket=/s");
	int got[2];

	(void)state;
	parse(msg, NBD_CMD_RECONFIGURE);
	assert_int_equal(nla_get_u32(tb[NBD_ATTR_INDEX]), 2);
	assert_int_equal(sockets(got, 2), 1);
	assert_int_equal(got[0], 11);
	/* The kernel refuses a RECONFIGURE without the identifier CONNECT set. */
	assert_string_equal(nla_get_string(tb[NBD_ATTR_BACKEND_IDENTIFIER]),
			    "nbd+unix:///x?socket=/s");
	/* Nothing else: the device's settings stay as they are. */
	assert_null(tb[NBD_ATTR_TIMEOUT]);
	assert_null(tb[NBD_ATTR_DEAD_CONN_TIMEOUT]);
	assert_null(tb[NBD_ATTR_CLIENT_FLAGS]);
	assert_null(tb[NBD_ATTR_SIZE_BYTES]);
	nlmsg_free(msg);
}

static void test_disconnect_status(void **state)
{
	struct nl_msg *msg = nbd_msg_disconnect(FAMILY, 9);

	(void)state;
	parse(msg, NBD_CMD_DISCONNECT);
	assert_int_equal(nla_get_u32(tb[NBD_ATTR_INDEX]), 9);
	assert_null(tb[NBD_ATTR_SOCKETS]);
	nlmsg_free(msg);
	msg = nbd_msg_status(FAMILY, 9);
	parse(msg, NBD_CMD_STATUS);
	assert_int_equal(nla_get_u32(tb[NBD_ATTR_INDEX]), 9);
	nlmsg_free(msg);
}

/* A message as the kernel sends it: header, then what fill() puts. */
static struct nl_msg *kernel_msg(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 0, 0, FAMILY, 0, 0, cmd, NBD_GENL_VERSION));
	return msg;
}

static void test_parse_index(void **state)
{
	struct nl_msg *msg = kernel_msg(NBD_CMD_CONNECT);
	unsigned index = 0;

	(void)state;
	assert_int_equal(nla_put_u32(msg, NBD_ATTR_INDEX, 17), 0);
	assert_int_equal(nbd_msg_parse_index(msg, NBD_CMD_CONNECT, &index), 0);
	assert_int_equal(index, 17);
	/* LINK_DEAD carries the same attribute; the command must match. */
	assert_int_equal(nbd_msg_parse_index(msg, NBD_CMD_LINK_DEAD, &index), -1);
	nlmsg_free(msg);
	msg = kernel_msg(NBD_CMD_LINK_DEAD);
	assert_int_equal(nbd_msg_parse_index(msg, NBD_CMD_LINK_DEAD, &index), -1);
	nlmsg_free(msg);
}

static void put_device(struct nl_msg *msg, uint32_t index, uint8_t connected)
{
	struct nlattr *item = nla_nest_start(msg, NBD_DEVICE_ITEM);

	assert_non_null(item);
	assert_int_equal(nla_put_u32(msg, NBD_DEVICE_INDEX, index), 0);
	assert_int_equal(nla_put_u8(msg, NBD_DEVICE_CONNECTED, connected), 0);
	nla_nest_end(msg, item);
}

static void test_parse_status(void **state)
{
	struct nl_msg *msg = kernel_msg(NBD_CMD_STATUS);
	struct nlattr *list = nla_nest_start(msg, NBD_ATTR_DEVICE_LIST);
	bool connected = false;

	(void)state;
	put_device(msg, 0, 0);
	put_device(msg, 3, 1);
	put_device(msg, 4, 0);
	nla_nest_end(msg, list);
	assert_int_equal(nbd_msg_parse_status(msg, 3, &connected), 0);
	assert_true(connected);
	assert_int_equal(nbd_msg_parse_status(msg, 4, &connected), 0);
	assert_false(connected);
	connected = true;
	assert_int_equal(nbd_msg_parse_status(msg, 8, &connected), 0);	/* not listed */
	assert_false(connected);
	nlmsg_free(msg);
	/* No DEVICE_LIST: not a STATUS reply. */
	msg = kernel_msg(NBD_CMD_STATUS);
	assert_int_equal(nbd_msg_parse_status(msg, 3, &connected), -1);
	nlmsg_free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_connect_kernel_picks),
		cmocka_unit_test(test_reconfigure),
		cmocka_unit_test(test_disconnect_status),
		cmocka_unit_test(test_parse_index),
		cmocka_unit_test(test_parse_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
