/* SPDX-License-Identifier: MIT */
/* Unit tests for lib/common/wire.h: all-or-nothing socket I/O and big-endian
 * field access. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/wire.h"

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + seed + (i >> 8));
}

static void test_put_be(void **state)
{
	uint8_t b[8];

	(void)state;
	put_be16(b, 0x0102);
	assert_memory_equal(b, "\x01\x02", 2);
	put_be32(b, 0x25609513);
	assert_memory_equal(b, "\x25\x60\x95\x13", 4);
	put_be64(b, 0x4e42444d41474943ULL);
	assert_memory_equal(b, "NBDMAGIC", 8);
	put_be64(b, 0x49484156454F5054ULL);
	assert_memory_equal(b, "IHAVEOPT", 8);
}

static void test_get_be(void **state)
{
	/* Unaligned on purpose: fields in messages sit at odd offsets. */
	static const uint8_t msg[] = { 0xff, 0x80, 0x01, 0x02, 0x03, 0x04,
				       0x05, 0x06, 0x07, 0x08 };

	(void)state;
	assert_int_equal(get_be16(msg + 1), 0x8001);
	assert_int_equal(get_be32(msg + 1), 0x80010203);
	assert_true(get_be64(msg + 1) == 0x8001020304050607ULL);
	assert_true(get_be64(msg + 2) == 0x0102030405060708ULL);
}

static void test_be_round_trip(void **state)
{
	uint8_t b[9];

	(void)state;
	srand(1);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 11) ^ rand();
		put_be16(b + 1, (uint16_t)v);
		assert_int_equal(get_be16(b + 1), (uint16_t)v);
		put_be32(b + 1, (uint32_t)v);
		assert_int_equal(get_be32(b + 1), (uint32_t)v);
		put_be64(b + 1, v);
		assert_true(get_be64(b + 1) == v);
	}
	put_be64(b, UINT64_MAX);
	assert_true(get_be64(b) == UINT64_MAX);
	put_be16(b, 0);
	assert_int_equal(get_be16(b), 0);
}

/* A writer thread that trickles bytes in small pieces with pauses. */
struct trickle {
	int fd;
	const uint8_t *data;
	size_t len;
	size_t piece;
	bool close_after;
};

static void *trickle_main(void *arg)
{
	struct trickle *t = arg;
	struct timespec pause = { 0, 200000 };

	for (size_t off = 0; off < t->len; off += t->piece) {
		size_t n = t->len - off < t->piece ? t->len - off : t->piece;
		if (write(t->fd, t->data + off, n) != (ssize_t)n)
			abort();
		nanosleep(&pause, NULL);
	}
	if (t->close_after)
		close(t->fd);
	return NULL;
}

static void test_read_full_joins_pieces(void **state)
{
	int sv[2];
	uint8_t src[5000], dst[5000];
	pthread_t th;
	struct trickle t;

	(void)state;
	fill_pattern(src, sizeof(src), 3);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t = (struct trickle){ .fd = sv[1], .data = src, .len = sizeof(src), .piece = 7 };
	assert_int_equal(pthread_create(&th, NULL, trickle_main, &t), 0);
	assert_int_equal(read_full(sv[0], dst, sizeof(dst)), 0);
	pthread_join(th, NULL);
	assert_memory_equal(src, dst, sizeof(src));
	close(sv[0]);
	close(sv[1]);
}

static void test_read_full_zero_len(void **state)
{
	int sv[2];
	char c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Nothing is waiting; a zero-length read must not block. */
	assert_int_equal(read_full(sv[0], &c, 0), 0);
	close(sv[0]);
	close(sv[1]);
}

static void test_read_full_eof(void **state)
{
	int sv[2];
	uint8_t buf[100];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "abc", 3), 3);
	close(sv[1]);
	errno = 0;
	assert_int_equal(read_full(sv[0], buf, sizeof(buf)), -1);
	assert_int_equal(errno, ECONNRESET);
	/* Immediately at end of stream, too. */
	errno = 0;
	assert_int_equal(read_full(sv[0], buf, 1), -1);
	assert_int_equal(errno, ECONNRESET);
	close(sv[0]);
}

