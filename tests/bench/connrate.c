// SPDX-License-Identifier: MIT
/*
 * connrate: how many whole NBD connections a server serves per second.
 *
 *   connrate [-t SECONDS] [-j LOOPS] HOST PORT EXPORT
 *
 * Each of LOOPS threads, until SECONDS have passed, repeats one
 * connection: TCP connect, fixed-newstyle handshake, NBD_OPT_GO on
 * EXPORT, one 4 KiB NBD_CMD_READ at offset 0 (so the export is really
 * opened and served, not just greeted), NBD_CMD_DISC, then read until
 * the server closes, and close. Waiting for the server's close keeps the
 * TIME_WAIT on the server's side, so a run of tens of thousands of
 * connections does not run out of client ports, and counts the server's
 * teardown in the connection.
 *
 * Prints one JSON line: {"connections": N, "seconds": S, "loops": J}.
 * Any failure (refused connection, bad magic, an error reply) stops the
 * run with a message and exit status 1: a benchmark that quietly counts
 * failed connections measures the wrong thing.
 *
 * Raw sockets and blocking I/O, no library: the client's own CPU per
 * connection stays small beside the server's, and every byte it sends
 * is on this page. Not a protocol checker: it reads what it needs and
 * skips the rest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cnbd/protocol.h"

#define READ_SIZE 4096
#define MAX_LOOPS 64

static const char *export_name;
static struct sockaddr_storage server_addr;
static socklen_t server_addrlen;
static atomic_bool stop;

struct loop {
	pthread_t thread;
	unsigned long connections;
	char error[256];
};

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static int fail(struct loop *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->error, sizeof(l->error), fmt, ap);
	va_end(ap);
	return -1;
}

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Throw away len bytes (option reply payloads we do not need). */
static int skip(int fd, uint32_t len)
{
	uint8_t buf[512];

	while (len) {
		uint32_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (read_all(fd, buf, n) < 0)
			return -1;
		len -= n;
	}
	return 0;
}

/* Greeting in, client flags and NBD_OPT_GO out (one write), replies in
 * until NBD_REP_ACK. Returns the export size. */
static int handshake(struct loop *l, int fd, uint64_t *size)
{
	size_t name_len = strlen(export_name);
	uint8_t greet[18], out[4 + 16 + 4 + NBD_MAX_STRING + 2], rep[20];
	uint16_t hflags;
	uint8_t *p = out;
	int have_size = 0;

	if (read_all(fd, greet, sizeof(greet)) < 0)
		return fail(l, "greeting: %s", strerror(errno));
	if (get_be64(greet) != NBD_MAGIC || get_be64(greet + 8) != NBD_IHAVEOPT)
		return fail(l, "greeting: not a fixed-newstyle NBD server");
	hflags = get_be16(greet + 16);
	if (!(hflags & NBD_FLAG_FIXED_NEWSTYLE))
		return fail(l, "greeting: server is not fixed-newstyle");

	put_be32(p, NBD_FLAG_C_FIXED_NEWSTYLE | (hflags & NBD_FLAG_NO_ZEROES ?
						 NBD_FLAG_C_NO_ZEROES : 0));
	p += 4;
	put_be64(p, NBD_IHAVEOPT);
	put_be32(p + 8, NBD_OPT_GO);
	put_be32(p + 12, 4 + name_len + 2);
	put_be32(p + 16, name_len);
	p += 20;
	memcpy(p, export_name, name_len);
	p += name_len;
	put_be16(p, 0);		/* no NBD_INFO requests: NBD_INFO_EXPORT comes anyway */
	p += 2;
	if (write_all(fd, out, p - out) < 0)
		return fail(l, "send GO: %s", strerror(errno));

	for (;;) {
		uint32_t type, len;

		if (read_all(fd, rep, sizeof(rep)) < 0)
			return fail(l, "GO reply: %s", strerror(errno));
		if (get_be64(rep) != NBD_REP_MAGIC || get_be32(rep + 8) != NBD_OPT_GO)
			return fail(l, "GO reply: bad magic or option");
		type = get_be32(rep + 12);
		len = get_be32(rep + 16);
		if (type & NBD_REP_FLAG_ERROR)
			return fail(l, "GO refused: reply type 0x%x", type);
		if (type == NBD_REP_ACK)
			break;
		if (type == NBD_REP_INFO && len >= 12) {
			uint8_t info[12];

			if (read_all(fd, info, sizeof(info)) < 0)
				return fail(l, "GO info: %s", strerror(errno));
			len -= sizeof(info);
			if (get_be16(info) == NBD_INFO_EXPORT) {
				*size = get_be64(info + 2);
				have_size = 1;
			}
		}
		if (skip(fd, len) < 0)
			return fail(l, "GO reply payload: %s", strerror(errno));
	}
	if (!have_size)
		return fail(l, "GO acknowledged without NBD_INFO_EXPORT");
	if (*size < READ_SIZE)
		return fail(l, "export is smaller than one %d-byte read", READ_SIZE);
	return 0;
}

