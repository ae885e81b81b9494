/* SPDX-License-Identifier: MIT */
/*
 * Checking a request against the spec and the export, then running it.
 * The server, not the backend, owns the protocol's promises: ranges,
 * read-only, FUA (emulated by a flush when the backend cannot), zeroing
 * and CACHE emulated where a backend lacks them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnbd/protocol.h"
#include "engine/extents.h"
#include "common/log.h"
#include "engine/serve_reply.h"
#include "engine/serve_request.h"
#include "proto/names.h"
#include "proto/nbd_errno.h"

#define ZERO_CHUNK	(1024 * 1024)	/* writing zeros by hand, a piece at a time */

static uint16_t allowed_flags(const struct session *s, uint16_t type)
{
	switch (type) {
	case NBD_CMD_READ:
		return NBD_CMD_FLAG_FUA | (s->structured ? NBD_CMD_FLAG_DF : 0);
	case NBD_CMD_WRITE:
	case NBD_CMD_TRIM:
	case NBD_CMD_FLUSH:
	case NBD_CMD_CACHE:
		return NBD_CMD_FLAG_FUA;
	case NBD_CMD_WRITE_ZEROES:
		return NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE |
		       ((s->tflags & NBD_FLAG_SEND_FAST_ZERO) ? NBD_CMD_FLAG_FAST_ZERO : 0);
	case NBD_CMD_BLOCK_STATUS:
		return NBD_CMD_FLAG_REQ_ONE;
	default:
		return 0;
	}
}

static bool is_write(uint16_t type)
{
	return type == NBD_CMD_WRITE || type == NBD_CMD_TRIM ||
	       type == NBD_CMD_WRITE_ZEROES;
}

uint32_t request_check(const struct session *s, const struct request *r)
{
	bool ranged = r->type != NBD_CMD_FLUSH;

	if (r->type > NBD_CMD_BLOCK_STATUS || r->type == NBD_CMD_DISC)
		return NBD_EINVAL;
	if (r->flags & ~allowed_flags(s, r->type))
		return NBD_EINVAL;
	if (r->type == NBD_CMD_FLUSH && !(s->tflags & NBD_FLAG_SEND_FLUSH))
		return NBD_EINVAL;
	if (r->type == NBD_CMD_BLOCK_STATUS && !s->meta_base_allocation)
		return NBD_EINVAL;
	if (is_write(r->type) && (s->tflags & NBD_FLAG_READ_ONLY))
		return NBD_EPERM;
	if (r->type == NBD_CMD_TRIM && !(s->tflags & NBD_FLAG_SEND_TRIM))
		return NBD_EINVAL;
	if (!ranged)
		return 0;
	if (r->count == 0)
		return NBD_EINVAL;
	if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) &&
	    r->count > s->max_payload)
		return NBD_EINVAL;
	if (r->offset > s->size || r->count > s->size - r->offset)
		return (r->type == NBD_CMD_WRITE || r->type == NBD_CMD_WRITE_ZEROES) ?
			NBD_ENOSPC : NBD_EINVAL;
	return 0;
}

/* FUA for a backend that has no native FUA: flush after the write. */
static int finish_fua(struct session *s, const struct request *r)
{
	if (!(r->flags & NBD_CMD_FLAG_FUA) || !s->emulate_fua || !s->be->flush)
		return 0;
	return s->be->flush(s->conn, 0);
}

static uint32_t backend_flags(const struct session *s, const struct request *r)
{
	uint32_t f = 0;

	if ((r->flags & NBD_CMD_FLAG_FUA) && !s->emulate_fua)
		f |= CNBD_FUA;
	if (r->type == NBD_CMD_WRITE_ZEROES && !(r->flags & NBD_CMD_FLAG_NO_HOLE))
		f |= CNBD_MAY_TRIM;
	if (r->flags & NBD_CMD_FLAG_FAST_ZERO)
		f |= CNBD_FAST_ZERO;
	if (r->flags & NBD_CMD_FLAG_REQ_ONE)
		f |= CNBD_REQ_ONE;
	return f;
}

