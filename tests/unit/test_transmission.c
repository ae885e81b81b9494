/* SPDX-License-Identifier: MIT */
/* The engine's transmission phase, driven over a socketpair: data round
 * trips, errors by the spec (ENOSPC, EINVAL, EPERM), flag handling (FUA
 * emulated or passed on, NO_HOLE, FAST_ZERO), emulated WRITE_ZEROES and
 * CACHE, backend errors mapped to NBD errors, oversize requests, DISC,
 * and requests served concurrently with replies matched by cookie. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <pthread.h>

#include "cnbd/protocol.h"
#include "engine_harness.h"
#include "common/wire.h"

#define SIZE (1024 * 1024)
#define MAXP (256 * 1024)

struct world {
	struct harness h;
	struct tdisk disk;
	struct engine e;
	int fd;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct cnbd_export *x;

	tdisk_init(&w->disk, SIZE);
	harness_init(&w->h);
	x = harness_add(&w->h, "disk", NULL, &tdisk_full, &w->disk);
	x->max_block = MAXP;
	x = harness_add(&w->h, "ro", NULL, &tdisk_full, &w->disk);
	x->readonly = true;
	harness_add(&w->h, "plain", NULL, &tdisk_plain, &w->disk);
	harness_add(&w->h, "nfua", NULL, &tdisk_native_fua, &w->disk);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	engine_stop(&w->e);
	tdisk_free(&w->disk);
	free(w);
	return 0;
}

/* Connects to export name; returns the client fd. */
static int go(struct world *w, const char *name)
{
	struct export_info info;

	w->fd = engine_start(&w->e, &w->h, 0);
	cli_go(w->fd, name, &info);
	return w->fd;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void test_write_read_round_trip(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	static uint8_t out[MAXP], in[MAXP];
	static const struct { uint64_t off; uint32_t n; } spots[] = {
		{ 0, 1 }, { 1, 511 }, { 4095, 2 }, { 12345, 54321 },
		{ SIZE - 1, 1 }, { SIZE - MAXP, MAXP }, { 300000, MAXP },
	};

	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		fill(out, spots[i].n, (unsigned)i);
		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE, spots[i].off, spots[i].n,
					 out, NULL), 0);
		assert_memory_equal(w->disk.data + spots[i].off, out, spots[i].n);
		memset(in, 0, spots[i].n);
		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, spots[i].off, spots[i].n,
					 NULL, in), 0);
		assert_memory_equal(in, out, spots[i].n);
	}
	/* Zero-length requests get a reply (success, or EINVAL as nbdkit
	 * answers) and the connection stays in step. */
	uint32_t err = cli_cmd(fd, 0, NBD_CMD_WRITE, 0, 0, NULL, NULL);
	assert_true(err == 0 || err == NBD_EINVAL);
	err = cli_cmd(fd, 0, NBD_CMD_READ, 0, 0, NULL, in);
	assert_true(err == 0 || err == NBD_EINVAL);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, 1, NULL, in), 0);
}

static void test_past_the_end(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	uint8_t buf[8192];
	static const struct { uint64_t off; uint32_t n; } cases[] = {
		{ SIZE, 1 }, { SIZE - 1, 2 }, { SIZE + 4096, 4096 },
		{ UINT64_MAX - 511, 1024 }, { UINT64_MAX, 1 },
	};

	memset(buf, 0xcc, sizeof(buf));
	w->disk.data[SIZE - 1] = 0x77;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t off = cases[i].off;
		uint32_t n = cases[i].n, err;
		bool wraps = off + n < off;

		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, off, n, NULL, buf), NBD_EINVAL);
		err = cli_cmd(fd, 0, NBD_CMD_WRITE, off, n, buf, NULL);
		if (!(err == NBD_ENOSPC || (wraps && err == NBD_EINVAL)))
			fail_msg("write %llu+%u: error %u", (unsigned long long)off, n, err);
		err = cli_cmd(fd, 0, NBD_CMD_WRITE_ZEROES, off, n, NULL, NULL);
		if (!(err == NBD_ENOSPC || (wraps && err == NBD_EINVAL)))
			fail_msg("zero %llu+%u: error %u", (unsigned long long)off, n, err);
		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_TRIM, off, n, NULL, NULL), NBD_EINVAL);
		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_CACHE, off, n, NULL, NULL), NBD_EINVAL);
	}
	/* Nothing was written, and the connection is in step. */
	assert_int_equal(w->disk.data[SIZE - 1], 0x77);
	assert_int_equal(w->disk.pwrites, 0);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, SIZE - 1, 1, NULL, buf), 0);
	assert_int_equal(buf[0], 0x77);
}

