/* SPDX-License-Identifier: MIT */
/*
 * The client library against a fake server on a socketpair: the "server"
 * writes canned bytes (good and broken) before the client runs, and every
 * broken reply must end in a clear error -- never a hang (a 1-second
 * socket timeout turns a hang into a failure) and never a crash.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "clientlib/client.h"
#include "common/wire.h"

static int srv = -1;		/* the fake server's end */
static struct nbd_client c;
static struct timespec started;

static int setup(void **state)
{
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	client_init(&c, sv[0]);
	assert_int_equal(client_set_timeout(&c, 1), 0);
	srv = sv[1];
	clock_gettime(CLOCK_MONOTONIC, &started);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	client_close(&c);
	if (srv >= 0)
		close(srv);
	srv = -1;
	return 0;
}

/* Fails the test when the client took long enough to have hung on a read
 * it should never have started. */
static void no_hang(void)
{
	struct timespec now;
	double elapsed;

	/* A second blocked read would add another 1 s timeout: anything
	 * under 1.9 s means at most one. (time() rounds to whole seconds,
	 * which made this flaky.) */
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed = (now.tv_sec - started.tv_sec) + (now.tv_nsec - started.tv_nsec) / 1e9;
	assert_true(elapsed < 1.9);
}

static void send_bytes(const void *p, size_t len)
{
	assert_int_equal(write_full(srv, p, len), 0);
}

static void greeting(uint16_t flags)
{
	uint8_t g[18];

	put_be64(g, NBD_MAGIC);
	put_be64(g + 8, NBD_IHAVEOPT);
	put_be16(g + 16, flags);
	send_bytes(g, sizeof(g));
}

static void rep(uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
	uint8_t h[20];

	put_be64(h, NBD_REP_MAGIC);
	put_be32(h + 8, opt);
	put_be32(h + 12, type);
	put_be32(h + 16, len);
	send_bytes(h, sizeof(h));
	if (len)
		send_bytes(data, len);
}

static void info_export(uint32_t opt, uint64_t size, uint16_t flags)
{
	uint8_t p[12];

	put_be16(p, NBD_INFO_EXPORT);
	put_be64(p + 2, size);
	put_be16(p + 10, flags);
	rep(opt, NBD_REP_INFO, p, sizeof(p));
}

static void info_block_size(uint32_t min, uint32_t pref, uint32_t max)
{
	uint8_t p[14];

	put_be16(p, NBD_INFO_BLOCK_SIZE);
	put_be32(p + 2, min);
	put_be32(p + 6, pref);
	put_be32(p + 10, max);
	rep(NBD_OPT_GO, NBD_REP_INFO, p, sizeof(p));
}

static void ack(uint32_t opt)
{
	rep(opt, NBD_REP_ACK, NULL, 0);
}

/* What the client sent, read back from the server's end. */
static size_t drain(uint8_t *buf, size_t len)
{
	int fl = fcntl(srv, F_GETFL);
	ssize_t n;

	fcntl(srv, F_SETFL, fl | O_NONBLOCK);
	n = read(srv, buf, len);
	fcntl(srv, F_SETFL, fl);
	return n < 0 ? 0 : n;
}

/* rc: an enum client_result or client_io_result, and the one expected. */
static void want_error(int rc, int want, const char *text)
{
	assert_int_equal(rc, want);
	if (!strstr(c.error, text))
		fail_msg("error '%s' lacks '%s'", c.error, text);
	no_hang();
}

#define FLAGS_OK (NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_TRIM)
#define GREET_OK (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES)