static int write_zeros_by_hand(struct session *s, const struct request *r)
{
	uint64_t done = 0;
	void *zeros = calloc(1, r->count < ZERO_CHUNK ? r->count : ZERO_CHUNK);

	if (!zeros)
		return -1;
	while (done < r->count) {
		uint32_t n = r->count - done < ZERO_CHUNK ? r->count - done : ZERO_CHUNK;
		if (s->be->pwrite(s->conn, zeros, n, r->offset + done, 0) < 0) {
			free(zeros);
			return -1;
		}
		done += n;
	}
	free(zeros);
	return 0;
}

static int do_zero(struct session *s, const struct request *r)
{
	bool fast = r->flags & NBD_CMD_FLAG_FAST_ZERO;

	if (s->be->zero) {
		if (s->be->zero(s->conn, r->count, r->offset, backend_flags(s, r)) == 0)
			return 0;
		if ((errno != ENOTSUP && errno != EOPNOTSUPP) || fast)
			return -1;
	} else if (fast) {
		errno = ENOTSUP;
		return -1;
	}
	return write_zeros_by_hand(s, r);
}

/* CACHE without a backend prefetch: read and drop, a piece at a time. */
static int do_cache(struct session *s, const struct request *r)
{
	uint64_t done = 0;
	void *buf;

	if (s->be->cache)
		return s->be->cache(s->conn, r->count, r->offset, 0);
	buf = malloc(r->count < ZERO_CHUNK ? r->count : ZERO_CHUNK);
	if (!buf)
		return -1;
	while (done < r->count) {
		uint32_t n = r->count - done < ZERO_CHUNK ? r->count - done : ZERO_CHUNK;
		if (s->be->pread(s->conn, buf, n, r->offset + done, 0) < 0) {
			free(buf);
			return -1;
		}
		done += n;
	}
	free(buf);
	return 0;
}

static int do_block_status(struct session *s, const struct request *r)
{
	bool req_one = r->flags & NBD_CMD_FLAG_REQ_ONE;
	struct cnbd_extents *ext = extents_new(r->offset, r->count, req_one);
	int rc;

	if (!ext)
		return -1;
	if (s->be->extents) {
		rc = s->be->extents(s->conn, r->count, r->offset, backend_flags(s, r), ext);
	} else {
		rc = cnbd_add_extent(ext, r->offset, r->count, 0);
	}
	if (rc == 0 && extents_count(ext) == 0) {
		cnbd_error("backend %s reported no extent at %llu", s->be->name,
			   (unsigned long long)r->offset);
		errno = EIO;
		rc = -1;
	}
	if (rc == 0)
		rc = reply_block_status(s, r->cookie, ext) < 0 ? -2 : 0;
	extents_free(ext);
	return rc;
}

/* Below this a copy through a buffer costs no more than sendfile's
 * page references, and the buffer is usually warm (docs/performance.md). */
#define ZERO_COPY_MIN	(64 * 1024)

/* A large read from storage that lives in memory goes from the backend's
 * descriptor to the socket (cnbd_backend.read_fd), not through a buffer.
 * 0: replied; -2: the reply could not be sent; 1: does not apply here. */
static int read_zero_copy(struct session *s, const struct request *r)
{
	uint64_t fd_offset;
	int fd;

	if (!s->be->read_fd || s->io.tls || r->count < ZERO_COPY_MIN)
		return 1;
	if (s->be->read_fd(s->conn, r->count, r->offset, &fd, &fd_offset) < 0)
		return 1;
	return reply_read_fd(s, r->cookie, r->offset, fd, fd_offset, r->count) < 0 ? -2 : 0;
}