static void test_readonly_eperm(void **state)
{
	struct world *w = *state;
	int fd = go(w, "ro");
	uint8_t buf[4096];

	memset(buf, 1, sizeof(buf));
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE, 0, 4096, buf, NULL), NBD_EPERM);
	assert_int_equal(cli_cmd(fd, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 0, 4096, buf, NULL),
			 NBD_EPERM);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_TRIM, 0, 4096, NULL, NULL), NBD_EPERM);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE_ZEROES, 0, 4096, NULL, NULL),
			 NBD_EPERM);
	assert_int_equal(w->disk.pwrites + w->disk.trims + w->disk.zeros, 0);
	/* Reads still work: the refused payloads were skipped. */
	w->disk.data[10] = 9;
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 8, 4, NULL, buf), 0);
	assert_int_equal(buf[2], 9);
}

static void test_unknown_command_and_flags(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	uint8_t buf[512];

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(cli_cmd(fd, 0, 0x77, 0, 0, NULL, NULL), NBD_EINVAL);
	assert_int_equal(cli_cmd(fd, 0, 9, 0, 512, NULL, NULL), NBD_EINVAL);
	assert_int_equal(cli_cmd(fd, 1U << 9, NBD_CMD_READ, 0, 512, NULL, buf), NBD_EINVAL);
	assert_int_equal(cli_cmd(fd, 1U << 15, NBD_CMD_WRITE, 0, 512, buf, NULL), NBD_EINVAL);
	assert_int_equal(w->disk.pwrites, 0);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, 512, NULL, buf), 0);
	assert_int_equal(buf[0], 0);
}

static void test_flush_and_trim_reach_backend(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");

	memset(w->disk.data, 0xff, SIZE);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL), 0);
	assert_int_equal(w->disk.flushes, 1);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_TRIM, 8192, 4096, NULL, NULL), 0);
	assert_int_equal(w->disk.trims, 1);
	assert_int_equal(w->disk.last_offset, 8192);
	assert_int_equal(w->disk.last_count, 4096);
	assert_int_equal(w->disk.data[8192], 0);
	assert_int_equal(w->disk.data[8191], 0xff);
}

/* Without NATIVE_FUA the engine makes a FUA write durable with a flush
 * after it; with NATIVE_FUA it passes CNBD_FUA down and flushes nothing. */
static void test_fua_emulated_by_flush(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	uint8_t buf[512] = { 1 };

	assert_int_equal(cli_cmd(fd, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 0, 512, buf, NULL), 0);
	assert_int_equal(w->disk.pwrites, 1);
	assert_true(w->disk.flushes >= 1);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE, 0, 512, buf, NULL), 0);
	assert_int_equal(w->disk.flushes, 1);	/* no FUA, no flush */
}

static void test_fua_native(void **state)
{
	struct world *w = *state;
	int fd = go(w, "nfua");
	uint8_t buf[512] = { 1 };

	assert_int_equal(cli_cmd(fd, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 0, 512, buf, NULL), 0);
	assert_true(w->disk.last_flags & CNBD_FUA);
	assert_int_equal(w->disk.flushes, 0);
	assert_int_equal(cli_cmd(fd, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE_ZEROES, 0, 512, NULL, NULL), 0);
	assert_true(w->disk.last_flags & CNBD_FUA);
	assert_int_equal(w->disk.flushes, 0);
}

