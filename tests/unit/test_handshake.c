/* SPDX-License-Identifier: MIT */
/* The engine's negotiation phase (fixed newstyle), driven over a
 * socketpair with a hand-written client: greeting, client flags, LIST,
 * INFO, GO, EXPORT_NAME, ABORT, unknown options, leases, the handshake
 * timeout, and the transmission flags derived from a backend's
 * callbacks. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cnbd/protocol.h"
#include "engine_harness.h"
#include "common/wire.h"

#define DISK_SIZE (1024 * 1024)

struct world {
	struct harness h;
	struct tdisk disk, small;
	struct engine e;
	int fd;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct cnbd_export *x;

	tdisk_init(&w->disk, DISK_SIZE);
	tdisk_init(&w->small, 4096);
	harness_init(&w->h);
	x = harness_add(&w->h, "disk", "the test disk", &tdisk_full, &w->disk);
	x->min_block = 512;
	x->pref_block = 4096;
	x->max_block = 1024 * 1024;
	harness_add(&w->h, "small", NULL, &tdisk_full, &w->small);
	x = harness_add(&w->h, "ro", "read-only view", &tdisk_full, &w->disk);
	x->readonly = true;
	harness_add(&w->h, "plain", NULL, &tdisk_plain, &w->disk);
	harness_add(&w->h, "rops", NULL, &tdisk_readonly_ops, &w->disk);
	harness_add(&w->h, "nfua", NULL, &tdisk_native_fua, &w->disk);
	w->h.default_name = "small";
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	engine_stop(&w->e);
	tdisk_free(&w->disk);
	tdisk_free(&w->small);
	free(w);
	return 0;
}

static int start(struct world *w, int timeout)
{
	w->fd = engine_start(&w->e, &w->h, timeout);
	return w->fd;
}

static void test_greeting(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);

	assert_int_equal(cli_greeting(fd),
			 NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
}

static void test_unknown_client_flag_closes(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);

	cli_greeting(fd);
	cli_client_flags(fd, NBD_FLAG_C_FIXED_NEWSTYLE | (1U << 9));
	assert_true(cli_closed_within(fd, 2000));
	assert_int_equal(engine_wait(&w->e, 2000), -1);
}

static void test_unknown_option_then_go(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	struct optreply r;
	struct export_info info;
	uint8_t junk[300];

	memset(junk, 0xab, sizeof(junk));
	cli_handshake(fd, true);
	cli_option(fd, 0x4321, junk, sizeof(junk));
	cli_reply(fd, &r);
	assert_int_equal(r.option, 0x4321);
	assert_int_equal(r.type, NBD_REP_ERR_UNSUP);
	cli_option(fd, 4, NULL, 0);	/* 4 is unassigned */
	cli_reply(fd, &r);
	assert_int_equal(r.type, NBD_REP_ERR_UNSUP);
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "disk", NULL, 0, &info), NBD_REP_ACK);
	assert_true(info.have_export);
	assert_int_equal(info.size, DISK_SIZE);
}

static void test_list(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	struct optreply r;
	size_t n = 0;

	cli_handshake(fd, true);
	cli_option(fd, NBD_OPT_LIST, NULL, 0);
	for (;;) {
		cli_reply(fd, &r);
		assert_int_equal(r.option, NBD_OPT_LIST);
		if (r.type == NBD_REP_ACK)
			break;
		assert_int_equal(r.type, NBD_REP_SERVER);
		assert_true(n < w->h.nexports);
		const struct cnbd_export *x = &w->h.exports[n++];
		uint32_t nlen = get_be32(r.data);
		assert_int_equal(nlen, strlen(x->name));
		assert_memory_equal(r.data + 4, x->name, nlen);
		const char *desc = x->description ? x->description : "";
		assert_int_equal(r.len - 4 - nlen, strlen(desc));
		assert_memory_equal(r.data + 4 + nlen, desc, strlen(desc));
	}
	assert_int_equal(n, w->h.nexports);
	/* LIST with data is invalid, and the next option still parses. */
	cli_option(fd, NBD_OPT_LIST, "x", 1);
	cli_reply(fd, &r);
	assert_int_equal(r.type, NBD_REP_ERR_INVALID);
	cli_option(fd, NBD_OPT_LIST, NULL, 0);
	cli_reply(fd, &r);
	assert_int_equal(r.type, NBD_REP_SERVER);
}

