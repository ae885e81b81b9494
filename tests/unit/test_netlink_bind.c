/* SPDX-License-Identifier: MIT */
/*
 * The netlink binding against a fake kernel: nbd_nl_call is replaced, so
 * every request the binding makes is read here (built with the real
 * message code, parsed with libnl) and answered the way nbd.ko answers.
 * The fake kernel keeps its own reference to each socket (a dup) and
 * "gives a connection up" the way nbd.ko does, by shutting it down both
 * ways; it adopts a RECONFIGUREd socket only into a dead slot, and then
 * sets its send timeout, as nbd.ko does.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nbd-netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attach/binding.h"
#include "attach/netlink_bind.h"
#include "attach/netlink_call.h"

#define FAMILY	0x1c
#define MAXC	4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct {
	int busy_left;		/* EBUSY answers to CONNECT still to give */
	int index;		/* of the device; -1 before CONNECT */
	int index_asked;	/* what CONNECT named; -1: none */
	bool configured;
	int kfd[MAXC];		/* the kernel's references */
	bool kdead[MAXC];
	unsigned nk;
	bool adopt;		/* RECONFIGURE fills a dead slot (when there is one) */
	int connects, reconfigures, disconnects, statuses;
	char identifier[128];
} k;
static int peers[16], npeers;
static int changed_calls, ended_calls;
static char dir[64];

static struct nl_msg *reply_msg(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	assert_non_null(genlmsg_put(msg, 0, 0, FAMILY, 0, 0, cmd, NBD_GENL_VERSION));
	return msg;
}

static void take_sockets(struct nlattr *socks, int *fds, unsigned *n)
{
	struct nlattr *item;
	int rem;

	*n = 0;
	nla_for_each_nested(item, socks, rem) {
		struct nlattr *s[NBD_SOCK_MAX + 1];

		assert_int_equal(nla_parse_nested(s, NBD_SOCK_MAX, item, NULL), 0);
		fds[(*n)++] = (int)nla_get_u32(s[NBD_SOCK_FD]);
	}
}

static int fake_connect(struct nlattr **tb, const struct nbd_nl_request *rq)
{
	struct nl_msg *reply;
	int fds[MAXC];
	unsigned n;

	k.connects++;
	if (k.busy_left > 0) {
		k.busy_left--;
		errno = EBUSY;
		return -1;
	}
	k.index_asked = tb[NBD_ATTR_INDEX] ? (int)nla_get_u32(tb[NBD_ATTR_INDEX]) : -1;
	k.index = k.index_asked >= 0 ? k.index_asked : 7;
	take_sockets(tb[NBD_ATTR_SOCKETS], fds, &n);
	for (unsigned i = 0; i < n; i++) {
		k.kfd[i] = dup(fds[i]);
		k.kdead[i] = false;
	}
	k.nk = n;
	k.configured = true;
	if (tb[NBD_ATTR_BACKEND_IDENTIFIER])
		snprintf(k.identifier, sizeof(k.identifier), "%s",
			 nla_get_string(tb[NBD_ATTR_BACKEND_IDENTIFIER]));
	reply = reply_msg(NBD_CMD_CONNECT);
	nla_put_u32(reply, NBD_ATTR_INDEX, k.index);
	rq->reply(reply, rq->reply_arg);
	nlmsg_free(reply);
	return 0;
}