static void test_zero_flags(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");

	memset(w->disk.data, 0xff, SIZE);
	/* Without NO_HOLE the backend may punch a hole. */
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE_ZEROES, 100, 50, NULL, NULL), 0);
	assert_int_equal(w->disk.zeros, 1);
	assert_true(w->disk.last_flags & CNBD_MAY_TRIM);
	assert_false(w->disk.last_flags & CNBD_FAST_ZERO);
	assert_int_equal(w->disk.data[100], 0);
	assert_int_equal(w->disk.data[149], 0);
	assert_int_equal(w->disk.data[150], 0xff);
	assert_int_equal(w->disk.data[99], 0xff);
	/* NO_HOLE: it may not. */
	assert_int_equal(cli_cmd(fd, NBD_CMD_FLAG_NO_HOLE, NBD_CMD_WRITE_ZEROES, 200, 10,
				 NULL, NULL), 0);
	assert_false(w->disk.last_flags & CNBD_MAY_TRIM);
	/* FAST_ZERO is passed on. */
	assert_int_equal(cli_cmd(fd, NBD_CMD_FLAG_FAST_ZERO, NBD_CMD_WRITE_ZEROES, 300, 10,
				 NULL, NULL), 0);
	assert_true(w->disk.last_flags & CNBD_FAST_ZERO);
}

/* A backend that cannot zero fast says ENOTSUP: the client gets ENOTSUP,
 * and the engine does not fall back to slow writes. */
static void test_fast_zero_refused(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");

	memset(w->disk.data, 0xff, SIZE);
	w->disk.zero_not_fast = true;
	assert_int_equal(cli_cmd(fd, NBD_CMD_FLAG_FAST_ZERO, NBD_CMD_WRITE_ZEROES, 0, 4096,
				 NULL, NULL), NBD_ENOTSUP);
	assert_int_equal(w->disk.pwrites, 0);
	assert_int_equal(w->disk.data[0], 0xff);
	/* Without FAST_ZERO it zeroes. */
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE_ZEROES, 0, 4096, NULL, NULL), 0);
	assert_int_equal(w->disk.data[0], 0);
}

/* No zero callback: WRITE_ZEROES becomes writes of zeros; no cache
 * callback: CACHE succeeds (by reading) and changes nothing. */
static void test_emulated_zero_and_cache(void **state)
{
	struct world *w = *state;
	int fd = go(w, "plain");

	memset(w->disk.data, 0xff, SIZE);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE_ZEROES, 5000, 70000, NULL, NULL), 0);
	assert_true(w->disk.pwrites >= 1);
	for (size_t i = 5000; i < 75000; i++)
		if (w->disk.data[i])
			fail_msg("byte %zu not zeroed", i);
	assert_int_equal(w->disk.data[4999], 0xff);
	assert_int_equal(w->disk.data[75000], 0xff);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_CACHE, 0, 65536, NULL, NULL), 0);
	assert_int_equal(w->disk.data[0], 0xff);
}

static void test_backend_errors_mapped(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	uint8_t buf[512] = { 0 };
	static const struct { int err; uint32_t nbd; } map[] = {
		{ EIO, NBD_EIO }, { ENOSPC, NBD_ENOSPC }, { EPERM, NBD_EPERM },
		{ ENOMEM, NBD_ENOMEM }, { EINVAL, NBD_EINVAL },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		w->disk.fail_errno = map[i].err;
		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, 512, NULL, buf), map[i].nbd);
		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE, 0, 512, buf, NULL), map[i].nbd);
		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL), map[i].nbd);
	}
	/* Whatever the backend says, the client never sees 0 for a failure,
	 * and the connection carries on. */
	w->disk.fail_errno = EBADMSG;
	assert_int_not_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, 512, NULL, buf), 0);
	w->disk.fail_errno = 0;
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, 512, NULL, buf), 0);
}

