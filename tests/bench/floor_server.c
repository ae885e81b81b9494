// SPDX-License-Identifier: MIT
/*
 * floor_server: the cheapest NBD server this machine can run, as the
 * benchmark's floor. What a server's CPU per request costs above this
 * one is the price of its checks, its backend and its design; what this
 * one costs is the system calls alone.
 *
 *   floor_server [-s SIZE] PORT
 *
 * Listens on 127.0.0.1:PORT, one thread per connection. The handshake
 * answers just enough for fio's libnbd and nbdinfo: fixed newstyle,
 * GO/INFO with NBD_INFO_EXPORT, EXPORT_NAME, ABORT; every other option
 * gets NBD_REP_ERR_UNSUP (so clients fall back to simple replies, the
 * cheapest to send). Transmission does no checks and keeps no data:
 * every recv(2) takes as many request headers (and write payloads) as
 * the socket holds, every reply of that batch goes out in one writev(2)
 * (reads answer zeros from one static buffer), which is as few system
 * calls per request as a readiness-based server can make.
 *
 * A benchmark tool, not a server: it trusts its client completely.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cnbd/protocol.h"

#define RECV_BYTES	(4u << 20)	/* one recv(2) takes this much */
#define ZERO_BYTES	(1u << 20)	/* reads point into this, in pieces */
#define MAX_IOV		IOV_MAX
#define REQ_BYTES	28
#define REPLY_BYTES	16

static uint64_t export_size = 1ull << 30;
static const uint16_t export_flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
	NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES |
	NBD_FLAG_CAN_MULTI_CONN;
static char zeros[ZERO_BYTES];

