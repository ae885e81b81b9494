// SPDX-License-Identifier: MIT
/*
 * floor_server: the cheapest NBD server this machine can run, as the
 * benchmark's floor. What a server's CPU per request costs above this
 * one is the price of its checks, its backend and its design; what this
 * one costs is the system calls alone.
 *
 *   floor_server [-s SIZE] PORT
 *
 * Listens on 127.0.0.1:PORT, one thread per connection, with the
 * handshake of floor_handshake.c (simple replies only). Transmission
 * does no checks and keeps no data:
 * every recv(2) takes as many request headers (and write payloads) as
 * the socket holds, every reply of that batch goes out in one writev(2)
 * (reads answer zeros from one static buffer), which is as few system
 * calls per request as a readiness-based server can make.
 *
 * A benchmark tool, not a server: it trusts its client completely.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cnbd/protocol.h"
#include "floor_handshake.h"

#define RECV_BYTES	(4u << 20)	/* one recv(2) takes this much */
#define ZERO_BYTES	(1u << 20)	/* reads point into this, in pieces */
#define MAX_IOV		IOV_MAX
#define REQ_BYTES	FLOOR_REQ_BYTES
#define REPLY_BYTES	FLOOR_REPLY_BYTES

static char zeros[ZERO_BYTES];

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
	uint8_t *h;

	if (b->n == MAX_IOV && batch_flush(fd, b))
		return -1;
	h = b->headers[b->n];
	floor_put_reply(h, req);
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

	if (!c || floor_handshake(fd))
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

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "s:h")) != -1) {
		switch (opt) {
		case 's':
			floor_export_size = strtoull(optarg, NULL, 0);
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
	floor_listen_loop("floor_server", (uint16_t)atoi(argv[optind]), serve);
}