/* nbd.ko: the first dead slot takes the socket; none: it is dropped. */
static int fake_reconfigure(struct nlattr **tb)
{
	struct timeval tv = { .tv_sec = 30 };
	int fds[MAXC];
	unsigned n;

	k.reconfigures++;
	assert_int_equal(nla_get_u32(tb[NBD_ATTR_INDEX]), k.index);
	assert_string_equal(nla_get_string(tb[NBD_ATTR_BACKEND_IDENTIFIER]), k.identifier);
	take_sockets(tb[NBD_ATTR_SOCKETS], fds, &n);
	assert_int_equal(n, 1);
	for (unsigned i = 0; i < k.nk && k.adopt; i++) {
		if (!k.kdead[i])
			continue;
		close(k.kfd[i]);
		k.kfd[i] = dup(fds[0]);
		k.kdead[i] = false;
		setsockopt(fds[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		break;
	}
	return 0;
}

static void kernel_shut_all(void)
{
	for (unsigned i = 0; i < k.nk; i++) {
		shutdown(k.kfd[i], SHUT_RDWR);
		k.kdead[i] = true;
	}
}

static int fake_status(const struct nbd_nl_request *rq)
{
	struct nl_msg *reply = reply_msg(NBD_CMD_STATUS);
	struct nlattr *list = nla_nest_start(reply, NBD_ATTR_DEVICE_LIST);
	struct nlattr *item = nla_nest_start(reply, NBD_DEVICE_ITEM);

	k.statuses++;
	nla_put_u32(reply, NBD_DEVICE_INDEX, k.index);
	nla_put_u8(reply, NBD_DEVICE_CONNECTED, k.configured);
	nla_nest_end(reply, item);
	nla_nest_end(reply, list);
	rq->reply(reply, rq->reply_arg);
	nlmsg_free(reply);
	return 0;
}

static int fake_call(const struct nbd_nl_request *rq, char *err, size_t errlen)
{
	struct nl_msg *msg = rq->build(FAMILY, rq->arg);
	struct nlattr *tb[NBD_ATTR_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	int rc = 0;

	assert_int_equal(genlmsg_parse(nlmsg_hdr(msg), 0, tb, NBD_ATTR_MAX, NULL), 0);
	pthread_mutex_lock(&lock);
	switch (gh->cmd) {
	case NBD_CMD_CONNECT:
		rc = fake_connect(tb, rq);
		break;
	case NBD_CMD_RECONFIGURE:
		rc = fake_reconfigure(tb);
		break;
	case NBD_CMD_DISCONNECT:
		k.disconnects++;
		kernel_shut_all();
		k.configured = false;
		break;
	case NBD_CMD_STATUS:
		rc = fake_status(rq);
		break;
	default:
		fail_msg("unexpected command %d", gh->cmd);
	}
	pthread_mutex_unlock(&lock);
	nlmsg_free(msg);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", rq->what, strerror(errno));
	return rc;
}

static void on_changed(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	changed_calls++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void on_ended(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	ended_calls++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* Waits (up to 5 s) until *counter reaches want. */
static void wait_for(int *counter, int want)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&lock);
	while (*counter < want)
		if (pthread_cond_timedwait(&cond, &lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&lock);
	assert_true(*counter >= want);
}

static int setup(void **state)
{
	char node[96];

	(void)state;
	memset(&k, 0, sizeof(k));
	k.index = -1;
	k.adopt = true;
	changed_calls = ended_calls = npeers = 0;
	nbd_nl_call = fake_call;
	netlink_bind_events = false;
	netlink_bind_status_ms = 100;
	netlink_bind_busy_ms = 5000;
	snprintf(dir, sizeof(dir), "/tmp/test_netlink.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(node, sizeof(node), "%s/nbd3", dir);
	close(open(node, O_CREAT | O_WRONLY, 0600));	/* the "device" to fsync */
	netlink_bind_dev_dir = dir;
	return 0;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	for (unsigned i = 0; i < k.nk; i++)
		close(k.kfd[i]);
	for (int i = 0; i < npeers; i++)
		close(peers[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Sockets whose other ends stay open (a closed peer would hang up). */
static void make_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		fds[i] = sv[0];
		peers[npeers++] = sv[1];
	}
}

static bool fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

static bool same_socket(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino;
}

static char chosen[32];

static struct bind_params params(const char *device, const int *fds, unsigned n)
{
	chosen[0] = '\0';
	return (struct bind_params){
		.device = device, .chosen = chosen, .chosen_len = sizeof(chosen),
		.size = 1ULL << 30, .blksize = 4096, .flags = 0x0d6d, .timeout = 30,
		.dead_timeout = 120, .fds = fds, .nfds = n, .identifier = "nbd://h/d",
		.ended = on_ended, .changed = on_changed,
	};
}

static struct binding *bind_ok(const char *device, int *fds, unsigned n)
{
	struct bind_params p;
	struct binding *b;
	char err[256] = "";

	make_fds(fds, n);
	p = params(device, fds, n);
	b = netlink_binding_ops.bind(&p, err, sizeof(err));
	if (!b)
		fail_msg("bind: %s", err);
	assert_ptr_equal(b->ops, &netlink_binding_ops);
	return b;
}

static void test_bind_and_disconnect(void **state)
{
	char err[256] = "";
	int fds[2], error = -1;
	struct binding *b;

	(void)state;
	b = bind_ok("nbd3", fds, 2);
	assert_int_equal(k.index_asked, 3);
	assert_string_equal(chosen, "nbd3");
	assert_int_equal(k.nk, 2);
	assert_true(same_socket(k.kfd[0], fds[0]) && same_socket(k.kfd[1], fds[1]));
	assert_string_equal(k.identifier, "nbd://h/d");
	assert_int_equal(netlink_binding_ops.dead(b, NULL, 0), 0);
	assert_int_equal(netlink_binding_ops.disconnect(b, err, sizeof(err)), 0);
	assert_string_equal(err, "");		/* flushed the "device" */
	assert_int_equal(netlink_binding_ops.wait(b, &error), BIND_END_REQUESTED);
	assert_int_equal(k.disconnects, 1);
	assert_int_equal(ended_calls, 1);
	assert_true(fd_closed(fds[0]) && fd_closed(fds[1]));
}

static void test_kernel_picks(void **state)
{
	int fds[1], error;
	char err[256];
	struct binding *b;

	(void)state;
	b = bind_ok("", fds, 1);
	assert_int_equal(k.index_asked, -1);
	assert_string_equal(chosen, "nbd7");
	netlink_binding_ops.disconnect(b, err, sizeof(err));
	assert_int_equal(netlink_binding_ops.wait(b, &error), BIND_END_REQUESTED);
}

static void test_busy_retried(void **state)
{
	struct timespec t0, t1;
	int fds[1], error;
	char err[256];
	struct binding *b;
	long ms;

	(void)state;
	k.busy_left = 3;		/* udevd probing the new device */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b = bind_ok("nbd3", fds, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 250);
	assert_int_equal(k.connects, 4);
	netlink_binding_ops.disconnect(b, err, sizeof(err));
	netlink_binding_ops.wait(b, &error);
}

static void test_busy_gives_up(void **state)
{
	char err[256] = "";
	struct bind_params p;
	int fds[2];

	(void)state;
	netlink_bind_busy_ms = 300;
	k.busy_left = 1000;
	make_fds(fds, 2);
	p = params("nbd3", fds, 2);
	assert_null(netlink_binding_ops.bind(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "NBD_CMD_CONNECT on nbd3: the device is in use"));
	assert_true(fd_closed(fds[0]) && fd_closed(fds[1]));
	assert_int_equal(ended_calls, 0);
}

/* nbd.ko gives connection i up. */
static void kernel_kills(unsigned i)
{
	pthread_mutex_lock(&lock);
	shutdown(k.kfd[i], SHUT_RDWR);
	k.kdead[i] = true;
	pthread_mutex_unlock(&lock);
}

static void test_dead_replaced(void **state)
{
	int fds[2], fresh[2], error;
	char err[256] = "", why[160] = "";
	struct binding *b;

	(void)state;
	b = bind_ok("nbd3", fds, 2);
	kernel_kills(1);
	wait_for(&changed_calls, 1);
	assert_int_equal(netlink_binding_ops.dead(b, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "shut down"));
	make_fds(fresh, 1);
	if (netlink_binding_ops.replace(b, fresh[0], err, sizeof(err)) < 0)
		fail_msg("replace: %s", err);
	assert_int_equal(k.reconfigures, 1);
	assert_true(same_socket(k.kfd[1], fresh[0]));
	assert_int_equal(netlink_binding_ops.dead(b, NULL, 0), 0);
	assert_true(fd_closed(fds[1]));		/* the old one, let go */
	assert_false(fd_closed(fresh[0]));	/* watched now */

	/* Both die: the kernel fills its first dead slot, and so must we. */
	kernel_kills(0);
	kernel_kills(1);
	wait_for(&changed_calls, 2);
	for (int tries = 0; netlink_binding_ops.dead(b, NULL, 0) < 2 && tries < 100; tries++)
		usleep(10000);
	assert_int_equal(netlink_binding_ops.dead(b, NULL, 0), 2);
	make_fds(fresh + 1, 1);
	assert_int_equal(netlink_binding_ops.replace(b, fresh[1], err, sizeof(err)), 0);
	assert_true(same_socket(k.kfd[0], fresh[1]));
	assert_int_equal(netlink_binding_ops.dead(b, NULL, 0), 1);
	assert_true(fd_closed(fds[0]));
	netlink_binding_ops.disconnect(b, err, sizeof(err));
	assert_int_equal(netlink_binding_ops.wait(b, &error), BIND_END_REQUESTED);
}

static void test_replace_dropped(void **state)
{
	int fds[1], fresh[1], error;
	char err[256] = "";
	struct binding *b;

	(void)state;
	b = bind_ok("nbd3", fds, 1);
	k.adopt = false;	/* the kernel has not marked it dead yet */
	kernel_kills(0);
	wait_for(&changed_calls, 1);
	make_fds(fresh, 1);
	assert_int_equal(netlink_binding_ops.replace(b, fresh[0], err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the kernel dropped the new socket"));
	assert_true(fd_closed(fresh[0]));
	assert_int_equal(netlink_binding_ops.dead(b, NULL, 0), 1);
	netlink_binding_ops.disconnect(b, err, sizeof(err));
	assert_string_equal(err, "no live connection: not flushed");
	assert_int_equal(netlink_binding_ops.wait(b, &error), BIND_END_REQUESTED);
}

/* Someone else disconnected the device: the binding ends, lost. */
static void test_configuration_gone(void **state)
{
	int fds[1], error;
	struct binding *b;

	(void)state;
	b = bind_ok("nbd3", fds, 1);
	pthread_mutex_lock(&lock);
	kernel_shut_all();
	k.configured = false;
	pthread_mutex_unlock(&lock);
	wait_for(&ended_calls, 1);
	assert_int_equal(netlink_binding_ops.wait(b, &error), BIND_END_LOST);
	assert_true(k.statuses >= 1);
	assert_true(fd_closed(fds[0]));
}

/* What a device bound by an earlier run looks like to the fake kernel:
 * configured, with n live sockets the binding has no descriptor of. */
static void kernel_has(unsigned n)
{
	int fds[MAXC];

	make_fds(fds, (int)n);
	k.index = 3;
	k.configured = true;
	k.nk = n;
	for (unsigned i = 0; i < n; i++) {
		k.kfd[i] = fds[i];
		k.kdead[i] = false;
	}
	snprintf(k.identifier, sizeof(k.identifier), "nbd://h/d");
}

/* Taking over: no descriptors, so a death is learnt from LINK_DEAD; a
 * probe finds a death nobody was told of, and is dropped when none is. */
static void test_adopt(void **state)
{
	char err[256] = "", why[160] = "";
	struct bind_params p = params("nbd3", NULL, 2);
	int fresh[3], error;
	struct binding *b;

	(void)state;
	kernel_has(2);
	b = netlink_binding_ops.adopt(&p, err, sizeof(err));
	if (!b)
		fail_msg("adopt: %s", err);
	assert_ptr_equal(b->ops, &netlink_binding_ops);
	assert_int_equal(k.connects, 0);
	assert_int_equal(netlink_binding_ops.dead(b, NULL, 0), 0);

	/* All alive: the kernel drops the probe's socket. */
	make_fds(fresh, 1);
	assert_int_equal(netlink_binding_ops.probe(b, fresh[0], err, sizeof(err)),
			 BIND_PROBE_ALL_LIVE);
	assert_int_equal(k.reconfigures, 1);
	assert_true(fd_closed(fresh[0]));

	/* A death the binding cannot see until LINK_DEAD says so. */
	kernel_kills(1);
	usleep(300000);
	assert_int_equal(changed_calls, 0);
	netlink_link_dead(3);
	wait_for(&changed_calls, 1);
	assert_int_equal(netlink_binding_ops.dead(b, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "LINK_DEAD"));
	make_fds(fresh + 1, 1);
	if (netlink_binding_ops.replace(b, fresh[1], err, sizeof(err)) < 0)
		fail_msg("replace: %s", err);
	assert_true(same_socket(k.kfd[1], fresh[1]));
	assert_int_equal(netlink_binding_ops.dead(b, NULL, 0), 0);
	assert_false(fd_closed(fresh[1]));	/* watched from now on */

	/* A death while no daemon ran: the probe's socket replaces it. */
	kernel_kills(0);
	make_fds(fresh + 2, 1);
	assert_int_equal(netlink_binding_ops.probe(b, fresh[2], err, sizeof(err)),
			 BIND_PROBE_REPLACED);
	assert_true(same_socket(k.kfd[0], fresh[2]));
	assert_false(fd_closed(fresh[2]));

	/* Both now have descriptors: a hang-up is seen without LINK_DEAD. */
	kernel_kills(0);
	wait_for(&changed_calls, 2);
	assert_int_equal(netlink_binding_ops.dead(b, NULL, 0), 1);
	netlink_binding_ops.disconnect(b, err, sizeof(err));
	assert_int_equal(netlink_binding_ops.wait(b, &error), BIND_END_REQUESTED);
	assert_true(fd_closed(fresh[1]) && fd_closed(fresh[2]));
}

/* The kernel let the device go before the new daemon came. */
static void test_adopt_gone(void **state)
{
	char err[256] = "";
	struct bind_params p = params("nbd3", NULL, 1);

	(void)state;
	kernel_has(1);
	k.configured = false;
	assert_null(netlink_binding_ops.adopt(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "nbd3 is no longer connected"));
	assert_int_equal(ended_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bind_and_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_picks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configuration_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_gone, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