static int do_read(struct session *s, const struct request *r)
{
	void *buf;
	int rc = read_zero_copy(s, r);

	if (rc <= 0)
		return rc;
	buf = malloc(r->count);
	if (!buf)
		return -1;
	rc = s->be->pread(s->conn, buf, r->count, r->offset, 0);
	if (rc == 0)
		rc = reply_read(s, r->cookie, r->offset, buf, r->count) < 0 ? -2 : 0;
	free(buf);
	return rc;
}

/* 0 done and replied (read, block status) or to be acknowledged; -1
 * failed with errno; -2 the reply could not be sent. */
static int run(struct session *s, struct request *r)
{
	const struct cnbd_backend *be = s->be;

	switch (r->type) {
	case NBD_CMD_READ:
		return do_read(s, r);
	case NBD_CMD_WRITE:
		if (be->pwrite(s->conn, r->payload, r->count, r->offset, backend_flags(s, r)) < 0)
			return -1;
		return finish_fua(s, r);
	case NBD_CMD_FLUSH:
		return be->flush(s->conn, 0);
	case NBD_CMD_TRIM:
		if (be->trim(s->conn, r->count, r->offset, backend_flags(s, r)) < 0)
			return -1;
		return finish_fua(s, r);
	case NBD_CMD_WRITE_ZEROES:
		if (do_zero(s, r) < 0)
			return -1;
		return finish_fua(s, r);
	case NBD_CMD_CACHE:
		return do_cache(s, r);
	case NBD_CMD_BLOCK_STATUS:
		return do_block_status(s, r);
	}
	errno = EINVAL;
	return -1;
}

/* The reply to a request that ran without data to send: success, or its
 * error with a message. */
static int reply_after(struct session *s, const struct request *r, int rc)
{
	char msg[256];

	if (rc == 0)
		return reply_status(s, r->cookie, 0, NULL);
	if (!errno)
		errno = EIO;
	/* A fast-zero refusal is the protocol working, not a failure. */
	if (!(r->type == NBD_CMD_WRITE_ZEROES && errno == ENOTSUP))
		log_info("%s of %u bytes at %llu failed: %s", nbd_cmd_name(r->type),
			 r->count, (unsigned long long)r->offset, strerror(errno));
	snprintf(msg, sizeof(msg), "%s: %s", nbd_cmd_name(r->type), strerror(errno));
	return reply_status(s, r->cookie, nbd_error_from_errno(errno), msg);
}

/* What a CNBD_NOWAIT call that came back EAGAIN (or did not apply)
 * looks like: nothing done, nothing sent. */
static bool would_block(int rc)
{
	return rc < 0 && errno == EAGAIN;
}

int request_try_nowait(struct session *s, struct request *r)
{
	uint32_t flags = backend_flags(s, r) | CNBD_NOWAIT;
	void *buf = NULL;
	int rc;

	if (r->type == NBD_CMD_WRITE && !(r->flags & NBD_CMD_FLAG_FUA)) {
		errno = 0;
		rc = s->be->pwrite(s->conn, r->payload, r->count, r->offset, flags);
		if (would_block(rc))
			return 0;
		reply_after(s, r, rc);
		return 1;
	}
	if (r->type != NBD_CMD_READ)
		return 0;
	if (read_zero_copy(s, r) <= 0)
		return 1;
	if (!(buf = malloc(r->count)))
		return 0;
	errno = 0;
	rc = s->be->pread(s->conn, buf, r->count, r->offset, flags);
	if (would_block(rc)) {
		free(buf);
		return 0;
	}
	if (rc == 0)
		reply_read(s, r->cookie, r->offset, buf, r->count);
	else
		reply_after(s, r, rc);
	free(buf);
	return 1;
}

int request_execute(struct session *s, struct request *r)
{
	int rc;

	errno = 0;
	rc = run(s, r);
	if (rc == -2)
		return -1;
	if (rc == 0 && (r->type == NBD_CMD_READ || r->type == NBD_CMD_BLOCK_STATUS))
		return 0;	/* replied with the data */
	return reply_after(s, r, rc);
}
