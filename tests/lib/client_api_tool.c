/* SPDX-License-Identifier: MIT */
/*
 * The public client API (<cnbd/client.h>) from the shell, for the tests:
 * built like a third party's program, against the installed header and
 * library only (pkg-config cnbd).
 *
 *   client_api_tool [options] URI COMMAND [ARGS]
 *     info                    key=value lines: size, flags, block sizes...
 *     list                    one "name<TAB>description" line per export
 *     write OFFSET FILE       FILE's bytes at OFFSET, requests in flight
 *     read OFFSET LEN FILE    synchronous reads into FILE
 *     map OFFSET LEN          base:allocation: "offset length flags" lines
 *     zero OFFSET LEN | trim OFFSET LEN | cache OFFSET LEN | flush
 *   options: -n N  requests in flight (write; default 16)
 *            -c N  bytes per request (default 256 KiB)
 *            -f    FUA on writes, trims and zeroes
 *            -z FLAGS  zero: nohole, fast or both ("nohole,fast")
 *            -s    strict mode off (the server's answer is the result)
 *            -S    no structured replies
 *            -t N  timeout in seconds
 * A failure prints "errno=NAME: sentence" and exits 1.
 */
#define _GNU_SOURCE	/* strerrorname_np */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cnbd/client.h>

static struct cnbd_client *h;
static unsigned inflight = 16;
static size_t chunk = 256 * 1024;
static uint32_t fua;
static uint32_t zero_flags;

static void die(const char *what)
{
	printf("errno=%s: %s\n", strerrorname_np(cnbd_client_get_errno(h)),
	       cnbd_client_get_error(h));
	fprintf(stderr, "client_api_tool: %s failed\n", what);
	exit(1);
}

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static void info(void)
{
	printf("size=%" PRId64 "\n", cnbd_client_get_size(h));
	printf("flags=0x%04x\n", cnbd_client_get_flags(h));
	printf("name=%s\n", cnbd_client_get_export_name(h));
	printf("description=%s\n", cnbd_client_get_export_description(h));
	printf("read_only=%d\n", cnbd_client_is_read_only(h));
	printf("can_flush=%d\n", cnbd_client_can_flush(h));
	printf("can_fua=%d\n", cnbd_client_can_fua(h));
	printf("can_trim=%d\n", cnbd_client_can_trim(h));
	printf("can_zero=%d\n", cnbd_client_can_zero(h));
	printf("can_fast_zero=%d\n", cnbd_client_can_fast_zero(h));
	printf("can_cache=%d\n", cnbd_client_can_cache(h));
	printf("can_multi_conn=%d\n", cnbd_client_can_multi_conn(h));
	printf("base_allocation=%d\n", cnbd_client_can_meta_context(h, "base:allocation"));
	printf("structured=%d\n", cnbd_client_get_structured_replies_negotiated(h));
	printf("min_block=%" PRId64 "\n", cnbd_client_get_block_size(h, CNBD_SIZE_MINIMUM));
	printf("pref_block=%" PRId64 "\n", cnbd_client_get_block_size(h, CNBD_SIZE_PREFERRED));
	printf("max_block=%" PRId64 "\n", cnbd_client_get_block_size(h, CNBD_SIZE_MAXIMUM));
}

static int print_export(void *opaque, const char *name, const char *description)
{
	(void)opaque;
	printf("%s\t%s\n", name, description);
	return 0;
}

/* Writes with up to inflight requests at once, then flushes. */
static void write_file(uint64_t offset, const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	unsigned char *data;
	int64_t *cookies = calloc(inflight, sizeof(*cookies));
	size_t done = 0;
	unsigned busy = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !cookies)
		exit(2);
	data = malloc(st.st_size ? st.st_size : 1);
	if (!data || read(fd, data, st.st_size) != st.st_size)
		exit(2);
	close(fd);
	while (done < (size_t)st.st_size || busy) {
		for (unsigned i = 0; i < inflight && done < (size_t)st.st_size; i++) {
			size_t n = (size_t)st.st_size - done < chunk ? (size_t)st.st_size - done : chunk;

			if (cookies[i])
				continue;
			cookies[i] = cnbd_client_aio_pwrite(h, data + done, n, offset + done, fua);
			if (cookies[i] < 0)
				die("aio_pwrite");
			done += n;
			busy++;
		}
		if (cnbd_client_poll(h, -1) < 0)
			die("poll");
		for (unsigned i = 0; i < inflight; i++) {
			int rc = cookies[i] ? cnbd_client_aio_command_completed(h, cookies[i]) : 0;

			if (rc < 0)
				die("aio_pwrite");
			if (rc == 1) {
				cookies[i] = 0;
				busy--;
			}
		}
	}
	if (cnbd_client_can_flush(h) == 1 && cnbd_client_flush(h, 0) < 0)
		die("flush");
	free(data);
	free(cookies);
}