static void test_bad_fd(void **state)
{
	uint8_t buf[4] = { 0 };
	struct iovec iov = { buf, sizeof(buf) };

	(void)state;
	errno = 0;
	assert_int_equal(read_full(-1, buf, 4), -1);
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_int_equal(write_full(-1, buf, 4), -1);
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_int_equal(writev_full(-1, &iov, 1), -1);
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_int_equal(discard_full(-1, 4), -1);
	assert_int_equal(errno, EBADF);
}

/* A reader thread that drains a pipe slowly and keeps what it read. */
struct drain {
	int fd;
	uint8_t *buf;
	size_t cap;
	size_t got;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	struct timespec pause = { 0, 50000 };
	ssize_t n;

	while ((n = read(d->fd, d->buf + d->got, d->cap - d->got > 3000 ?
			 3000 : d->cap - d->got)) > 0) {
		d->got += n;
		nanosleep(&pause, NULL);
		if (d->got == d->cap)
			break;
	}
	return NULL;
}

static void test_write_full_large(void **state)
{
	int p[2];
	size_t len = 3 * 1024 * 1024 + 17;
	uint8_t *src = malloc(len), *dst = malloc(len);
	struct drain d = { .buf = dst, .cap = len };
	pthread_t th;

	(void)state;
	assert_non_null(src);
	assert_non_null(dst);
	fill_pattern(src, len, 9);
	assert_int_equal(pipe(p), 0);
	d.fd = p[0];
	assert_int_equal(pthread_create(&th, NULL, drain_main, &d), 0);
	/* Far more than a pipe holds: write_full must loop on short writes. */
	assert_int_equal(write_full(p[1], src, len), 0);
	close(p[1]);
	pthread_join(th, NULL);
	assert_int_equal(d.got, len);
	assert_memory_equal(src, dst, len);
	close(p[0]);
	free(src);
	free(dst);
}

static void test_write_full_peer_gone(void **state)
{
	int sv[2];
	uint8_t buf[1024] = { 0 };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	(void)state;
	sigaction(SIGPIPE, &ign, &old);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	errno = 0;
	assert_int_equal(write_full(sv[0], buf, sizeof(buf)), -1);
	assert_int_equal(errno, EPIPE);
	close(sv[0]);
	sigaction(SIGPIPE, &old, NULL);
}

/* Many vectors, some empty, some larger than the pipe: each byte arrives
 * once, in order, even across short writes that end inside a vector. */
static void test_writev_full_vectors(void **state)
{
	enum { NV = 9 };
	static const size_t sizes[NV] = { 0, 1, 100000, 0, 65536, 3, 0, 200001, 0 };
	struct iovec iov[NV];
	size_t total = 0, off = 0;
	uint8_t *src, *dst;
	struct drain d;
	pthread_t th;
	int p[2];

	(void)state;
	for (int i = 0; i < NV; i++)
		total += sizes[i];
	src = malloc(total);
	dst = malloc(total);
	assert_non_null(src);
	assert_non_null(dst);
	fill_pattern(src, total, 5);
	for (int i = 0; i < NV; i++) {
		iov[i].iov_base = src + off;
		iov[i].iov_len = sizes[i];
		off += sizes[i];
	}
	assert_int_equal(pipe(p), 0);
	d = (struct drain){ .fd = p[0], .buf = dst, .cap = total };
	assert_int_equal(pthread_create(&th, NULL, drain_main, &d), 0);
	assert_int_equal(writev_full(p[1], iov, NV), 0);
	close(p[1]);
	pthread_join(th, NULL);
	assert_int_equal(d.got, total);
	assert_memory_equal(src, dst, total);
	close(p[0]);
	free(src);
	free(dst);
}

static void test_writev_full_more_than_iov_max(void **state)
{
	int n = IOV_MAX * 2 + 5;
	struct iovec *iov = calloc(n, sizeof(*iov));
	uint8_t *src = malloc(n), *dst = malloc(n);
	struct drain d;
	pthread_t th;
	int p[2];

	(void)state;
	assert_non_null(iov);
	fill_pattern(src, n, 11);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = src + i;
		iov[i].iov_len = 1;
	}
	assert_int_equal(pipe(p), 0);
	d = (struct drain){ .fd = p[0], .buf = dst, .cap = n };
	assert_int_equal(pthread_create(&th, NULL, drain_main, &d), 0);
	assert_int_equal(writev_full(p[1], iov, n), 0);
	close(p[1]);
	pthread_join(th, NULL);
	assert_int_equal(d.got, n);
	assert_memory_equal(src, dst, n);
	close(p[0]);
	free(iov);
	free(src);
	free(dst);
}