static void test_oversize_read(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	uint8_t buf[16];

	/* Refused (an error reply) or the connection closed; never data. */
	cli_request(fd, 0, NBD_CMD_READ, 42, 0, MAXP + 1, NULL);
	uint8_t r[16];
	if (read_full(fd, r, 16) == 0) {
		assert_int_equal(get_be32(r), NBD_SIMPLE_REPLY_MAGIC);
		assert_int_not_equal(get_be32(r + 4), 0);
		assert_int_equal(get_be64(r + 8), 42);
		assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, 16, NULL, buf), 0);
	}
	/* The oversize read never reached the backend. */
	assert_true(w->disk.preads <= 1);
}

/* A client that never asked for block sizes is served READ and WRITE
 * of 64 MiB, more than the 32 MiB advertised; 64 MiB + 1 is refused
 * (READ: EINVAL, the connection goes on; WRITE: EINVAL, then closed). A
 * client that asked is held to what it was told. */
static void test_unnegotiated_64m(void **state)
{
	const uint32_t big = 64U << 20;
	struct world *w = *state;
	struct export_info info;
	static struct tdisk d;
	uint8_t *out = malloc(big + 1), *in = malloc(big + 1);
	uint64_t cookie;
	int fd;

	assert_non_null(out);
	assert_non_null(in);
	tdisk_init(&d, 80U << 20);
	harness_add(&w->h, "big", NULL, &tdisk_full, &d);
	fill(out, big + 1, 3);

	fd = engine_start(&w->e, &w->h, 0);
	cli_handshake(fd, true);
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "big", NULL, 0, &info), NBD_REP_ACK);
	assert_true(info.have_block);	/* sent anyway: the advertised sizes */
	assert_int_equal(info.block[2], NBD_DEFAULT_MAX_PAYLOAD);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_WRITE, 4096, big, out, NULL), 0);
	assert_memory_equal(d.data + 4096, out, big);
	memset(in, 0, big);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 4096, big, NULL, in), 0);
	assert_memory_equal(in, out, big);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, big + 1, NULL, in), NBD_EINVAL);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 4096, 512, NULL, in), 0);
	assert_memory_equal(in, out, 512);
	cli_request(fd, 0, NBD_CMD_WRITE, 44, 0, big + 1, NULL);
	assert_int_equal(cli_simple_reply(fd, &cookie), NBD_EINVAL);
	assert_int_equal(cookie, 44);
	assert_true(cli_closed_within(fd, 2000));
	engine_stop(&w->e);

	fd = engine_start(&w->e, &w->h, 0);
	cli_go(fd, "big", &info);	/* asks for NBD_INFO_BLOCK_SIZE */
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, NBD_DEFAULT_MAX_PAYLOAD + 1, NULL, in),
			 NBD_EINVAL);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, NBD_DEFAULT_MAX_PAYLOAD, NULL, in), 0);
	engine_stop(&w->e);
	tdisk_free(&d);
	free(out);
	free(in);
}

static void test_oversize_write_closes(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");

	/* 4 GiB - 1 announced and never sent: the engine must not wait. */
	cli_request(fd, 0, NBD_CMD_WRITE, 43, 0, 0xffffffffU, NULL);
	assert_true(cli_closed_within(fd, 2000));
	assert_int_equal(engine_wait(&w->e, 2000), -1);
	assert_int_equal(w->disk.pwrites, 0);
}

static void test_bad_request_magic_closes(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	uint8_t r[28] = { 0 };

	put_be32(r, 0x12345678);
	cli_write(fd, r, sizeof(r));
	assert_true(cli_closed_within(fd, 2000));
	assert_int_equal(engine_wait(&w->e, 2000), -1);
}