static void test_info_then_go(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	static const uint16_t want[] = { NBD_INFO_NAME, NBD_INFO_DESCRIPTION,
					 NBD_INFO_BLOCK_SIZE };
	struct export_info info, go;

	cli_handshake(fd, true);
	assert_int_equal(cli_info(fd, NBD_OPT_INFO, "disk", want, 3, &info), NBD_REP_ACK);
	assert_true(info.have_export);
	assert_int_equal(info.size, DISK_SIZE);
	assert_true(info.flags & NBD_FLAG_HAS_FLAGS);
	assert_true(info.have_block);
	assert_int_equal(info.block[0], 512);
	assert_int_equal(info.block[1], 4096);
	assert_int_equal(info.block[2], 1024 * 1024);
	assert_true(info.have_desc);
	assert_string_equal(info.desc, "the test disk");
	if (info.have_name)
		assert_string_equal(info.name, "disk");
	/* INFO takes no lease. */
	assert_int_equal(w->h.acquires, 0);

	assert_int_equal(cli_info(fd, NBD_OPT_GO, "disk", want, 3, &go), NBD_REP_ACK);
	assert_int_equal(go.size, info.size);
	assert_int_equal(go.flags, info.flags);
	assert_memory_equal(go.block, info.block, sizeof(go.block));
	assert_int_equal(w->h.acquires, 1);

	/* In transmission: a read works. */
	uint8_t buf[16];
	w->disk.data[100] = 0x5a;
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 96, 16, NULL, buf), 0);
	assert_int_equal(buf[4], 0x5a);
	cli_request(fd, 0, NBD_CMD_DISC, 1, 0, 0, NULL);
	assert_true(cli_closed_within(fd, 2000));
	assert_int_equal(engine_wait(&w->e, 2000), 0);
	/* The lease is given back, once. */
	assert_int_equal(w->h.releases, 1);
}

/* Defence in depth: a description past the protocol's 4096 bytes that
 * reached the engine anyway (every entry point refuses one) is cut to
 * 4096 on the wire, not copied past the reply's buffer. */
static void test_info_overlong_description_cut(void **state)
{
	struct world *w = *state;
	static char desc[6001];
	uint8_t req[4 + 4 + 2 + 2];
	struct optreply r;
	bool seen = false;
	int fd;

	memset(desc, 'q', sizeof(desc) - 1);
	harness_add(&w->h, "long", desc, &tdisk_full, &w->disk);
	fd = start(w, 0);
	cli_handshake(fd, true);
	put_be32(req, 4);
	memcpy(req + 4, "long", 4);
	put_be16(req + 8, 1);
	put_be16(req + 10, NBD_INFO_DESCRIPTION);
	cli_option(fd, NBD_OPT_INFO, req, sizeof(req));
	for (cli_reply(fd, &r); r.type == NBD_REP_INFO; cli_reply(fd, &r)) {
		if (get_be16(r.data) != NBD_INFO_DESCRIPTION)
			continue;
		assert_int_equal(r.len, 2 + NBD_MAX_STRING);
		assert_memory_equal(r.data + 2, desc, NBD_MAX_STRING);
		seen = true;
	}
	assert_int_equal(r.type, NBD_REP_ACK);
	assert_true(seen);
}

static void test_default_block_sizes_are_valid(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	static const uint16_t want[] = { NBD_INFO_BLOCK_SIZE };
	struct export_info info;
	uint32_t mn, pref, mx;

	cli_handshake(fd, true);
	assert_int_equal(cli_info(fd, NBD_OPT_INFO, "small", want, 1, &info), NBD_REP_ACK);
	assert_true(info.have_block);
	mn = info.block[0];
	pref = info.block[1];
	mx = info.block[2];
	/* The spec's rules, not particular values. */
	assert_true(mn && !(mn & (mn - 1)) && mn <= 65536);
	assert_true(pref && !(pref & (pref - 1)) && pref >= (mn > 512 ? mn : 512));
	assert_true(mx >= pref);
}

static void test_unknown_export(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	struct export_info info;

	cli_handshake(fd, true);
	assert_int_equal(cli_info(fd, NBD_OPT_INFO, "nope", NULL, 0, &info),
			 NBD_REP_ERR_UNKNOWN);
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "DISK", NULL, 0, &info),
			 NBD_REP_ERR_UNKNOWN);
	assert_int_equal(w->h.acquires, 0);
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "disk", NULL, 0, &info), NBD_REP_ACK);
}

static void test_default_export(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	struct export_info info;

	cli_handshake(fd, true);
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "", NULL, 0, &info), NBD_REP_ACK);
	assert_int_equal(info.size, 4096);
}