static int read_all(int fd, void *buf, size_t len)
{
	for (char *p = buf; len;) {
		ssize_t n = read(fd, p, len);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	for (const char *p = buf; len;) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int option_reply(int fd, uint32_t opt, uint32_t type, const void *data,
			uint32_t len)
{
	uint8_t h[20];
	uint64_t magic = htobe64(NBD_REP_MAGIC);
	uint32_t v;

	memcpy(h, &magic, 8);
	v = htobe32(opt); memcpy(h + 8, &v, 4);
	v = htobe32(type); memcpy(h + 12, &v, 4);
	v = htobe32(len); memcpy(h + 16, &v, 4);
	if (write_all(fd, h, sizeof(h)))
		return -1;
	return len ? write_all(fd, data, len) : 0;
}

static void put_export_info(uint8_t *p)
{
	uint16_t type = htobe16(NBD_INFO_EXPORT), flags = htobe16(export_flags);
	uint64_t size = htobe64(export_size);

	memcpy(p, &type, 2);
	memcpy(p + 2, &size, 8);
	memcpy(p + 10, &flags, 2);
}

/* 0 when transmission starts, -1 to drop the connection. */
static int handshake(int fd)
{
	uint8_t greeting[18], buf[4096];
	uint64_t v64 = htobe64(NBD_MAGIC);
	uint16_t gflags = htobe16(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	uint32_t cflags;

	memcpy(greeting, &v64, 8);
	v64 = htobe64(NBD_IHAVEOPT);
	memcpy(greeting + 8, &v64, 8);
	memcpy(greeting + 16, &gflags, 2);
	if (write_all(fd, greeting, sizeof(greeting)) || read_all(fd, &cflags, 4))
		return -1;
	for (;;) {
		uint8_t oh[16], info[12];
		uint32_t opt, len;

		if (read_all(fd, oh, sizeof(oh)))
			return -1;
		memcpy(&opt, oh + 8, 4);
		memcpy(&len, oh + 12, 4);
		opt = be32toh(opt);
		len = be32toh(len);
		if (len > sizeof(buf) || read_all(fd, buf, len))
			return -1;
		switch (opt) {
		case NBD_OPT_EXPORT_NAME:
			put_export_info(info);	/* size and flags, no zeroes */
			return write_all(fd, info + 2, 10);
		case NBD_OPT_GO:
		case NBD_OPT_INFO:
			put_export_info(info);
			if (option_reply(fd, opt, NBD_REP_INFO, info, sizeof(info)) ||
			    option_reply(fd, opt, NBD_REP_ACK, NULL, 0))
				return -1;
			if (opt == NBD_OPT_GO)
				return 0;
			break;
		case NBD_OPT_ABORT:
			option_reply(fd, opt, NBD_REP_ACK, NULL, 0);
			return -1;
		default:
			if (option_reply(fd, opt, NBD_REP_ERR_UNSUP, NULL, 0))
				return -1;
		}
	}
}

struct batch {
	struct iovec iov[MAX_IOV];
	uint8_t headers[MAX_IOV][REPLY_BYTES];
	int n;
};

static int batch_flush(int fd, struct batch *b)
{
	struct iovec *iov = b->iov;
	int n = b->n;

	while (n > 0) {
		ssize_t put = writev(fd, iov, n);
		if (put < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)put >= iov->iov_len) {
			put -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + put;
			iov->iov_len -= (size_t)put;
		}
	}
	b->n = 0;
	return 0;
}

static int batch_add(int fd, struct batch *b, void *base, size_t len)
{
	if (b->n == MAX_IOV && batch_flush(fd, b))
		return -1;
	b->iov[b->n].iov_base = base;
	b->iov[b->n].iov_len = len;
	b->n++;
	return 0;
}

/* One simple reply; a read's data follows it in pieces of the zeros. */
static int batch_reply(int fd, struct batch *b, const uint8_t *req, uint32_t len)
{
	uint32_t magic = htobe32(NBD_SIMPLE_REPLY_MAGIC);
	uint8_t *h;

	if (b->n == MAX_IOV && batch_flush(fd, b))
		return -1;
	h = b->headers[b->n];
	memcpy(h, &magic, 4);
	memset(h + 4, 0, 4);
	memcpy(h + 8, req + 8, 8);		/* the cookie, as it came */
	if (batch_add(fd, b, h, REPLY_BYTES))
		return -1;
	while (len) {
		uint32_t piece = len < ZERO_BYTES ? len : ZERO_BYTES;
		if (batch_add(fd, b, zeros, piece))
			return -1;
		len -= piece;
	}
	return 0;
}

struct conn {
	uint8_t in[RECV_BYTES];
	size_t have;		/* bytes in `in` not yet used */
	uint64_t skip;		/* write payload still to come */
	uint8_t write_req[REQ_BYTES];	/* its request, answered once it is in */
	struct batch out;
};

/* Uses every whole request in c->in; returns -1 at DISC. */
static int serve_buffer(int fd, struct conn *c)
{
	size_t at = 0;

	for (;;) {
		if (c->skip) {
			size_t take = c->have - at < c->skip ? c->have - at : c->skip;
			at += take;
			c->skip -= take;
			if (c->skip)
				break;
			/* libnbd matches a reply only to a request it has
			 * finished sending: answer after the payload. */
			if (batch_reply(fd, &c->out, c->write_req, 0))
				return -1;
		}
		if (c->have - at < REQ_BYTES)
			break;
		const uint8_t *req = c->in + at;
		uint16_t type;
		uint32_t len;

		memcpy(&type, req + 6, 2);
		memcpy(&len, req + 24, 4);
		type = be16toh(type);
		len = be32toh(len);
		at += REQ_BYTES;
		if (type == NBD_CMD_DISC)
			return -1;
		if (type == NBD_CMD_WRITE && len) {
			memcpy(c->write_req, req, REQ_BYTES);
			c->skip = len;
			continue;
		}
		if (batch_reply(fd, &c->out, req, type == NBD_CMD_READ ? len : 0))
			return -1;
	}
	/* The reply headers point into c->out, never into c->in, so the
	 * rest of a request can move to the front before the next recv. */
	memmove(c->in, c->in + at, c->have - at);
	c->have -= at;
	return batch_flush(fd, &c->out);
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct conn *c = calloc(1, sizeof(*c));

	if (!c || handshake(fd))
		goto out;
	for (;;) {
		ssize_t n = recv(fd, c->in + c->have, sizeof(c->in) - c->have, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		c->have += (size_t)n;
		if (serve_buffer(fd, c))
			break;
	}
out:
	free(c);
	close(fd);
	return NULL;
}

static int listen_on(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
		perror("floor_server: listen");
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	int opt, lfd;

	while ((opt = getopt(argc, argv, "s:h")) != -1) {
		switch (opt) {
		case 's':
			export_size = strtoull(optarg, NULL, 0);
			break;
		case 'h':
			printf("usage: floor_server [-s SIZE] PORT\n"
			       "The benchmark's floor: an NBD server on 127.0.0.1:PORT that\n"
			       "does nothing but the system calls (tests/bench/floor_server.c).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: floor_server [-s SIZE] PORT\n");
		return 2;
	}
	lfd = listen_on((uint16_t)atoi(argv[optind]));
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;
		pthread_t t;

		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}