static void test_go(void **state)
{
	uint8_t sent[256];
	size_t n;
	uint8_t name[6];

	(void)state;
	greeting(GREET_OK);
	info_export(NBD_OPT_GO, 1 << 20, FLAGS_OK);
	info_block_size(512, 4096, 1 << 20);
	put_be16(name, NBD_INFO_NAME);
	memcpy(name + 2, "real", 4);
	rep(NBD_OPT_GO, NBD_REP_INFO, name, sizeof(name));
	name[1] = 99;		/* an unknown information type: ignored */
	rep(NBD_OPT_GO, NBD_REP_INFO, name, sizeof(name));
	ack(NBD_OPT_GO);
	if (client_go(&c, "disk") < 0)
		fail_msg("%s", c.error);
	assert_true(c.transmission);
	assert_false(c.export.via_export_name);
	assert_int_equal(c.export.size, 1 << 20);
	assert_int_equal(c.export.flags, FLAGS_OK);
	assert_true(c.export.have_block_size);
	assert_int_equal(c.export.min_block, 512);
	assert_int_equal(c.export.pref_block, 4096);
	assert_int_equal(c.export.max_payload, 1 << 20);
	/* NBD_INFO_NAME is the server's word, kept apart from the name
	 * asked for, which alone names anything on this host. */
	assert_string_equal(c.export.name, "disk");
	assert_string_equal(c.export.server_name, "real");

	/* What went out: flags with NO_ZEROES, then GO asking for sizes. */
	n = drain(sent, sizeof(sent));
	assert_int_equal(n, 4 + 16 + 4 + 4 + 2 + 6);
	assert_int_equal(get_be32(sent), NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	assert_int_equal(get_be64(sent + 4), NBD_IHAVEOPT);
	assert_int_equal(get_be32(sent + 12), NBD_OPT_GO);
	assert_int_equal(get_be32(sent + 16), 4 + 4 + 2 + 6);
	assert_int_equal(get_be32(sent + 20), 4);
	assert_memory_equal(sent + 24, "disk", 4);
	assert_int_equal(get_be16(sent + 28), 3);
	assert_int_equal(get_be16(sent + 30), NBD_INFO_BLOCK_SIZE);
}

static void test_go_unsup_falls_back(void **state)
{
	uint8_t reply[10], sent[256];
	size_t n;

	(void)state;
	greeting(GREET_OK);
	rep(NBD_OPT_GO, NBD_REP_ERR_UNSUP, NULL, 0);
	put_be64(reply, 12345 * 512);
	put_be16(reply + 8, NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
	send_bytes(reply, sizeof(reply));
	if (client_go(&c, "old") < 0)
		fail_msg("%s", c.error);
	assert_true(c.export.via_export_name);
	assert_int_equal(c.export.size, 12345 * 512);
	assert_false(c.export.have_block_size);
	n = drain(sent, sizeof(sent));
	/* flags, GO, then EXPORT_NAME "old" */
	assert_int_equal(n, 4 + (16 + 4 + 3 + 2 + 6) + (16 + 3));
	assert_int_equal(get_be32(sent + 4 + 31 + 8), NBD_OPT_EXPORT_NAME);
	assert_memory_equal(sent + n - 3, "old", 3);
}

static void test_not_fixed_newstyle(void **state)
{
	uint8_t reply[10 + 124] = { 0 }, sent[64];

	(void)state;
	greeting(0);
	put_be64(reply, 4096);
	put_be16(reply + 8, NBD_FLAG_HAS_FLAGS);
	send_bytes(reply, sizeof(reply));	/* with the 124 zero bytes */
	if (client_go(&c, "x") < 0)
		fail_msg("%s", c.error);
	assert_int_equal(c.export.size, 4096);
	assert_int_equal(drain(sent, sizeof(sent)), 4 + 16 + 1);
	assert_int_equal(get_be32(sent), 0);	/* no flags it did not offer */
	assert_int_equal(get_be32(sent + 12), NBD_OPT_EXPORT_NAME);
}

static void test_export_name_refused(void **state)
{
	(void)state;
	greeting(0);
	shutdown(srv, SHUT_WR);
	want_error(client_go(&c, "nope"), CLIENT_FAILED, "closed the connection after EXPORT_NAME 'nope'");
}

static void test_bad_greeting(void **state)
{
	uint8_t g[18] = "HTTP/1.1 200 OK\r\n";

	(void)state;
	send_bytes(g, sizeof(g));
	want_error(client_go(&c, ""), CLIENT_FAILED, "not an NBD server");
}

static void test_oldstyle(void **state)
{
	uint8_t g[18] = { 0 };

	(void)state;
	put_be64(g, NBD_MAGIC);
	put_be64(g + 8, 0x00420281861253ULL);
	send_bytes(g, sizeof(g));
	want_error(client_go(&c, ""), CLIENT_FAILED, "oldstyle");
}

static void test_bad_reply_magic(void **state)
{
	uint8_t h[20] = { 0 };

	(void)state;
	greeting(GREET_OK);
	put_be64(h, 0x1122334455667788ULL);
	put_be32(h + 8, NBD_OPT_GO);
	send_bytes(h, sizeof(h));
	want_error(client_go(&c, ""), CLIENT_FAILED, "bad option reply magic 0x1122334455667788");
}

static void test_wrong_option_echo(void **state)
{
	(void)state;
	greeting(GREET_OK);
	ack(NBD_OPT_LIST);
	want_error(client_go(&c, ""), CLIENT_FAILED, "answered option GO with a reply for option 3");
}

static void test_oversize_reply(void **state)
{
	uint8_t h[20];

	(void)state;
	greeting(GREET_OK);
	put_be64(h, NBD_REP_MAGIC);
	put_be32(h + 8, NBD_OPT_GO);
	put_be32(h + 12, NBD_REP_INFO);
	put_be32(h + 16, 0xffffffff);
	send_bytes(h, sizeof(h));	/* and nothing more: reading would hang */
	want_error(client_go(&c, ""), CLIENT_FAILED, "claims 4294967295 bytes");
}

static void test_short_reply_closed(void **state)
{
	uint8_t h[20];

	(void)state;
	greeting(GREET_OK);
	put_be64(h, NBD_REP_MAGIC);
	put_be32(h + 8, NBD_OPT_GO);
	put_be32(h + 12, NBD_REP_INFO);
	put_be32(h + 16, 12);
	send_bytes(h, sizeof(h));
	send_bytes("\0\0\0\0\0", 5);
	shutdown(srv, SHUT_WR);
	want_error(client_go(&c, ""), CLIENT_FAILED, "closed the connection while reading the reply to GO");
}

static void test_short_reply_stalled(void **state)
{
	(void)state;
	greeting(GREET_OK);
	send_bytes("\0\x03\xe8\x89", 4);	/* part of a header, then silence */
	want_error(client_go(&c, ""), CLIENT_FAILED, "timed out after 1 s while reading the reply to GO");
}

/* A greeting a byte every 0.3 s: each read is in time (1 s), only the
 * one deadline for the whole negotiation ends it. */
static void *drip_greeting(void *arg)
{
	uint8_t g[18];

	(void)arg;
	put_be64(g, NBD_MAGIC);
	put_be64(g + 8, NBD_IHAVEOPT);
	put_be16(g + 16, GREET_OK);
	for (size_t i = 0; i < sizeof(g); i++) {
		struct timespec gap = { 0, 300 * 1000 * 1000 };

		if (send(srv, g + i, 1, MSG_NOSIGNAL) != 1)
			break;
		nanosleep(&gap, NULL);
	}
	return NULL;
}

static void test_dripped_greeting_deadline(void **state)
{
	pthread_t t;

	(void)state;
	client_set_deadline(&c, 1);
	assert_non_null(client_deadline(&c));
	assert_int_equal(pthread_create(&t, NULL, drip_greeting, NULL), 0);
	want_error(client_go(&c, ""), CLIENT_FAILED,
		   "the server did not finish negotiating within 1 s (stuck while reading the greeting)");
	assert_int_equal(errno, ETIMEDOUT);
	shutdown(srv, SHUT_RDWR);
	pthread_join(t, NULL);
	client_set_deadline(&c, 0);
	assert_null(client_deadline(&c));
}

static void test_bad_info_lengths(void **state)
{
	uint8_t p[11] = { 0 };

	(void)state;
	greeting(GREET_OK);
	rep(NBD_OPT_GO, NBD_REP_INFO, p, sizeof(p));	/* INFO_EXPORT, 11 bytes */
	want_error(client_go(&c, ""), CLIENT_FAILED, "NBD_INFO_EXPORT of 11 bytes (12 expected)");
}

static void test_ack_without_export(void **state)
{
	(void)state;
	greeting(GREET_OK);
	info_block_size(1, 4096, 1 << 20);
	ack(NBD_OPT_GO);
	want_error(client_go(&c, ""), CLIENT_FAILED, "without sending NBD_INFO_EXPORT");
}

static void test_refused_with_message(void **state)
{
	static const char msg[] = "no such export\n\x1b[31m";

	(void)state;
	greeting(GREET_OK);
	rep(NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, msg, sizeof(msg) - 1);
	want_error(client_go(&c, "gone"), CLIENT_REFUSED, "refused GO for export 'gone': NBD_REP_ERR_UNKNOWN");
	/* The server's words are shown, control bytes defanged. */
	assert_non_null(strstr(c.error, "no such export??[31m"));
}

static void test_bad_block_sizes(void **state)
{
	(void)state;
	greeting(GREET_OK);
	info_block_size(3, 4096, 1 << 20);
	want_error(client_go(&c, ""), CLIENT_FAILED, "minimum block size 3");
}

static void test_bad_block_sizes_pref(void **state)
{
	(void)state;
	greeting(GREET_OK);
	info_block_size(4096, 512, 1 << 20);
	want_error(client_go(&c, ""), CLIENT_FAILED, "preferred block size 512");
}

static void test_missing_has_flags(void **state)
{
	(void)state;
	greeting(GREET_OK);
	info_export(NBD_OPT_GO, 1 << 20, NBD_FLAG_SEND_FLUSH);
	ack(NBD_OPT_GO);
	want_error(client_go(&c, ""), CLIENT_FAILED, "lack NBD_FLAG_HAS_FLAGS");
}

static void test_oversize_export(void **state)
{
	(void)state;
	greeting(GREET_OK);
	info_export(NBD_OPT_GO, UINT64_MAX, NBD_FLAG_HAS_FLAGS);
	ack(NBD_OPT_GO);
	want_error(client_go(&c, ""), CLIENT_FAILED, "beyond 2^63");
}

static int names_seen;
static char names[4][64];

static int on_name(void *opaque, const char *name, const char *desc)
{
	(void)opaque;
	snprintf(names[names_seen++], sizeof(names[0]), "%s|%s", name, desc);
	return 0;
}

static void server_entry(const char *name, const char *desc)
{
	uint8_t p[128];
	size_t nl = strlen(name), dl = strlen(desc);

	put_be32(p, nl);
	memcpy(p + 4, name, nl);
	memcpy(p + 4 + nl, desc, dl);
	rep(NBD_OPT_LIST, NBD_REP_SERVER, p, 4 + nl + dl);
}

static void test_list(void **state)
{
	(void)state;
	names_seen = 0;
	greeting(GREET_OK);
	server_entry("disk", "the disk");
	server_entry("", "");
	ack(NBD_OPT_LIST);
	if (client_list(&c, on_name, NULL) != 0)
		fail_msg("%s", c.error);
	assert_int_equal(names_seen, 2);
	assert_string_equal(names[0], "disk|the disk");
	assert_string_equal(names[1], "|");
}

static void test_list_bad_name_length(void **state)
{
	uint8_t p[8];

	(void)state;
	names_seen = 0;
	greeting(GREET_OK);
	put_be32(p, 1000);
	memcpy(p + 4, "abcd", 4);
	rep(NBD_OPT_LIST, NBD_REP_SERVER, p, sizeof(p));
	want_error(client_list(&c, on_name, NULL), CLIENT_FAILED, "name length 1000 exceeds the reply's 4 bytes");
	assert_int_equal(names_seen, 0);
}

static void test_list_refused(void **state)
{
	(void)state;
	greeting(GREET_OK);
	rep(NBD_OPT_LIST, NBD_REP_ERR_POLICY, "not for you", 11);
	want_error(client_list(&c, on_name, NULL), CLIENT_REFUSED, "refused LIST: NBD_REP_ERR_POLICY (0x80000002): not for you");
}

/* An option the server does not know is CLIENT_UNSUPPORTED, not a
 * failure: the connection is still negotiating and the next option is
 * answered. */
static void test_info_unsup_then_list(void **state)
{
	struct client_export ex;

	(void)state;
	names_seen = 0;
	greeting(GREET_OK);
	rep(NBD_OPT_INFO, NBD_REP_ERR_UNSUP, NULL, 0);
	server_entry("disk", "");
	ack(NBD_OPT_LIST);
	want_error(client_info(&c, "disk", &ex), CLIENT_UNSUPPORTED,
		   "refused INFO for export 'disk': NBD_REP_ERR_UNSUP");
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(client_list(&c, on_name, NULL), CLIENT_OK);
	assert_int_equal(names_seen, 1);
}

static int stop_at_first(void *opaque, const char *name, const char *desc)
{
	(void)opaque;
	(void)name;
	(void)desc;
	return 1;
}

static void test_list_stopped(void **state)
{
	(void)state;
	greeting(GREET_OK);
	server_entry("a", "");
	server_entry("b", "");
	ack(NBD_OPT_LIST);
	assert_int_equal(client_list(&c, stop_at_first, NULL), CLIENT_STOPPED);
	no_hang();
}

/* A connection in transmission, with what the handshake sent drained. */
static void transmission(void)
{
	uint8_t sink[512];

	greeting(GREET_OK);
	info_export(NBD_OPT_GO, 1 << 20, FLAGS_OK);
	ack(NBD_OPT_GO);
	if (client_go(&c, "") < 0)
		fail_msg("%s", c.error);
	drain(sink, sizeof(sink));
}

static void simple_reply(uint32_t magic, uint32_t error, uint64_t cookie)
{
	uint8_t r[16];

	put_be32(r, magic);
	put_be32(r + 4, error);
	put_be64(r + 8, cookie);
	send_bytes(r, sizeof(r));
}

static void test_read_ok_and_server_error(void **state)
{
	uint8_t buf[512], data[512], req[28 + 28];

	(void)state;
	transmission();
	memset(data, 0xab, sizeof(data));
	/* The server fails the first read with EIO: an error, but the
	 * connection goes on and the second read works. */
	simple_reply(NBD_SIMPLE_REPLY_MAGIC, NBD_EIO, 1);
	simple_reply(NBD_SIMPLE_REPLY_MAGIC, 0, 2);
	send_bytes(data, sizeof(data));
	want_error(client_pread(&c, buf, sizeof(buf), 4096), CLIENT_IO_SERVER_ERROR, "failed READ of 512 bytes at offset 4096: EIO");
	assert_int_equal(errno, EIO);
	assert_true(c.transmission);
	if (client_pread(&c, buf, sizeof(buf), 4096) < 0)
		fail_msg("%s", c.error);
	assert_memory_equal(buf, data, sizeof(data));
	/* Both requests as the spec has them. */
	assert_int_equal(drain(req, sizeof(req)), sizeof(req));
	assert_int_equal(get_be32(req), NBD_REQUEST_MAGIC);
	assert_int_equal(get_be16(req + 6), NBD_CMD_READ);
	assert_int_equal(get_be64(req + 8), 1);
	assert_int_equal(get_be64(req + 16), 4096);
	assert_int_equal(get_be32(req + 24), 512);
	assert_int_equal(get_be64(req + 28 + 8), 2);
}

static void test_reply_wrong_cookie(void **state)
{
	uint8_t buf[16];

	(void)state;
	transmission();
	simple_reply(NBD_SIMPLE_REPLY_MAGIC, 0, 99);
	want_error(client_pread(&c, buf, sizeof(buf), 0), CLIENT_IO_LOST, "reply cookie 99 does not match the request's 1");
	assert_false(c.transmission);	/* out of step: not used again */
	want_error(client_flush(&c), CLIENT_IO_INVALID, "not connected");
}

static void test_reply_wrong_magic(void **state)
{
	(void)state;
	transmission();
	simple_reply(0xdeadbeef, 0, 1);
	want_error(client_flush(&c), CLIENT_IO_LOST, "bad reply magic 0xdeadbeef");
}

static void test_structured_reply_unasked(void **state)
{
	(void)state;
	transmission();
	simple_reply(NBD_STRUCTURED_REPLY_MAGIC, 0, 1);
	want_error(client_flush(&c), CLIENT_IO_LOST, "structured reply, which was not negotiated");
}

static void test_short_read_data(void **state)
{
	uint8_t buf[512];

	(void)state;
	transmission();
	simple_reply(NBD_SIMPLE_REPLY_MAGIC, 0, 1);
	send_bytes(buf, 100);		/* 100 of 512 bytes, then silence */
	want_error(client_pread(&c, buf, sizeof(buf), 0), CLIENT_IO_LOST, "timed out after 1 s while reading data");
}

static void test_client_side_checks(void **state)
{
	uint8_t buf[16] = { 0 };

	(void)state;
	transmission();
	want_error(client_pread(&c, buf, 16, (1 << 20) - 8), CLIENT_IO_INVALID, "beyond the end of the export");
	want_error(client_pwrite(&c, buf, 16, 0, true), CLIENT_IO_INVALID, "does not accept FUA");
	assert_true(c.transmission);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_go), T(test_go_unsup_falls_back), T(test_not_fixed_newstyle),
		T(test_export_name_refused), T(test_bad_greeting), T(test_oldstyle),
		T(test_bad_reply_magic), T(test_wrong_option_echo), T(test_oversize_reply),
		T(test_short_reply_closed), T(test_short_reply_stalled),
		T(test_dripped_greeting_deadline),
		T(test_bad_info_lengths), T(test_ack_without_export),
		T(test_refused_with_message), T(test_bad_block_sizes),
		T(test_bad_block_sizes_pref), T(test_missing_has_flags),
		T(test_oversize_export), T(test_list), T(test_list_bad_name_length),
		T(test_list_refused), T(test_info_unsup_then_list), T(test_list_stopped),
		T(test_read_ok_and_server_error),
		T(test_reply_wrong_cookie), T(test_reply_wrong_magic),
		T(test_structured_reply_unasked), T(test_short_read_data),
		T(test_client_side_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