static void test_no_default_export(void **state)
{
	struct world *w = *state;
	struct export_info info;
	int fd;

	w->h.default_name = NULL;
	fd = start(w, 0);
	cli_handshake(fd, true);
	uint32_t t = cli_info(fd, NBD_OPT_GO, "", NULL, 0, &info);
	assert_true(t & NBD_REP_FLAG_ERROR);
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "disk", NULL, 0, &info), NBD_REP_ACK);
}

static void export_name(struct world *w, bool no_zeroes)
{
	int fd = start(w, 0);
	uint8_t reply[10 + 124];
	uint8_t zeros[124] = { 0 };
	uint8_t buf[4];

	cli_handshake(fd, no_zeroes);
	cli_option(fd, NBD_OPT_EXPORT_NAME, "disk", 4);
	cli_read(fd, reply, no_zeroes ? 10 : sizeof(reply));
	assert_int_equal(get_be64(reply), DISK_SIZE);
	assert_true(get_be16(reply + 8) & NBD_FLAG_HAS_FLAGS);
	if (!no_zeroes)
		assert_memory_equal(reply + 10, zeros, 124);
	/* The very next bytes are a reply to our first request. */
	memcpy(w->disk.data, "abcd", 4);
	assert_int_equal(cli_cmd(fd, 0, NBD_CMD_READ, 0, 4, NULL, buf), 0);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(w->h.acquires, 1);
}

static void test_export_name_no_zeroes(void **state)
{
	export_name(*state, true);
}

static void test_export_name_with_zeroes(void **state)
{
	export_name(*state, false);
}

/* EXPORT_NAME with no data at all: the default export. */
static void test_export_name_empty_is_default(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	uint8_t reply[10];

	cli_handshake(fd, true);
	cli_option(fd, NBD_OPT_EXPORT_NAME, NULL, 0);
	cli_read(fd, reply, sizeof(reply));
	assert_int_equal(get_be64(reply), 4096);
}

static void test_export_name_unknown_closes(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);

	cli_handshake(fd, true);
	cli_option(fd, NBD_OPT_EXPORT_NAME, "nope", 4);
	assert_true(cli_closed_within(fd, 2000));
	engine_wait(&w->e, 2000);
}

static void test_abort(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	struct optreply r;

	cli_handshake(fd, true);
	cli_option(fd, NBD_OPT_ABORT, NULL, 0);
	/* The spec asks for an ACK; then the server closes. */
	cli_reply(fd, &r);
	assert_int_equal(r.option, NBD_OPT_ABORT);
	assert_int_equal(r.type, NBD_REP_ACK);
	assert_true(cli_closed_within(fd, 2000));
	assert_int_equal(engine_wait(&w->e, 2000), 0);
	assert_int_equal(w->h.acquires, 0);
}

static void test_lease_refused(void **state)
{
	struct world *w = *state;
	int fd;
	struct optreply r;
	uint8_t buf[64];

	w->h.refuse = "disk";
	fd = start(w, 0);
	cli_handshake(fd, true);
	put_be32(buf, 4);
	memcpy(buf + 4, "disk", 4);
	put_be16(buf + 8, 0);
	/* INFO asks for no lease: it works. */
	cli_option(fd, NBD_OPT_INFO, buf, 10);
	do
		cli_reply(fd, &r);
	while (r.type == NBD_REP_INFO);
	assert_int_equal(r.type, NBD_REP_ACK);
	/* GO is refused with POLICY and the owner's reason. */
	cli_option(fd, NBD_OPT_GO, buf, 10);
	cli_reply(fd, &r);
	assert_int_equal(r.type, NBD_REP_ERR_POLICY);
	assert_non_null(memmem(r.data, r.len, "busy (test)", 11));
	/* Another export is still fine on the same connection. */
	struct export_info info;
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "small", NULL, 0, &info), NBD_REP_ACK);
	engine_stop(&w->e);
	assert_int_equal(w->h.acquires, 1);
	assert_int_equal(w->h.releases, 1);
}

static void test_lease_refused_export_name_closes(void **state)
{
	struct world *w = *state;
	int fd;

	w->h.refuse = "disk";
	fd = start(w, 0);
	cli_handshake(fd, true);
	cli_option(fd, NBD_OPT_EXPORT_NAME, "disk", 4);
	assert_true(cli_closed_within(fd, 2000));
	engine_wait(&w->e, 2000);
	assert_int_equal(w->h.releases, 0);
}

