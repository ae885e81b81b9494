/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cnbd/protocol.h"
#include "engine/serve_reply.h"
#include "common/wire.h"

/* Data a reply sends from a file descriptor (sendfile) after its iov. */
struct fd_tail {
	int fd;
	uint64_t offset;
	uint32_t len;
};

/* The iov, then tail's bytes if any, under the send lock. A failure midway
 * leaves the stream unusable: the session is marked failed and ends. */
static int send_locked(struct session *s, struct iovec *iov, int iovcnt,
		       const struct fd_tail *tail)
{
	int rc;

	pthread_mutex_lock(&s->send_lock);
	if (s->send_failed) {
		errno = EPIPE;
		rc = -1;
	} else {
		rc = conn_writev(&s->io, iov, iovcnt, tail || s->more_follows);
		if (rc == 0 && tail)
			rc = conn_sendfile(&s->io, tail->fd, tail->offset, tail->len);
		if (rc < 0)
			s->send_failed = true;
	}
	pthread_mutex_unlock(&s->send_lock);
	return rc;
}

static void put_chunk_header(uint8_t *h, uint16_t flags, uint16_t type,
			     uint64_t cookie, uint32_t length)
{
	put_be32(h, NBD_STRUCTURED_REPLY_MAGIC);
	put_be16(h + 4, flags);
	put_be16(h + 6, type);
	put_be64(h + 8, cookie);
	put_be32(h + 16, length);
}

static int reply_simple(struct session *s, uint64_t cookie, uint32_t error)
{
	uint8_t h[sizeof(struct nbd_simple_reply)];
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(h) };

	put_be32(h, NBD_SIMPLE_REPLY_MAGIC);
	put_be32(h + 4, error);
	put_be64(h + 8, cookie);
	return send_locked(s, &iov, 1, NULL);
}

int reply_status(struct session *s, uint64_t cookie, uint32_t nbd_error,
		 const char *message)
{
	uint8_t h[sizeof(struct nbd_structured_reply) + 6];
	struct iovec iov[2] = { { .iov_base = h } , { 0 } };
	size_t msglen = message ? strnlen(message, 1024) : 0;

	if (!s->structured)
		return reply_simple(s, cookie, nbd_error);
	if (!nbd_error) {
		put_chunk_header(h, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, cookie, 0);
		iov[0].iov_len = sizeof(struct nbd_structured_reply);
		return send_locked(s, iov, 1, NULL);
	}
	put_chunk_header(h, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, cookie, 6 + msglen);
	put_be32(h + 20, nbd_error);
	put_be16(h + 24, msglen);
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)message;
	iov[1].iov_len = msglen;
	return send_locked(s, iov, msglen ? 2 : 1, NULL);
}

/* A successful READ's header, simple or (one chunk for the whole range,
 * which also satisfies DF) structured; its length. */
static size_t put_read_header(const struct session *s, uint8_t *h, uint64_t cookie,
			      uint64_t offset, uint32_t len)
{
	if (!s->structured) {
		put_be32(h, NBD_SIMPLE_REPLY_MAGIC);
		put_be32(h + 4, 0);
		put_be64(h + 8, cookie);
		return sizeof(struct nbd_simple_reply);
	}
	put_chunk_header(h, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, cookie, 8 + len);
	put_be64(h + 20, offset);
	return sizeof(struct nbd_structured_reply) + 8;
}

int reply_read(struct session *s, uint64_t cookie, uint64_t offset,
	       const void *data, uint32_t len)
{
	uint8_t h[sizeof(struct nbd_structured_reply) + 8];
	struct iovec iov[2] = {
		{ .iov_base = h, .iov_len = put_read_header(s, h, cookie, offset, len) },
		{ .iov_base = (void *)data, .iov_len = len },
	};

	return send_locked(s, iov, 2, NULL);
}

/* The header goes out with MSG_MORE and the data follows from fd. */
int reply_read_fd(struct session *s, uint64_t cookie, uint64_t offset,
		  int fd, uint64_t fd_offset, uint32_t len)
{
	uint8_t h[sizeof(struct nbd_structured_reply) + 8];
	struct iovec iov = { .iov_base = h,
			     .iov_len = put_read_header(s, h, cookie, offset, len) };
	struct fd_tail tail = { .fd = fd, .offset = fd_offset, .len = len };

	return send_locked(s, &iov, 1, &tail);
}

int reply_block_status(struct session *s, uint64_t cookie,
		       const struct cnbd_extents *extents)
{
	size_t n = extents_count(extents);
	size_t len = 4 + 8 * n;
	uint8_t *buf = malloc(sizeof(struct nbd_structured_reply) + len);
	struct iovec iov;
	int rc;

	if (!buf)
		return -1;
	put_chunk_header(buf, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, cookie, len);
	put_be32(buf + 20, META_CONTEXT_BASE_ALLOCATION);
	for (size_t i = 0; i < n; i++) {
		const struct cnbd_extent_entry *e = extents_get(extents, i);
		put_be32(buf + 24 + 8 * i, (uint32_t)e->length);
		put_be32(buf + 28 + 8 * i, e->type);
	}
	iov.iov_base = buf;
	iov.iov_len = sizeof(struct nbd_structured_reply) + len;
	rc = send_locked(s, &iov, 1, NULL);
	free(buf);
	return rc;
}
