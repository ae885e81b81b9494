/* SPDX-License-Identifier: MIT */
/* Inline mode's reply batch over a socketpair: pieces are copied at add
 * time, nothing is sent until a flush or a bound, bounds send what came
 * before in order, and a failed send empties the batch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/reply_batch.h"

struct pair {
	struct conn_io io;
	int peer;
	struct reply_batch b;
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Room for the 256 KiB bound without the writer blocking. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 4 << 20 }, sizeof(int));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &(int){ 4 << 20 }, sizeof(int));
	p->io.fd = sv[0];
	p->peer = sv[1];
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	reply_batch_flush(&p->b, NULL, false);
	if (p->io.fd >= 0)
		close(p->io.fd);
	close(p->peer);
	free(p);
	return 0;
}

/* Bytes waiting at the peer, read without waiting. */
static size_t drain(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (n <= 0)
			return got;
		got += n;
	}
}

static void *owned_copy(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void test_pieces_copied_and_held(void **state)
{
	struct pair *p = *state;
	char hdr[] = "HDR1";
	void *data = owned_copy("data1");
	struct iovec iov[2] = { { hdr, 4 }, { data, 5 } };
	uint8_t buf[64];

	assert_int_equal(reply_batch_add(&p->b, &p->io, iov, 2, data), 0);
	memcpy(hdr, "XXXX", 4);		/* the caller's stack is gone */
	assert_int_equal(drain(p->peer, buf, sizeof(buf)), 0);
	assert_false(reply_batch_empty(&p->b));
	assert_int_equal(reply_batch_flush(&p->b, &p->io, false), 0);
	assert_true(reply_batch_empty(&p->b));
	assert_int_equal(drain(p->peer, buf, sizeof(buf)), 9);
	assert_memory_equal(buf, "HDR1data1", 9);
}

/* More iovs than the batch holds: the first replies go out, in order,
 * when the one that does not fit comes. */
static void test_iov_bound_sends_in_order(void **state)
{
	struct pair *p = *state;
	int replies = REPLY_BATCH_IOV / 2 + 3;
	uint8_t buf[4096];
	size_t got;

	for (int i = 0; i < replies; i++) {
		uint8_t h = (uint8_t)i;
		uint8_t *d = malloc(1);
		struct iovec iov[2] = { { &h, 1 }, { d, 1 } };

		assert_non_null(d);
		*d = (uint8_t)(0x80 | i);
		assert_int_equal(reply_batch_add(&p->b, &p->io, iov, 2, d), 0);
	}
	got = drain(p->peer, buf, sizeof(buf));
	assert_int_equal(got, REPLY_BATCH_IOV);
	assert_int_equal(reply_batch_flush(&p->b, &p->io, false), 0);
	got += drain(p->peer, buf + got, sizeof(buf) - got);
	assert_int_equal(got, 2 * replies);
	for (int i = 0; i < replies; i++) {
		assert_int_equal(buf[2 * i], i);
		assert_int_equal(buf[2 * i + 1], 0x80 | i);
	}
}

/* Once REPLY_BATCH_BYTES wait, the next reply sends them first. */
static void test_byte_bound(void **state)
{
	struct pair *p = *state;
	size_t big = REPLY_BATCH_BYTES;
	uint8_t *d = malloc(big), *buf = malloc(big + 16);
	struct iovec iov = { d, big };
	char h[] = "next";
	struct iovec iov2 = { h, 4 };

	assert_non_null(d);
	assert_non_null(buf);
	memset(d, 0x5a, big);
	assert_int_equal(reply_batch_add(&p->b, &p->io, &iov, 1, d), 0);
	assert_int_equal(drain(p->peer, buf, big + 16), 0);
	assert_int_equal(reply_batch_add(&p->b, &p->io, &iov2, 1, NULL), 0);
	assert_int_equal(drain(p->peer, buf, big + 16), big);
	assert_int_equal(buf[big - 1], 0x5a);
	assert_int_equal(reply_batch_flush(&p->b, &p->io, false), 0);
	assert_int_equal(drain(p->peer, buf, big + 16), 4);
	assert_memory_equal(buf, "next", 4);
	free(buf);
}

/* The peer gone: the flush fails (no SIGPIPE), and the batch is empty. */
static void test_failed_send_empties(void **state)
{
	struct pair *p = *state;
	void *data = owned_copy("lost");
	struct iovec iov = { data, 4 };

	assert_int_equal(reply_batch_add(&p->b, &p->io, &iov, 1, data), 0);
	shutdown(p->peer, SHUT_RDWR);
	assert_int_equal(reply_batch_flush(&p->b, &p->io, false), -1);
	assert_int_equal(errno, EPIPE);
	assert_true(reply_batch_empty(&p->b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pieces_copied_and_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iov_bound_sends_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_send_empties, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