/* An export its owner refuses to this client (access control): left
 * out of LIST, POLICY for INFO, GO and SET_META_CONTEXT, EXPORT_NAME
 * closed; never acquired; another export still served. */
static void test_refused_export(void **state)
{
	struct world *w = *state;
	struct optreply r;
	struct export_info info;
	uint8_t buf[64];
	size_t listed = 0;
	int fd;

	w->h.exports[0].refused = true;	/* "disk" */
	fd = start(w, 0);
	cli_handshake(fd, true);
	cli_option(fd, NBD_OPT_LIST, NULL, 0);
	for (cli_reply(fd, &r); r.type == NBD_REP_SERVER; cli_reply(fd, &r)) {
		assert_false(get_be32(r.data) == 4 && !memcmp(r.data + 4, "disk", 4));
		listed++;
	}
	assert_int_equal(r.type, NBD_REP_ACK);
	assert_int_equal(listed, w->h.nexports - 1);
	assert_int_equal(cli_info(fd, NBD_OPT_INFO, "disk", NULL, 0, &info), NBD_REP_ERR_POLICY);
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "disk", NULL, 0, &info), NBD_REP_ERR_POLICY);
	cli_option(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
	cli_reply(fd, &r);
	put_be32(buf, 4);
	memcpy(buf + 4, "disk", 4);
	put_be32(buf + 8, 0);
	cli_option(fd, NBD_OPT_SET_META_CONTEXT, buf, 12);
	cli_reply(fd, &r);
	assert_int_equal(r.type, NBD_REP_ERR_POLICY);
	assert_non_null(memmem(r.data, r.len, "export 'disk' is not open to this client", 40));
	assert_int_equal(w->h.acquires, 0);
	assert_int_equal(cli_info(fd, NBD_OPT_GO, "small", NULL, 0, &info), NBD_REP_ACK);
	engine_stop(&w->e);

	fd = start(w, 0);
	cli_handshake(fd, true);
	cli_option(fd, NBD_OPT_EXPORT_NAME, "disk", 4);
	assert_true(cli_closed_within(fd, 2000));
	engine_wait(&w->e, 2000);
	assert_int_equal(w->h.acquires, 1);	/* the GO of "small" above */
}

static void test_option_too_long(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	uint8_t hdr[16];

	cli_handshake(fd, true);
	put_be64(hdr, NBD_IHAVEOPT);
	put_be32(hdr + 8, NBD_OPT_GO);
	put_be32(hdr + 12, 0x80000000U);
	cli_write(fd, hdr, 16);
	/* Neither read 2 GiB nor wait for them. */
	assert_true(cli_closed_within(fd, 2000));
	assert_int_equal(engine_wait(&w->e, 2000), -1);
}

static void test_bad_option_magic(void **state)
{
	struct world *w = *state;
	int fd = start(w, 0);
	uint8_t hdr[16];

	cli_handshake(fd, true);
	put_be64(hdr, 0x0102030405060708ULL);
	put_be32(hdr + 8, NBD_OPT_LIST);
	put_be32(hdr + 12, 0);
	cli_write(fd, hdr, 16);
	assert_true(cli_closed_within(fd, 2000));
	assert_int_equal(engine_wait(&w->e, 2000), -1);
}

static void test_handshake_timeout(void **state)
{
	struct world *w = *state;
	struct timespec a, b;
	int fd;
	double took;

	clock_gettime(CLOCK_MONOTONIC, &a);
	fd = start(w, 1);
	cli_greeting(fd);
	/* Say nothing more. */
	assert_true(cli_closed_within(fd, 4000));
	clock_gettime(CLOCK_MONOTONIC, &b);
	took = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(took >= 0.9);
	assert_int_equal(engine_wait(&w->e, 2000), -1);
}

/* The timeout is for the whole negotiation: dripping one option a second
 * does not keep a connection in negotiation for ever. */
static void test_handshake_timeout_whole(void **state)
{
	struct world *w = *state;
	int fd = start(w, 2);
	struct optreply r;
	bool closed = false;

	cli_handshake(fd, true);
	for (int i = 0; i < 8 && !closed; i++) {
		uint8_t hdr[16];
		put_be64(hdr, NBD_IHAVEOPT);
		put_be32(hdr + 8, 0x999);
		put_be32(hdr + 12, 0);
		if (write_full(fd, hdr, 16) < 0) {
			closed = true;
			break;
		}
		if (read_full(fd, &r, 20) < 0) {
			closed = true;
			break;
		}
		usleep(700 * 1000);
	}
	assert_true(closed || cli_closed_within(fd, 1000));
	engine_wait(&w->e, 2000);
}

