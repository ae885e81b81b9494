/* SPDX-License-Identifier: MIT */
/*
 * The ioctl binding against a fake kernel: ioctl() is wrapped by the
 * linker (-Wl,--wrap=ioctl), so every call the binding makes is recorded
 * and answered here. NBD_DO_IT blocks like the kernel's (with the sysfs
 * pid file present) until NBD_DISCONNECT or NBD_CLEAR_SOCK, or until a
 * test makes the connection "die".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/nbd.h>
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attach/binding.h"
#include "attach/ioctl_bind.h"

int __wrap_ioctl(int fd, unsigned long req, ...);

struct call {
	unsigned long req;
	unsigned long arg;	/* BLKROSET: the int it points to */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct call calls[64];
static int ncalls;
static int busy_left;			/* EBUSY answers still to give ... */
static unsigned long busy_req;		/* ... to this request */
static int do_it_result;		/* 0, or an errno DO_IT fails with at once */
static bool serving, ended_now;
static int lose_with;			/* -1: no; else DO_IT returns with it */
static int ended_calls;
static char dir[64], piddir[128], pidfile[160];

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	va_list ap;
	int rc = 0;

	(void)fd;
	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	pthread_mutex_lock(&lock);
	assert_true(ncalls < 64);
	calls[ncalls].req = req;
	calls[ncalls].arg = req == BLKROSET ? (unsigned long)*(int *)arg : arg;
	ncalls++;
	if (req == busy_req && busy_left > 0) {
		busy_left--;
		pthread_mutex_unlock(&lock);
		errno = EBUSY;
		return -1;
	}
	switch (req) {
	case NBD_DO_IT:
		if (do_it_result) {
			rc = -1;
			errno = do_it_result;
			break;
		}
		/* The kernel publishes the pid file while it serves. */
		serving = true;
		close(open(pidfile, O_CREAT | O_WRONLY, 0644));
		while (!ended_now && lose_with < 0)
			pthread_cond_wait(&cond, &lock);
		unlink(pidfile);
		serving = false;
		if (lose_with > 0) {
			rc = -1;
			errno = lose_with;
		}
		break;
	case NBD_DISCONNECT:
	case NBD_CLEAR_SOCK:
		if (serving) {
			ended_now = true;
			pthread_cond_broadcast(&cond);
		}
		break;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static void on_ended(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	ended_calls++;
	pthread_mutex_unlock(&lock);
}

static int setup(void **state)
{
	char node[160];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_ioctl.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(node, sizeof(node), "%s/nbd0", dir);
	close(open(node, O_CREAT | O_WRONLY, 0600));	/* the "device node" */
	snprintf(piddir, sizeof(piddir), "%s/sys", dir);
	mkdir(piddir, 0755);
	snprintf(pidfile, sizeof(pidfile), "%s/sys/nbd0", dir);
	mkdir(pidfile, 0755);
	snprintf(pidfile, sizeof(pidfile), "%s/sys/nbd0/pid", dir);
	ioctl_bind_dev_dir = dir;
	ioctl_bind_sysfs_dir = piddir;
	ioctl_bind_busy_ms = 5000;
	ncalls = 0;
	busy_left = 0;
	busy_req = 0;
	do_it_result = 0;
	serving = ended_now = false;
	lose_with = -1;
	ended_calls = 0;
	return 0;
}

static int teardown(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Two real sockets for the binding to own. */
static void make_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		close(sv[1]);
		fds[i] = sv[0];
	}
}

static bool fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

static struct bind_params params(const int *fds, unsigned nfds, bool readonly)
{
	return (struct bind_params){
		.device = "nbd0", .size = 1ULL << 30, .blksize = 4096,
		.flags = 0x10d, .readonly = readonly, .timeout = 30,
		.fds = fds, .nfds = nfds, .identifier = "nbd://h/d",
		.ended = on_ended,
	};
}

static void expect(int i, unsigned long req, unsigned long arg)
{
	if (i >= ncalls)
		fail_msg("call %d missing (only %d made)", i, ncalls);
	if (calls[i].req != req || calls[i].arg != arg)
		fail_msg("call %d: ioctl 0x%lx(%lu), want 0x%lx(%lu)", i, calls[i].req,
			 calls[i].arg, req, arg);
}

static void test_order(void **state)
{
	int fds[2], error = -1;
	char err[256] = "";
	struct bind_params p;
	struct binding *b;

	(void)state;
	make_fds(fds, 2);
	p = params(fds, 2, false);
	b = ioctl_binding_ops.bind(&p, err, sizeof(err));
	if (!b)
		fail_msg("bind: %s", err);
	assert_ptr_equal(b->ops, &ioctl_binding_ops);
	assert_null(b->ops->dead);	/* it cannot replace a connection */
	assert_null(b->ops->adopt);
	/* The order nbd.ko needs: flags before the sockets, DO_IT last. */
	expect(0, NBD_SET_BLKSIZE, 4096);
	expect(1, NBD_SET_SIZE, 1UL << 30);
	expect(2, NBD_CLEAR_SOCK, 0);
	expect(3, NBD_SET_FLAGS, 0x10d);
	expect(4, NBD_SET_TIMEOUT, 30);
	expect(5, NBD_SET_SOCK, fds[0]);
	expect(6, NBD_SET_SOCK, fds[1]);
	expect(7, NBD_DO_IT, 0);
	assert_int_equal(ncalls, 8);
	assert_false(fd_closed(fds[0]));

	assert_int_equal(ioctl_binding_ops.disconnect(b, err, sizeof(err)), 0);
	assert_int_equal(ioctl_binding_ops.wait(b, &error), BIND_END_REQUESTED);
	assert_int_equal(error, 0);
	expect(8, NBD_DISCONNECT, 0);
	expect(9, NBD_CLEAR_SOCK, 0);	/* after DO_IT returned */
	expect(10, NBD_CLEAR_SOCK, 0);	/* releasing */
	assert_int_equal(ncalls, 11);
	assert_int_equal(ended_calls, 1);
	assert_true(fd_closed(fds[0]) && fd_closed(fds[1]));
}

