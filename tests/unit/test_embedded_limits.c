/* SPDX-License-Identifier: MIT */
/* The embedding API (cnbd/server.h) holds names and descriptions to the
 * protocol's 4096 bytes: cnbd_server_add_export refuses more with EINVAL,
 * and a description of exactly 4096 is served whole in an INFO reply
 * (cnbd_server_handle on a socketpair, a hand-written client). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "cnbd/protocol.h"
#include "cnbd/server.h"
#include "common/wire.h"

static uint8_t disk[4096];

static int64_t get_size(void *conn)
{
	(void)conn;
	return sizeof(disk);
}

static int do_pread(void *conn, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)conn; (void)flags;
	memcpy(buf, disk + offset, count);
	return 0;
}

static const struct cnbd_backend ops = {
	CNBD_BACKEND_HEADER,
	.name = "limits",
	.get_size = get_size,
	.pread = do_pread,
};

static char *string_of(size_t len)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	for (size_t i = 0; i < len; i++)
		s[i] = 'a' + i % 26;
	s[len] = '\0';
	return s;
}

static void test_add_refuses_over_4096(void **state)
{
	struct cnbd_server *srv = cnbd_server_new();
	char *over = string_of(NBD_MAX_STRING + 1);
	struct cnbd_export_options opts = { .description = over };

	(void)state;
	assert_non_null(srv);
	errno = 0;
	assert_int_equal(cnbd_server_add_export(srv, "d", &ops, disk, &opts), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(cnbd_server_add_export(srv, over, &ops, disk, NULL), -1);
	assert_int_equal(errno, EINVAL);
	over[NBD_MAX_STRING] = '\0';
	assert_int_equal(cnbd_server_add_export(srv, "d", &ops, disk, &opts), 0);
	assert_int_equal(cnbd_server_add_export(srv, over, &ops, disk, NULL), 0);
	cnbd_server_free(srv);
	free(over);
}

struct serve_arg {
	struct cnbd_server *srv;
	int fd;
};

static void *serve(void *p)
{
	struct serve_arg *a = p;

	cnbd_server_handle(a->srv, a->fd);
	return NULL;
}

static void cli_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= n;
	}
}

static void send_option(int fd, uint32_t option, const void *data, uint32_t len)
{
	uint8_t hdr[16];

	put_be64(hdr, NBD_IHAVEOPT);
	put_be32(hdr + 8, option);
	put_be32(hdr + 12, len);
	assert_int_equal(write(fd, hdr, 16), 16);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
}

/* INFO for "d" asking for the description: it comes back whole. */
static void test_info_serves_4096(void **state)
{
	struct cnbd_server *srv = cnbd_server_new();
	char *desc = string_of(NBD_MAX_STRING);
	struct cnbd_export_options opts = { .description = desc };
	struct serve_arg a = { .srv = srv };
	uint8_t greeting[18], flags[4], req[4 + 1 + 2 + 2], rep[20];
	static uint8_t data[8192];
	bool seen = false;
	pthread_t t;
	int sv[2];

	(void)state;
	assert_int_equal(cnbd_server_add_export(srv, "d", &ops, disk, &opts), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a.fd = sv[1];
	assert_int_equal(pthread_create(&t, NULL, serve, &a), 0);

	cli_read_full(sv[0], greeting, sizeof(greeting));
	put_be32(flags, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	assert_int_equal(write(sv[0], flags, 4), 4);
	put_be32(req, 1);
	req[4] = 'd';
	put_be16(req + 5, 1);
	put_be16(req + 7, NBD_INFO_DESCRIPTION);
	send_option(sv[0], NBD_OPT_INFO, req, sizeof(req));
	for (;;) {
		uint32_t type, len;

		cli_read_full(sv[0], rep, sizeof(rep));
		type = get_be32(rep + 12);
		len = get_be32(rep + 16);
		assert_true(len <= sizeof(data));
		cli_read_full(sv[0], data, len);
		if (type == NBD_REP_ACK)
			break;
		assert_int_equal(type, NBD_REP_INFO);
		if (get_be16(data) == NBD_INFO_DESCRIPTION) {
			assert_int_equal(len, 2 + NBD_MAX_STRING);
			assert_memory_equal(data + 2, desc, NBD_MAX_STRING);
			seen = true;
		}
	}
	assert_true(seen);
	send_option(sv[0], NBD_OPT_ABORT, NULL, 0);
	cli_read_full(sv[0], rep, sizeof(rep));
	close(sv[0]);
	pthread_join(t, NULL);
	cnbd_server_free(srv);
	free(desc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_refuses_over_4096),
		cmocka_unit_test(test_info_serves_4096),
	};

	return cmocka_run_group_tests_name("embedded_limits", tests, NULL, NULL);
}
