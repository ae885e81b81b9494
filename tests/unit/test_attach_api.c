/* SPDX-License-Identifier: MIT */
/*
 * The attach API (<cnbd/attach.h>) where no kernel device is needed:
 * options and URIs refused with their reasons, a device this process
 * holds refused to a second attachment, an attachment that waits for a
 * device which never comes (its state and error, a stop, the events),
 * give_up_s ending one, a detach from inside its own last callback, the
 * sockets of cnbd_attach_sockets() closed when it fails, and the backoff
 * policy's delays. nbd999999 exists on no host (the kernel's limit is
 * 2^20 minors, so the name is valid).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attach/supervisor_priv.h"

#define NOWHERE	"nbd999999"
#define URI	"nbd://127.0.0.1:1/disk"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned events[CNBD_ATTACH_EV_STOPPED + 1];
static bool detach_in_callback;

static void on_event(struct cnbd_attach *a, enum cnbd_attach_event ev, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	events[ev]++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (ev == CNBD_ATTACH_EV_STOPPED && detach_in_callback)
		assert_int_equal(cnbd_attach_detach(a), 0);
}

static int setup(void **state)
{
	(void)state;
	memset(events, 0, sizeof(events));
	detach_in_callback = false;
	return 0;
}

/* Options that wait for NOWHERE, retrying quickly. */
static void waiting_options(struct cnbd_attach_options *o)
{
	cnbd_attach_options_init(o);
	o->device = NOWHERE;
	o->binding = CNBD_ATTACH_BINDING_IOCTL;
	o->retry_first = true;
	o->backoff_min_ms = 20;
	o->backoff_max_ms = 50;
	o->on_event = on_event;
}

static void wait_event(enum cnbd_attach_event ev, unsigned n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&lock);
	while (events[ev] < n)
		if (pthread_cond_timedwait(&cond, &lock, &until) != 0)
			break;
	pthread_mutex_unlock(&lock);
	assert_true(events[ev] >= n);
}

static void refused(const struct cnbd_attach_options *o, const char *uri, int want_errno,
		    const char *want)
{
	char err[512] = "";

	errno = 0;
	assert_null(cnbd_attach_start(uri, o, err, sizeof(err)));
	assert_int_equal(errno, want_errno);
	if (!strstr(err, want))
		fail_msg("'%s' does not say '%s'", err, want);
}

static void test_refused_at_once(void **state)
{
	struct cnbd_attach_options o;

	(void)state;
	cnbd_attach_options_init(&o);
	refused(&o, "http://h/x", EINVAL, "not an NBD URI");
	o.tls_mode = CNBD_ATTACH_TLS_KERNEL;
	refused(&o, URI, EINVAL, "tls-mode is for nbds:// URIs only");
	cnbd_attach_options_init(&o);
	o.device = "sda";
	refused(&o, URI, EINVAL, "device is not nbdN");
	cnbd_attach_options_init(&o);
	o.connections = 65;
	refused(&o, URI, EINVAL, "connections must be 1 to 64");
	cnbd_attach_options_init(&o);
	o.negotiate_timeout = 0;
	refused(&o, URI, EINVAL, "negotiate_timeout");
	cnbd_attach_options_init(&o);
	o.backoff_max_ms = 1;
	refused(&o, URI, EINVAL, "backoff");
	refused(&o, NULL, EINVAL, "no URI");
}

static void test_waits_and_stops(void **state)
{
	struct cnbd_attach_options o;
	struct cnbd_attach_status st;
	struct cnbd_attach *a;
	char err[512] = "";

	(void)state;
	waiting_options(&o);
	a = cnbd_attach_start(URI, &o, err, sizeof(err));
	if (!a)
		fail_msg("start: %s", err);
	/* The device is this attachment's: a second one is refused. */
	refused(&o, URI, EBUSY, NOWHERE " is already attached by this process");
	for (int i = 0; i < 200; i++) {
		cnbd_attach_status(a, &st);
		if (st.error[0])
			break;
		usleep(10000);
	}
	assert_string_equal(st.device, NOWHERE);
	assert_int_equal(st.state, CNBD_ATTACH_WAITING);
	assert_string_equal(cnbd_attach_state_name(st.state), "waiting");
	assert_string_equal(st.binding, "ioctl");
	assert_false(st.bound);
	assert_string_equal(st.tls, "off");
	assert_string_equal(st.error, "/dev/" NOWHERE " does not exist (raise nbds_max in modprobe.d?)");
	cnbd_attach_kick(a);
	assert_int_equal(cnbd_attach_detach(a), 0);
	assert_int_equal(events[CNBD_ATTACH_EV_STOPPED], 1);
	assert_int_equal(events[CNBD_ATTACH_EV_BOUND], 0);
	/* Its device is free again in this process. */
	a = cnbd_attach_start(URI, &o, err, sizeof(err));
	if (!a)
		fail_msg("start again: %s", err);
	cnbd_attach_stop(a);
	assert_int_equal(cnbd_attach_wait(a, err, sizeof(err)), -1);
	assert_int_equal(cnbd_attach_detach(a), 0);
}