static void test_disc_after_writes(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	static uint8_t block[64 * 1024];
	uint64_t cookie;

	for (int i = 0; i < 16; i++) {
		memset(block, i + 1, sizeof(block));
		cli_request(fd, 0, NBD_CMD_WRITE, 100 + i, (uint64_t)i * sizeof(block),
			    sizeof(block), block);
	}
	cli_request(fd, 0, NBD_CMD_DISC, 999, 0, 0, NULL);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(cli_simple_reply(fd, &cookie), 0);
		assert_true(cookie >= 100 && cookie < 116);
	}
	/* No reply to DISC; then the connection ends cleanly. */
	assert_true(cli_closed_within(fd, 2000));
	assert_int_equal(engine_wait(&w->e, 2000), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(w->disk.data[i * sizeof(block) + 5], i + 1);
}

/* A slow request must not hold up the ones behind it: the read at 0
 * blocks in the backend until the read at 4096 has run, so this only
 * completes if the engine serves them concurrently; the replies come
 * back in the order they finish, matched by cookie. */
static void test_slow_request_does_not_block_others(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	uint8_t buf[512];
	uint64_t first, second;

	/* The first read waits until the test has the second one's reply:
	 * released by the second read itself, the first could still win
	 * the race to the socket (about 1 run in 20). */
	w->disk.gate = true;
	w->disk.gate_offset = 0;
	w->disk.release_offset = UINT64_MAX;
	w->disk.data[0] = 0xa0;
	w->disk.data[4096] = 0xb0;
	cli_request(fd, 0, NBD_CMD_READ, 1, 0, 512, NULL);
	cli_request(fd, 0, NBD_CMD_READ, 2, 4096, 512, NULL);
	assert_int_equal(cli_simple_reply(fd, &first), 0);
	cli_read(fd, buf, 512);
	assert_int_equal(buf[0], first == 1 ? 0xa0 : 0xb0);
	tdisk_release(&w->disk);
	assert_int_equal(cli_simple_reply(fd, &second), 0);
	cli_read(fd, buf, 512);
	assert_int_equal(buf[0], second == 1 ? 0xa0 : 0xb0);
	assert_false(w->disk.gate_timed_out);
	assert_int_equal(first, 2);
	assert_int_equal(second, 1);
}

/* Many requests in flight: one reply each, cookies intact. */
static void test_many_in_flight(void **state)
{
	struct world *w = *state;
	int fd = go(w, "disk");
	enum { N = 128 };
	static uint8_t block[4096];
	bool seen[N] = { false };
	uint64_t cookie;

	for (int i = 0; i < N; i++) {
		memset(block, i, sizeof(block));
		cli_request(fd, 0, NBD_CMD_WRITE, 0x1000 + i, (uint64_t)i * 4096, 4096, block);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(cli_simple_reply(fd, &cookie), 0);
		assert_true(cookie >= 0x1000 && cookie < 0x1000 + N);
		assert_false(seen[cookie - 0x1000]);
		seen[cookie - 0x1000] = true;
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(w->disk.data[i * 4096 + 17], (uint8_t)i);
}

/* A backend whose zero and cache take a while and count how many run at
 * once; its size is large and it keeps no data. */
struct slow_disk {
	pthread_mutex_t lock;
	int running, max_running, calls;
};

static struct slow_disk slow;

static int64_t slow_get_size(void *conn)
{
	(void)conn;
	return 1LL << 40;
}

static int slow_pread(void *conn, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)conn; (void)offset; (void)flags;
	memset(buf, 0, count);
	return 0;
}

static int slow_pwrite(void *conn, const void *buf, uint32_t count, uint64_t offset,
		       uint32_t flags)
{
	(void)conn; (void)buf; (void)count; (void)offset; (void)flags;
	return 0;
}

static int slow_call(void)
{
	struct timespec pause = { .tv_nsec = 20 * 1000 * 1000 };

	pthread_mutex_lock(&slow.lock);
	slow.calls++;
	if (++slow.running > slow.max_running)
		slow.max_running = slow.running;
	pthread_mutex_unlock(&slow.lock);
	nanosleep(&pause, NULL);
	pthread_mutex_lock(&slow.lock);
	slow.running--;
	pthread_mutex_unlock(&slow.lock);
	return 0;
}

