// SPDX-License-Identifier: MIT
/*
 * The part of the floor servers that is not their transmission loop
 * (floor_handshake.h). The handshake answers just enough for fio's
 * libnbd and nbdinfo: fixed newstyle, GO/INFO with NBD_INFO_EXPORT,
 * EXPORT_NAME, ABORT; every other option gets NBD_REP_ERR_UNSUP (so
 * clients fall back to simple replies, the cheapest to send).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cnbd/protocol.h"
#include "floor_handshake.h"

uint64_t floor_export_size = 1ull << 30;
static const uint16_t export_flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
	NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES |
	NBD_FLAG_CAN_MULTI_CONN;

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
	uint64_t size = htobe64(floor_export_size);

	memcpy(p, &type, 2);
	memcpy(p + 2, &size, 8);
	memcpy(p + 10, &flags, 2);
}

int floor_handshake(int fd)
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

void floor_put_reply(uint8_t *h, const uint8_t *req)
{
	uint32_t magic = htobe32(NBD_SIMPLE_REPLY_MAGIC);

	memcpy(h, &magic, 4);
	memset(h + 4, 0, 4);
	memcpy(h + 8, req + 8, 8);		/* the cookie, as it came */
}

static int listen_on(const char *prog, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
		fprintf(stderr, "%s: listen on 127.0.0.1:%u: %s\n", prog, port,
			strerror(errno));
		exit(1);
	}
	return fd;
}

void floor_listen_loop(const char *prog, uint16_t port, void *(*serve)(void *))
{
	int lfd = listen_on(prog, port);

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