/* Without retry_first the first failure is the answer. */
static void test_first_failure_final(void **state)
{
	struct cnbd_attach_options o;
	char err[512] = "";

	(void)state;
	waiting_options(&o);
	o.retry_first = false;
	errno = 0;
	assert_null(cnbd_attach_uri(URI, &o, err, sizeof(err)));
	assert_int_equal(errno, EIO);
	assert_string_equal(err, "/dev/" NOWHERE " does not exist (raise nbds_max in modprobe.d?)");
	assert_int_equal(events[CNBD_ATTACH_EV_STOPPED], 1);
}

static void test_gives_up(void **state)
{
	struct cnbd_attach_options o;
	struct cnbd_attach_status st;
	struct timespec t0, t1;
	struct cnbd_attach *a;
	char err[512] = "";
	long ms;

	(void)state;
	waiting_options(&o);
	o.give_up_s = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	a = cnbd_attach_start(URI, &o, err, sizeof(err));
	assert_non_null(a);
	assert_int_equal(cnbd_attach_wait(a, err, sizeof(err)), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(err, "gave up after 1 s without a connection (give_up_s)");
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 1000 && ms < 3000);
	wait_event(CNBD_ATTACH_EV_STOPPED, 1);
	cnbd_attach_status(a, &st);
	assert_int_equal(st.state, CNBD_ATTACH_STOPPED);
	assert_string_equal(st.error, err);
	assert_int_equal(cnbd_attach_detach(a), 0);
}

/* The handle is the program's to free even from its last callback. */
static void test_detach_from_callback(void **state)
{
	struct cnbd_attach_options o;
	char err[512] = "";

	(void)state;
	waiting_options(&o);
	o.give_up_s = 1;
	detach_in_callback = true;
	assert_non_null(cnbd_attach_start(URI, &o, err, sizeof(err)));
	wait_event(CNBD_ATTACH_EV_STOPPED, 1);
	usleep(100000);		/* ASan: nothing is touched after the free */
}

static void test_sockets_closed_on_failure(void **state)
{
	struct cnbd_attach_export ex = { .size = 1 << 20, .flags = 1 };
	struct cnbd_attach_options o;
	int sp[2][2], fds[2];
	char err[512] = "", c;

	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]), 0);
		fds[i] = sp[i][0];
	}
	waiting_options(&o);
	o.retry_first = false;
	assert_null(cnbd_attach_sockets(fds, 2, &ex, &o, err, sizeof(err)));
	assert_non_null(strstr(err, "does not exist"));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(read(sp[i][1], &c, 1), 0);	/* the library closed its end */
		close(sp[i][1]);
	}
}

static void test_backoff_policy(void **state)
{
	struct cnbd_attach a = { .backoff_min_ms = 500, .backoff_max_ms = 30000,
				 .backoff_held_ms = 2000 };

	(void)state;
	/* Jittered from half to all of min << attempt, capped. */
	assert_int_equal(backoff_ms(&a, 0, false, 0), 250);
	assert_int_equal(backoff_ms(&a, 0, false, 250), 500);
	assert_int_equal(backoff_ms(&a, 0, false, 251), 250);
	assert_int_equal(backoff_ms(&a, 3, false, 0), 2000);
	assert_int_equal(backoff_ms(&a, 3, false, 2000), 4000);
	assert_int_equal(backoff_ms(&a, 6, false, 0), 15000);
	assert_int_equal(backoff_ms(&a, 6, false, 15000), 30000);
	assert_int_equal(backoff_ms(&a, 1000, false, 15000), 30000);
	/* While the kernel holds I/O seconds count. */
	assert_int_equal(backoff_ms(&a, 10, true, 1000), 2000);
	assert_int_equal(backoff_ms(&a, 10, true, 0), 1000);
}

static void test_defaults(void **state)
{
	struct cnbd_attach_options o;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	cnbd_attach_options_init(&o);
	assert_null(o.device);
	assert_int_equal(o.binding, CNBD_ATTACH_BINDING_AUTO);
	assert_int_equal(o.connections, 1);
	assert_int_equal(o.timeout, 30);
	assert_int_equal(o.dead_timeout, 120);
	assert_int_equal(o.negotiate_timeout, 30);
	assert_int_equal(o.backoff_min_ms, 500);
	assert_int_equal(o.backoff_max_ms, 30000);
	assert_int_equal(o.backoff_held_ms, 2000);
	assert_int_equal(o.give_up_s, 0);
	assert_false(o.retry_first);
	assert_null(o.on_event);
	assert_null(o.reconnect);
	for (int s = CNBD_ATTACH_WAITING; s <= CNBD_ATTACH_STOPPED; s++)
		assert_string_not_equal(cnbd_attach_state_name(s), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_refused_at_once, setup),
		cmocka_unit_test_setup(test_waits_and_stops, setup),
		cmocka_unit_test_setup(test_first_failure_final, setup),
		cmocka_unit_test_setup(test_gives_up, setup),
		cmocka_unit_test_setup(test_detach_from_callback, setup),
		cmocka_unit_test_setup(test_sockets_closed_on_failure, setup),
		cmocka_unit_test_setup(test_backoff_policy, setup),
		cmocka_unit_test_setup(test_defaults, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