static void test_discard_full(void **state)
{
	int sv[2];
	size_t skip = 3 * 4096 + 123;
	uint8_t *junk = malloc(skip);
	uint8_t marker[4];
	pthread_t th;
	struct trickle t;
	uint8_t both[4096 * 3 + 123 + 4];

	(void)state;
	fill_pattern(junk, skip, 1);
	memcpy(both, junk, skip);
	memcpy(both + skip, "MARK", 4);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	t = (struct trickle){ .fd = sv[1], .data = both, .len = sizeof(both), .piece = 1000 };
	assert_int_equal(pthread_create(&th, NULL, trickle_main, &t), 0);
	assert_int_equal(discard_full(sv[0], skip), 0);
	/* Exactly skip bytes went: the next ones are the marker. */
	assert_int_equal(read_full(sv[0], marker, 4), 0);
	assert_memory_equal(marker, "MARK", 4);
	pthread_join(th, NULL);
	assert_int_equal(discard_full(sv[0], 0), 0);
	close(sv[1]);
	errno = 0;
	assert_int_equal(discard_full(sv[0], 10), -1);
	assert_int_equal(errno, ECONNRESET);
	close(sv[0]);
	free(junk);
}

/* Signals without SA_RESTART interrupt a blocked read with EINTR; the
 * read must go on and still deliver every byte. */
static volatile sig_atomic_t signals_seen;

static void on_usr1(int sig)
{
	(void)sig;
	signals_seen++;
}

struct eintr_reader {
	int fd;
	uint8_t buf[64];
	int rc;
	int err;
	volatile int started;
};

static void *eintr_reader_main(void *arg)
{
	struct eintr_reader *r = arg;

	r->started = 1;
	r->rc = read_full(r->fd, r->buf, sizeof(r->buf));
	r->err = errno;
	return NULL;
}

static void test_read_full_retries_eintr(void **state)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct eintr_reader r = { 0 };
	uint8_t src[64];
	pthread_t th;
	int sv[2];

	(void)state;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: read() sees EINTR */
	sigaction(SIGUSR1, &sa, &old);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r.fd = sv[0];
	fill_pattern(src, sizeof(src), 77);
	assert_int_equal(pthread_create(&th, NULL, eintr_reader_main, &r), 0);
	while (!r.started)
		nanosleep(&pause, NULL);
	nanosleep(&pause, NULL);
	assert_int_equal(write(sv[1], src, 10), 10);
	for (int i = 0; i < 5; i++) {
		nanosleep(&pause, NULL);
		pthread_kill(th, SIGUSR1);
	}
	nanosleep(&pause, NULL);
	assert_int_equal(write(sv[1], src + 10, sizeof(src) - 10), (ssize_t)sizeof(src) - 10);
	pthread_join(th, NULL);
	assert_true(signals_seen >= 1);
	if (r.rc != 0)
		fail_msg("read_full failed after a signal: %s", strerror(r.err));
	assert_memory_equal(r.buf, src, sizeof(src));
	close(sv[0]);
	close(sv[1]);
	sigaction(SIGUSR1, &old, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_be),
		cmocka_unit_test(test_get_be),
		cmocka_unit_test(test_be_round_trip),
		cmocka_unit_test(test_read_full_joins_pieces),
		cmocka_unit_test(test_read_full_zero_len),
		cmocka_unit_test(test_read_full_eof),
		cmocka_unit_test(test_bad_fd),
		cmocka_unit_test(test_write_full_large),
		cmocka_unit_test(test_write_full_peer_gone),
		cmocka_unit_test(test_writev_full_vectors),
		cmocka_unit_test(test_writev_full_more_than_iov_max),
		cmocka_unit_test(test_discard_full),
		cmocka_unit_test(test_read_full_retries_eintr),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
