/* SPDX-License-Identifier: MIT */
/*
 * cnbd-io: the client library's I/O from the shell, for the interop
 * tests (built, never installed).
 *
 *   cnbd-io [-t SECONDS] URI info
 *   cnbd-io [-t SECONDS] URI read OFFSET LENGTH     data to stdout
 *   cnbd-io [-t SECONDS] URI write OFFSET [fua]     data from stdin
 *   cnbd-io [-t SECONDS] URI flush
 *   cnbd-io [-t SECONDS] URI trim OFFSET LENGTH
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientlib/client.h"
#include "common/wire.h"

static int usage(void)
{
	fprintf(stderr, "usage: cnbd-io [-t SECONDS] URI info|read OFF LEN|write OFF [fua]|flush|trim OFF LEN\n");
	return 2;
}

static int number(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	if (!*s || *end || errno) {
		fprintf(stderr, "cnbd-io: '%s' is not a number\n", s);
		return -1;
	}
	return 0;
}

/* A server's string on one line of its own: control bytes and the
 * backslash as \xHH, then the newline. */
static void print_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = *s;

		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('\n');
}

static int info(struct nbd_client *c)
{
	const struct client_export *ex = &c->export;
	char err[256];
	uint32_t blk = 0;

	printf("name=%s\nsize=%" PRIu64 "\nflags=0x%04x\n", ex->name, ex->size, ex->flags);
	printf("server_name=");
	print_escaped(ex->server_name);
	printf("block_size_info=%s\nmin_block=%u\npref_block=%u\nmax_payload=%u\n",
	       ex->have_block_size ? "yes" : "no", ex->min_block, ex->pref_block,
	       ex->max_payload);
	printf("via_export_name=%s\ndescription=", ex->via_export_name ? "yes" : "no");
	print_escaped(ex->description);
	if (client_kernel_block_size(ex, &blk, err, sizeof(err)) < 0)
		printf("kernel_block_size=none (%s)\n", err);
	else
		printf("kernel_block_size=%u\n", blk);
	return 0;
}

static int do_read(struct nbd_client *c, uint64_t off, uint64_t len)
{
	size_t chunk = 4 << 20;
	char *buf = malloc(chunk);

	if (!buf)
		return -1;
	while (len > 0) {
		size_t n = len < chunk ? len : chunk;

		if (client_pread(c, buf, n, off) < 0 || write_full(STDOUT_FILENO, buf, n) < 0)
			break;
		off += n;
		len -= n;
	}
	free(buf);
	return len ? -1 : 0;
}

static int do_write(struct nbd_client *c, uint64_t off, bool fua)
{
	size_t chunk = 4 << 20;
	char *buf = malloc(chunk);
	int rc = -1;

	if (!buf)
		return -1;
	for (;;) {
		size_t n = 0;
		ssize_t r = 1;

		while (n < chunk && (r = read(STDIN_FILENO, buf + n, chunk - n)) > 0)
			n += r;
		if (r < 0)
			break;
		if (n && client_pwrite(c, buf, n, off, fua) < 0)
			break;
		off += n;
		if (r == 0) {
			rc = 0;
			break;
		}
	}
	free(buf);
	return rc;
}

static int run(struct nbd_client *c, int argc, char **argv)
{
	uint64_t off = 0, len = 0;
	const char *cmd = argv[0];

	if (argc >= 2 && number(argv[1], &off) < 0)
		return 2;
	if (argc >= 3 && strcmp(argv[2], "fua") && number(argv[2], &len) < 0)
		return 2;
	if (!strcmp(cmd, "info") && argc == 1)
		return info(c);
	if (!strcmp(cmd, "read") && argc == 3)
		return do_read(c, off, len);
	if (!strcmp(cmd, "write") && (argc == 2 || (argc == 3 && !strcmp(argv[2], "fua"))))
		return do_write(c, off, argc == 3);
	if (!strcmp(cmd, "flush") && argc == 1)
		return client_flush(c);
	if (!strcmp(cmd, "trim") && argc == 3)
		return client_trim(c, len, off);
	return usage();
}

int main(int argc, char **argv)
{
	struct nbd_client c;
	int timeout = 30, opt, rc;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			return usage();
		timeout = atoi(optarg);
	}
	if (argc - optind < 2)
		return usage();
	if (client_open_uri(&c, argv[optind], timeout) < 0) {
		fprintf(stderr, "cnbd-io: %s\n", c.error);
		client_close(&c);
		return 1;
	}
	rc = run(&c, argc - optind - 1, argv + optind + 1);
	if (rc < 0)
		fprintf(stderr, "cnbd-io: %s\n", c.error[0] ? c.error : strerror(errno));
	client_close(&c);
	return rc == 0 ? 0 : rc > 0 ? rc : 1;
}