static void request(uint8_t *req, uint16_t type, uint64_t cookie, uint32_t count)
{
	put_be32(req, NBD_REQUEST_MAGIC);
	put_be16(req + 4, 0);
	put_be16(req + 6, type);
	put_be64(req + 8, cookie);
	put_be64(req + 16, 0);
	put_be32(req + 24, count);
}

static int one_connection(struct loop *l)
{
	uint8_t req[28], reply[16], data[READ_SIZE];
	uint64_t size;
	int fd, one = 1, ret = -1;
	ssize_t n;

	fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(l, "socket: %s", strerror(errno));
	/* The client's few small writes each end a round trip: never hold
	 * one back for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&server_addr, server_addrlen) < 0) {
		fail(l, "connect: %s", strerror(errno));
		goto out;
	}
	if (handshake(l, fd, &size) < 0)
		goto out;

	request(req, NBD_CMD_READ, 1, READ_SIZE);
	if (write_all(fd, req, sizeof(req)) < 0) {
		fail(l, "send READ: %s", strerror(errno));
		goto out;
	}
	if (read_all(fd, reply, sizeof(reply)) < 0) {
		fail(l, "READ reply: %s", strerror(errno));
		goto out;
	}
	if (get_be32(reply) != NBD_SIMPLE_REPLY_MAGIC || get_be64(reply + 8) != 1) {
		fail(l, "READ reply: bad magic or cookie");
		goto out;
	}
	if (get_be32(reply + 4)) {
		fail(l, "READ failed: NBD error %u", get_be32(reply + 4));
		goto out;
	}
	if (read_all(fd, data, sizeof(data)) < 0) {
		fail(l, "READ data: %s", strerror(errno));
		goto out;
	}

	request(req, NBD_CMD_DISC, 2, 0);
	if (write_all(fd, req, sizeof(req)) < 0) {
		fail(l, "send DISC: %s", strerror(errno));
		goto out;
	}
	/* The server answers DISC by closing; nothing else may come. */
	do
		n = read(fd, data, sizeof(data));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		fail(l, "after DISC: %s", n < 0 ? strerror(errno) : "unexpected data");
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static void *loop_main(void *arg)
{
	struct loop *l = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (one_connection(l) < 0) {
			atomic_store(&stop, true);
			break;
		}
		l->connections++;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int resolve(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int err = getaddrinfo(host, port, &hints, &ai);

	if (err) {
		fprintf(stderr, "connrate: %s:%s: %s\n", host, port, gai_strerror(err));
		return -1;
	}
	memcpy(&server_addr, ai->ai_addr, ai->ai_addrlen);
	server_addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: connrate [-t SECONDS] [-j LOOPS] HOST PORT EXPORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct loop loops[MAX_LOOPS];
	double seconds = 5, start, elapsed;
	unsigned long total = 0;
	struct timespec ts;
	int opt, nloops = 1, i, started, failed = 0;

	while ((opt = getopt(argc, argv, "t:j:")) != -1) {
		switch (opt) {
		case 't':
			seconds = atof(optarg);
			break;
		case 'j':
			nloops = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3 || seconds <= 0 || nloops < 1 || nloops > MAX_LOOPS)
		usage();
	if (strlen(argv[optind + 2]) > NBD_MAX_STRING) {
		fprintf(stderr, "connrate: export name too long\n");
		return 2;
	}
	export_name = argv[optind + 2];
	if (resolve(argv[optind], argv[optind + 1]) < 0)
		return 1;

	start = now();
	for (started = 0; started < nloops; started++) {
		if (pthread_create(&loops[started].thread, NULL, loop_main, &loops[started])) {
			fprintf(stderr, "connrate: pthread_create failed\n");
			atomic_store(&stop, true);
			failed = 1;
			break;
		}
	}
	/* Short naps, so a loop that failed ends the run at once. */
	ts.tv_sec = 0;
	ts.tv_nsec = 10 * 1000 * 1000;
	while (!atomic_load(&stop) && now() - start < seconds)
		nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	for (i = 0; i < started; i++) {
		pthread_join(loops[i].thread, NULL);
		total += loops[i].connections;
		if (loops[i].error[0]) {
			fprintf(stderr, "connrate: loop %d, after %lu connections: %s\n",
				i, loops[i].connections, loops[i].error);
			failed = 1;
		}
	}
	/* Until the last loop finished its connection: each counted
	 * connection was served inside this time. */
	elapsed = now() - start;
	if (failed)
		return 1;
	printf("{\"connections\": %lu, \"seconds\": %.6f, \"loops\": %d}\n",
	       total, elapsed, nloops);
	return 0;
}
