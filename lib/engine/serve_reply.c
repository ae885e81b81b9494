/* SPDX-License-Identifier: MIT */
/* Writing a request's reply: simple, or structured chunks when negotiated. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cnbd/protocol.h"
#include "engine/reply_batch.h"
#include "engine/serve_reply.h"
#include "proto/messages.h"

/* Data a reply sends from a file descriptor (sendfile) after its iov. */
struct fd_tail {
	int fd;
	uint64_t offset;
	uint32_t len;
};

/* Inline mode: the reply joins the burst's batch, which goes out when no
 * further request is buffered (or before a sendfile tail, or when full). */
static int send_batched(struct session *s, struct iovec *iov, int iovcnt,
			const struct fd_tail *tail, void *owned)
{
	struct reply_batch *b = s->batch;

	if (reply_batch_add(b, &s->io, iov, iovcnt, owned) < 0)
		return -1;
	if (s->more_follows && !tail && b->bytes < REPLY_BATCH_BYTES)
		return 0;
	if (reply_batch_flush(b, &s->io, tail || s->more_follows) < 0)
		return -1;
	return tail ? conn_sendfile(&s->io, tail->fd, tail->offset, tail->len) : 0;
}

static int send_now(struct session *s, struct iovec *iov, int iovcnt,
		    const struct fd_tail *tail, void *owned)
{
	int rc = conn_writev(&s->io, iov, iovcnt, tail || s->more_follows);

	free(owned);
	if (rc == 0 && tail)
		rc = conn_sendfile(&s->io, tail->fd, tail->offset, tail->len);
	return rc;
}

/* The iov, then tail's bytes if any, under the send lock; owned (what an
 * iov points into, or NULL) is freed once sent. A failure midway leaves
 * the stream unusable: the session is marked failed and ends. */
static int send_locked(struct session *s, struct iovec *iov, int iovcnt,
		       const struct fd_tail *tail, void *owned)
{
	int rc;

	pthread_mutex_lock(&s->send_lock);
	if (s->send_failed) {
		free(owned);
		errno = EPIPE;
		rc = -1;
	} else if (s->batch) {
		rc = send_batched(s, iov, iovcnt, tail, owned);
	} else {
		rc = send_now(s, iov, iovcnt, tail, owned);
	}
	if (rc < 0)
		s->send_failed = true;
	pthread_mutex_unlock(&s->send_lock);
	return rc;
}

int reply_flush(struct session *s)
{
	int rc = 0;

	if (!s->batch)
		return 0;
	pthread_mutex_lock(&s->send_lock);
	if (s->send_failed)
		reply_batch_flush(s->batch, NULL, false);
	else if (reply_batch_flush(s->batch, &s->io, false) < 0)
		rc = -1;
	if (rc < 0)
		s->send_failed = true;
	pthread_mutex_unlock(&s->send_lock);
	return rc;
}

static int reply_simple(struct session *s, uint64_t cookie, uint32_t error)
{
	uint8_t h[NBD_SIMPLE_REPLY_SIZE];
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(h) };

	proto_simple_reply_encode(h, error, cookie);
	return send_locked(s, &iov, 1, NULL, NULL);
}

/* Success without data (and DONE), or an error with a message. */
static int reply_status(struct session *s, uint64_t cookie, uint32_t nbd_error,
			const char *message)
{
	uint8_t h[NBD_ERROR_CHUNK_SIZE];
	struct iovec iov[2] = { { .iov_base = h } , { 0 } };
	size_t msglen = message ? strnlen(message, 1024) : 0;

	if (!s->structured)
		return reply_simple(s, cookie, nbd_error);
	if (!nbd_error) {
		proto_chunk_encode(h, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, cookie, 0);
		iov[0].iov_len = NBD_CHUNK_HEADER_SIZE;
		return send_locked(s, iov, 1, NULL, NULL);
	}
	proto_error_chunk_encode(h, NBD_REPLY_FLAG_DONE, cookie, nbd_error, msglen);
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)message;
	iov[1].iov_len = msglen;
	return send_locked(s, iov, msglen ? 2 : 1, NULL, NULL);
}