static void read_file(uint64_t offset, uint64_t len, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	unsigned char *buf = malloc(chunk);

	if (fd < 0 || !buf)
		exit(2);
	while (len > 0) {
		size_t n = len < chunk ? len : chunk;

		if (cnbd_client_pread(h, buf, n, offset, 0) < 0)
			die("pread");
		if (write(fd, buf, n) != (ssize_t)n)
			exit(2);
		offset += n;
		len -= n;
	}
	close(fd);
	free(buf);
}

/* Prints extents as they come, neighbours of one type merged (as
 * nbdinfo --map does), ending at the request's end. */
struct map {
	uint64_t end;
	uint64_t off, len;
	uint32_t flags;
	bool have;
};

static int extent(void *opaque, const char *context,
		  const struct cnbd_client_extent *e, size_t n)
{
	struct map *m = opaque;

	if (strcmp(context, "base:allocation"))
		return EINVAL;
	for (size_t i = 0; i < n && e[i].offset < m->end; i++) {
		uint64_t len = e[i].length;

		if (e[i].offset + len > m->end)
			len = m->end - e[i].offset;
		if (m->have && m->flags == e[i].flags && m->off + m->len == e[i].offset) {
			m->len += len;
			continue;
		}
		if (m->have)
			printf("%" PRIu64 " %" PRIu64 " %u\n", m->off, m->len, m->flags);
		*m = (struct map){ m->end, e[i].offset, len, e[i].flags, true };
	}
	return 0;
}

static void map(uint64_t offset, uint64_t len)
{
	struct map m = { .end = offset + len };
	uint64_t at = offset;

	while (at < m.end) {
		uint64_t n = m.end - at > (1ULL << 30) ? 1ULL << 30 : m.end - at;
		uint64_t before = m.have ? m.off + m.len : at;

		if (cnbd_client_block_status(h, n, at, extent, &m, 0) < 0)
			die("block_status");
		at = m.have ? m.off + m.len : at;
		if (at == before)
			break;
	}
	if (m.have)
		printf("%" PRIu64 " %" PRIu64 " %u\n", m.off, m.len, m.flags);
}

static void usage(void)
{
	fprintf(stderr, "usage: client_api_tool [-n N] [-c N] [-f] [-z FLAGS] [-s] [-S] [-t N] URI COMMAND [ARGS]\n");
	exit(2);
}

static void run(const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "info") && argc == 0)
		info();
	else if (!strcmp(cmd, "write") && argc == 2)
		write_file(num(argv[0]), argv[1]);
	else if (!strcmp(cmd, "read") && argc == 3)
		read_file(num(argv[0]), num(argv[1]), argv[2]);
	else if (!strcmp(cmd, "map") && argc == 2)
		map(num(argv[0]), num(argv[1]));
	else if (!strcmp(cmd, "zero") && argc == 2) {
		if (cnbd_client_zero(h, num(argv[1]), num(argv[0]), zero_flags | fua) < 0)
			die("zero");
	} else if (!strcmp(cmd, "trim") && argc == 2) {
		if (cnbd_client_trim(h, num(argv[1]), num(argv[0]), fua) < 0)
			die("trim");
	} else if (!strcmp(cmd, "cache") && argc == 2) {
		if (cnbd_client_cache(h, num(argv[1]), num(argv[0]), 0) < 0)
			die("cache");
	} else if (!strcmp(cmd, "flush") && argc == 0) {
		if (cnbd_client_flush(h, 0) < 0)
			die("flush");
	} else
		usage();
}

int main(int argc, char **argv)
{
	int opt;

	h = cnbd_client_create();
	if (!h)
		return 2;
	while ((opt = getopt(argc, argv, "n:c:fz:sSt:")) != -1) {
		switch (opt) {
		case 'n': inflight = atoi(optarg); break;
		case 'c': chunk = num(optarg); break;
		case 'f': fua = NBD_CMD_FLAG_FUA; break;
		case 'z':
			if (strstr(optarg, "nohole"))
				zero_flags |= NBD_CMD_FLAG_NO_HOLE;
			if (strstr(optarg, "fast"))
				zero_flags |= NBD_CMD_FLAG_FAST_ZERO;
			break;
		case 's': cnbd_client_set_strict_mode(h, false); break;
		case 'S': cnbd_client_set_request_structured_replies(h, false); break;
		case 't': cnbd_client_set_timeout(h, atoi(optarg)); break;
		default: usage();
		}
	}
	if (argc - optind < 2 || inflight < 1 || !chunk)
		usage();
	if (!strcmp(argv[optind + 1], "list")) {
		if (cnbd_client_list_exports(h, argv[optind], print_export, NULL) < 0)
			die("list");
	} else {
		if (cnbd_client_connect_uri(h, argv[optind]) < 0)
			die("connect");
		run(argv[optind + 1], argc - optind - 2, argv + optind + 2);
	}
	cnbd_client_close(h);
	return 0;
}