static void test_readonly(void **state)
{
	int fds[1], error;
	char err[256] = "";
	struct bind_params p;
	struct binding *b;

	(void)state;
	make_fds(fds, 1);
	p = params(fds, 1, true);
	b = ioctl_binding_ops.bind(&p, err, sizeof(err));
	if (!b)
		fail_msg("bind: %s", err);
	expect(3, NBD_SET_FLAGS, 0x10d);
	expect(4, BLKROSET, 1);
	expect(5, NBD_SET_TIMEOUT, 30);
	expect(6, NBD_SET_SOCK, fds[0]);
	expect(7, NBD_DO_IT, 0);
	assert_int_equal(ioctl_binding_ops.disconnect(b, err, sizeof(err)), 0);
	assert_int_equal(ioctl_binding_ops.wait(b, &error), BIND_END_REQUESTED);
	/* Read-only is the block device's, not the connection's: undone. */
	expect(ncalls - 2, NBD_CLEAR_SOCK, 0);
	expect(ncalls - 1, BLKROSET, 0);
}

static void test_busy_retried(void **state)
{
	struct timespec t0, t1;
	int fds[1], error;
	char err[256] = "";
	struct bind_params p;
	struct binding *b;
	long ms;

	(void)state;
	make_fds(fds, 1);
	busy_req = NBD_SET_SOCK;
	busy_left = 3;		/* udevd probing the new device */
	p = params(fds, 1, false);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b = ioctl_binding_ops.bind(&p, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!b)
		fail_msg("bind gave up on a short EBUSY: %s", err);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 250);
	for (int i = 5; i < 9; i++)
		expect(i, NBD_SET_SOCK, fds[0]);
	expect(9, NBD_DO_IT, 0);
	assert_int_equal(ioctl_binding_ops.disconnect(b, err, sizeof(err)), 0);
	assert_int_equal(ioctl_binding_ops.wait(b, &error), BIND_END_REQUESTED);
}

static void test_busy_gives_up(void **state)
{
	int fds[2];
	char err[256] = "";
	struct bind_params p;

	(void)state;
	make_fds(fds, 2);
	ioctl_bind_busy_ms = 300;
	busy_req = NBD_SET_SOCK;
	busy_left = 1000;
	p = params(fds, 2, false);
	assert_null(ioctl_binding_ops.bind(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "NBD_SET_SOCK on /dev/nbd0"));
	assert_non_null(strstr(err, "in use by another task"));
	for (int i = 0; i < ncalls; i++)
		assert_true(calls[i].req != NBD_DO_IT);
	/* The failed attempt is undone and the sockets are closed. */
	expect(ncalls - 1, NBD_CLEAR_SOCK, 0);
	assert_true(fd_closed(fds[0]) && fd_closed(fds[1]));
	assert_int_equal(ended_calls, 0);
}

static void test_other_error_not_retried(void **state)
{
	int fds[1];
	char err[256] = "";
	struct bind_params p;

	(void)state;
	make_fds(fds, 1);
	do_it_result = EINVAL;
	p = params(fds, 1, false);
	assert_null(ioctl_binding_ops.bind(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "NBD_DO_IT on /dev/nbd0: Invalid argument"));
	assert_true(fd_closed(fds[0]));
	int do_its = 0;
	for (int i = 0; i < ncalls; i++)
		do_its += calls[i].req == NBD_DO_IT;
	assert_int_equal(do_its, 1);
}

static void *lose_later(void *arg)
{
	usleep(100000);
	pthread_mutex_lock(&lock);
	lose_with = (int)(intptr_t)arg;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void lost(int how, int want_error)
{
	int fds[1], error = -1;
	char err[256] = "";
	struct bind_params p;
	struct binding *b;
	pthread_t t;

	make_fds(fds, 1);
	p = params(fds, 1, false);
	b = ioctl_binding_ops.bind(&p, err, sizeof(err));
	if (!b)
		fail_msg("bind: %s", err);
	pthread_create(&t, NULL, lose_later, (void *)(intptr_t)how);
	assert_int_equal(ioctl_binding_ops.wait(b, &error), BIND_END_LOST);
	pthread_join(t, NULL);
	assert_int_equal(error, want_error);
	assert_int_equal(ended_calls, 1);
	expect(ncalls - 1, NBD_CLEAR_SOCK, 0);
	assert_true(fd_closed(fds[0]));
}

static void test_connection_lost(void **state)
{
	(void)state;
	lost(0, 0);
}

static void test_timed_out(void **state)
{
	(void)state;
	lost(ETIMEDOUT, ETIMEDOUT);
}

static void test_no_device(void **state)
{
	int fds[1];
	char err[256] = "";
	struct bind_params p;

	(void)state;
	make_fds(fds, 1);
	p = params(fds, 1, false);
	p.device = "nbd7";
	assert_null(ioctl_binding_ops.bind(&p, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open"));
	assert_non_null(strstr(err, "nbd7"));
	assert_int_equal(ncalls, 0);
	assert_true(fd_closed(fds[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_error_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timed_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_device, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