static int slow_zero(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)conn; (void)count; (void)offset; (void)flags;
	return slow_call();
}

static int slow_cache(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)conn; (void)count; (void)offset; (void)flags;
	return slow_call();
}

static const struct cnbd_backend slow_ops = {
	CNBD_BACKEND_HEADER,
	.name = "slow",
	.flags = CNBD_BACKEND_PARALLEL,
	.get_size = slow_get_size,
	.pread = slow_pread,
	.pwrite = slow_pwrite,
	.zero = slow_zero,
	.cache = slow_cache,
};

/* The engine bounds the bytes in flight at 256 MiB (serve_transmission.c)
 * and runs 8 requests at once by default: requests of 96 MiB may only run
 * two at a time, whether they carry data (READ, WRITE) or name a range
 * the backend works through (CACHE, WRITE_ZEROES). */
static void bytes_bound_holds(struct world *w, uint16_t type)
{
	enum { N = 24 };
	const uint32_t big = 96U << 20;
	uint64_t cookie;
	int fd;

	memset(&slow, 0, sizeof(slow));
	pthread_mutex_init(&slow.lock, NULL);
	harness_add(&w->h, "slow", NULL, &slow_ops, NULL)->handle = &slow;
	fd = go(w, "slow");
	for (int i = 0; i < N; i++)
		cli_request(fd, 0, type, 0x100 + i, (uint64_t)i * big, big, NULL);
	for (int i = 0; i < N; i++) {
		assert_int_equal(cli_simple_reply(fd, &cookie), 0);
		assert_true(cookie >= 0x100 && cookie < 0x100 + N);
	}
	assert_int_equal(slow.calls, N);
	if (slow.max_running > 2)
		fail_msg("%d %s requests of 96 MiB reached the backend at once; the bound allows 2",
			 slow.max_running, type == NBD_CMD_CACHE ? "CACHE" : "WRITE_ZEROES");
	pthread_mutex_destroy(&slow.lock);
}

static void test_inflight_bound_write_zeroes(void **state)
{
	bytes_bound_holds(*state, NBD_CMD_WRITE_ZEROES);
}

static void test_inflight_bound_cache(void **state)
{
	bytes_bound_holds(*state, NBD_CMD_CACHE);
}

/* An embedding program that did not ignore SIGPIPE must not be killed by
 * a client that vanished while the engine was replying. */
static void test_vanished_client_no_sigpipe(void **state)
{
	struct world *w = *state;
	pid_t pid;
	int status;

	(void)w;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct engine e;
		struct export_info info;
		int fd;

		signal(SIGPIPE, SIG_DFL);
		fd = engine_start(&e, &w->h, 0);
		cli_go(fd, "disk", &info);
		/* Ask for a lot of data and hang up at once. */
		for (int i = 0; i < 64; i++)
			cli_request(fd, 0, NBD_CMD_READ, i, 0, MAXP, NULL);
		close(fd);
		e.client_fd = -1;
		engine_wait(&e, 5000);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("the embedding process died of signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_write_read_round_trip),
		T(test_past_the_end),
		T(test_readonly_eperm),
		T(test_unknown_command_and_flags),
		T(test_flush_and_trim_reach_backend),
		T(test_fua_emulated_by_flush),
		T(test_fua_native),
		T(test_zero_flags),
		T(test_fast_zero_refused),
		T(test_emulated_zero_and_cache),
		T(test_backend_errors_mapped),
		T(test_oversize_read),
		T(test_oversize_write_closes),
		T(test_unnegotiated_64m),
		T(test_bad_request_magic_closes),
		T(test_disc_after_writes),
		T(test_slow_request_does_not_block_others),
		T(test_many_in_flight),
		T(test_inflight_bound_write_zeroes),
		T(test_inflight_bound_cache),
		T(test_vanished_client_no_sigpipe),
#undef T
	};

	/* The test's own sockets: the last test checks the engine alone. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("transmission", tests, NULL, NULL);
}