/* ---- transmission flags from the backend's callbacks ---------------- */

static uint16_t flags_of(struct world *w, const char *name)
{
	struct export_info info;
	int fd = start(w, 0);

	cli_handshake(fd, true);
	assert_int_equal(cli_info(fd, NBD_OPT_INFO, name, NULL, 0, &info), NBD_REP_ACK);
	engine_stop(&w->e);
	return info.flags;
}

static void test_flags_full_backend(void **state)
{
	uint16_t f = flags_of(*state, "disk");

	assert_true(f & NBD_FLAG_HAS_FLAGS);
	assert_false(f & NBD_FLAG_READ_ONLY);
	assert_true(f & NBD_FLAG_SEND_FLUSH);
	assert_true(f & NBD_FLAG_SEND_FUA);
	assert_true(f & NBD_FLAG_SEND_TRIM);
	assert_true(f & NBD_FLAG_SEND_WRITE_ZEROES);
	assert_true(f & NBD_FLAG_SEND_FAST_ZERO);
	assert_true(f & NBD_FLAG_SEND_CACHE);
	assert_true(f & NBD_FLAG_CAN_MULTI_CONN);
	assert_false(f & NBD_FLAG_ROTATIONAL);
	/* DF only with structured replies, which were not negotiated. */
	assert_false(f & NBD_FLAG_SEND_DF);
}

static void test_flags_readonly_export(void **state)
{
	uint16_t f = flags_of(*state, "ro");

	assert_true(f & NBD_FLAG_READ_ONLY);
	/* Nothing that writes is offered on a read-only export. */
	assert_false(f & NBD_FLAG_SEND_TRIM);
	assert_false(f & NBD_FLAG_SEND_FAST_ZERO);
}

static void test_flags_plain_backend(void **state)
{
	uint16_t f = flags_of(*state, "plain");

	/* No flush, trim or zero callbacks: FLUSH, FUA (no way to make
	 * a write durable), TRIM and FAST_ZERO are not offered; zeroes are
	 * emulated with writes and CACHE with reads. */
	assert_false(f & NBD_FLAG_READ_ONLY);
	assert_false(f & NBD_FLAG_SEND_FLUSH);
	assert_false(f & NBD_FLAG_SEND_FUA);
	assert_false(f & NBD_FLAG_SEND_TRIM);
	assert_false(f & NBD_FLAG_SEND_FAST_ZERO);
	assert_true(f & NBD_FLAG_SEND_WRITE_ZEROES);
	assert_true(f & NBD_FLAG_SEND_CACHE);
	/* Not declared safe for multi-conn. */
	assert_false(f & NBD_FLAG_CAN_MULTI_CONN);
}

static void test_flags_no_pwrite_is_readonly(void **state)
{
	uint16_t f = flags_of(*state, "rops");

	assert_true(f & NBD_FLAG_READ_ONLY);
	assert_false(f & NBD_FLAG_SEND_FLUSH);
	assert_false(f & NBD_FLAG_SEND_TRIM);
}

static void test_flags_native_fua(void **state)
{
	uint16_t f = flags_of(*state, "nfua");

	assert_true(f & NBD_FLAG_SEND_FUA);
	/* Not declared MULTI_CONN. */
	assert_false(f & NBD_FLAG_CAN_MULTI_CONN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_greeting),
		T(test_unknown_client_flag_closes),
		T(test_unknown_option_then_go),
		T(test_list),
		T(test_info_then_go),
		T(test_info_overlong_description_cut),
		T(test_default_block_sizes_are_valid),
		T(test_unknown_export),
		T(test_default_export),
		T(test_no_default_export),
		T(test_export_name_no_zeroes),
		T(test_export_name_with_zeroes),
		T(test_export_name_empty_is_default),
		T(test_export_name_unknown_closes),
		T(test_abort),
		T(test_lease_refused),
		T(test_lease_refused_export_name_closes),
		T(test_refused_export),
		T(test_option_too_long),
		T(test_bad_option_magic),
		T(test_handshake_timeout),
		T(test_handshake_timeout_whole),
		T(test_flags_full_backend),
		T(test_flags_readonly_export),
		T(test_flags_plain_backend),
		T(test_flags_no_pwrite_is_readonly),
		T(test_flags_native_fua),
#undef T
	};

	/* The engine writes to sockets the test may have closed. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("handshake", tests, NULL, NULL);
}