/* A successful READ's header, simple or (one chunk for the whole range,
 * which also satisfies DF) structured; its length. */
static size_t put_read_header(const struct session *s, uint8_t *h, uint64_t cookie,
			      uint64_t offset, uint32_t len)
{
	if (!s->structured) {
		proto_simple_reply_encode(h, 0, cookie);
		return NBD_SIMPLE_REPLY_SIZE;
	}
	proto_data_chunk_encode(h, NBD_REPLY_FLAG_DONE, cookie, offset, len);
	return NBD_DATA_CHUNK_SIZE;
}

/* Takes data (malloc'd). */
static int reply_read(struct session *s, uint64_t cookie, uint64_t offset,
		      void *data, uint32_t len)
{
	uint8_t h[NBD_DATA_CHUNK_SIZE];
	struct iovec iov[2] = {
		{ .iov_base = h, .iov_len = put_read_header(s, h, cookie, offset, len) },
		{ .iov_base = data, .iov_len = len },
	};

	return send_locked(s, iov, 2, NULL, data);
}

/* The header goes out with MSG_MORE and the data follows from fd. */
static int reply_read_fd(struct session *s, uint64_t cookie, uint64_t offset,
			 int fd, uint64_t fd_offset, uint32_t len)
{
	uint8_t h[NBD_DATA_CHUNK_SIZE];
	struct iovec iov = { .iov_base = h,
			     .iov_len = put_read_header(s, h, cookie, offset, len) };
	struct fd_tail tail = { .fd = fd, .offset = fd_offset, .len = len };

	return send_locked(s, &iov, 1, &tail, NULL);
}

static int reply_block_status(struct session *s, uint64_t cookie,
			      const struct cnbd_extents *extents)
{
	size_t n = extents_count(extents);
	size_t len = NBD_STATUS_CHUNK_SIZE + NBD_EXTENT_SIZE * n;
	uint8_t *buf = malloc(len), *p;
	struct iovec iov;

	if (!buf)
		return -1;
	proto_status_chunk_encode(buf, NBD_REPLY_FLAG_DONE, cookie,
				  META_CONTEXT_BASE_ALLOCATION, n);
	p = buf + NBD_STATUS_CHUNK_SIZE;
	for (size_t i = 0; i < n; i++, p += NBD_EXTENT_SIZE) {
		const struct cnbd_extent_entry *e = extents_get(extents, i);

		proto_extent_encode(p, (uint32_t)e->length, e->type);
	}
	iov.iov_base = buf;
	iov.iov_len = len;
	return send_locked(s, &iov, 1, NULL, buf);
}

uint64_t serve_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int send_kind(struct session *s, const struct request *r, struct reply *rp)
{
	void *data = rp->data;

	switch (rp->kind) {
	case REPLY_DATA:
		rp->data = NULL;
		return reply_read(s, r->hdr.cookie, r->hdr.offset, data, r->hdr.count);
	case REPLY_DATA_FD:
		return reply_read_fd(s, r->hdr.cookie, r->hdr.offset, rp->fd, rp->fd_offset,
				     r->hdr.count);
	case REPLY_EXTENTS:
		return reply_block_status(s, r->hdr.cookie, rp->extents);
	case REPLY_ERROR:
		return reply_status(s, r->hdr.cookie, rp->error, rp->message);
	case REPLY_DONE:
		break;
	}
	return reply_status(s, r->hdr.cookie, 0, NULL);
}

/* Every request is answered here, so here it is counted (the owner's
 * statistics), once its reply went out or could not (in inline mode:
 * joined the burst's batch, sent within the same burst). */
int reply_send(struct session *s, const struct request *r, struct reply *rp)
{
	int rc = send_kind(s, r, rp);

	if (s->hooks->request_done && r->start_ns)
		s->hooks->request_done(s->hooks->ctx, r->hdr.type, r->hdr.count,
				       rp->kind == REPLY_ERROR ? rp->error : 0,
				       serve_now_ns() - r->start_ns);
	return rc;
}
