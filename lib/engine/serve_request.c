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
	bool ranged = r->hdr.type != NBD_CMD_FLUSH;

	if (r->hdr.type > NBD_CMD_BLOCK_STATUS || r->hdr.type == NBD_CMD_DISC)
		return NBD_EINVAL;
	if (r->hdr.flags & ~allowed_flags(s, r->hdr.type))
		return NBD_EINVAL;
	if (r->hdr.type == NBD_CMD_FLUSH && !(s->tflags & NBD_FLAG_SEND_FLUSH))
		return NBD_EINVAL;
	if (r->hdr.type == NBD_CMD_BLOCK_STATUS && !s->meta_base_allocation)
		return NBD_EINVAL;
	if (is_write(r->hdr.type) && (s->tflags & NBD_FLAG_READ_ONLY))
		return NBD_EPERM;
	if (r->hdr.type == NBD_CMD_TRIM && !(s->tflags & NBD_FLAG_SEND_TRIM))
		return NBD_EINVAL;
	if (!ranged)
		return 0;
	if (r->hdr.count == 0)
		return NBD_EINVAL;
	if ((r->hdr.type == NBD_CMD_READ || r->hdr.type == NBD_CMD_WRITE) &&
	    r->hdr.count > s->max_payload)
		return NBD_EINVAL;
	if (r->hdr.offset > s->size || r->hdr.count > s->size - r->hdr.offset)
		return (r->hdr.type == NBD_CMD_WRITE || r->hdr.type == NBD_CMD_WRITE_ZEROES) ?
			NBD_ENOSPC : NBD_EINVAL;
	return 0;
}

/* What running a request came to. */
enum run_result {
	RUN_DONE,		/* succeeded: the reply says what it returns */
	RUN_FAILED,		/* failed, errno says why: the reply is an error */
	RUN_WOULD_BLOCK,	/* asked with CNBD_NOWAIT: nothing done, nothing to send */
};

/* A backend call's 0 or -1 (the ABI); with nowait, EAGAIN is not a
 * failure but "it would have had to wait". */
static enum run_result ran(int rc, bool nowait)
{
	if (rc >= 0)
		return RUN_DONE;
	return nowait && errno == EAGAIN ? RUN_WOULD_BLOCK : RUN_FAILED;
}

/* FUA for a backend that has no native FUA: flush after the write. */
static int finish_fua(struct session *s, const struct request *r)
{
	if (!(r->hdr.flags & NBD_CMD_FLAG_FUA) || !s->emulate_fua || !s->be->flush)
		return 0;
	return s->be->flush(s->conn, 0);
}

static uint32_t backend_flags(const struct session *s, const struct request *r)
{
	uint32_t f = 0;

	if ((r->hdr.flags & NBD_CMD_FLAG_FUA) && !s->emulate_fua)
		f |= CNBD_FUA;
	if (r->hdr.type == NBD_CMD_WRITE_ZEROES && !(r->hdr.flags & NBD_CMD_FLAG_NO_HOLE))
		f |= CNBD_MAY_TRIM;
	if (r->hdr.flags & NBD_CMD_FLAG_FAST_ZERO)
		f |= CNBD_FAST_ZERO;
	if (r->hdr.flags & NBD_CMD_FLAG_REQ_ONE)
		f |= CNBD_REQ_ONE;
	return f;
}

static int write_zeros_by_hand(struct session *s, const struct request *r)
{
	uint64_t done = 0;
	void *zeros = calloc(1, r->hdr.count < ZERO_CHUNK ? r->hdr.count : ZERO_CHUNK);

	if (!zeros)
		return -1;
	while (done < r->hdr.count) {
		uint32_t n = r->hdr.count - done < ZERO_CHUNK ? r->hdr.count - done : ZERO_CHUNK;
		if (s->be->pwrite(s->conn, zeros, n, r->hdr.offset + done, 0) < 0) {
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
	bool fast = r->hdr.flags & NBD_CMD_FLAG_FAST_ZERO;

	if (s->be->zero) {
		if (s->be->zero(s->conn, r->hdr.count, r->hdr.offset, backend_flags(s, r)) == 0)
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
		return s->be->cache(s->conn, r->hdr.count, r->hdr.offset, 0);
	buf = malloc(r->hdr.count < ZERO_CHUNK ? r->hdr.count : ZERO_CHUNK);
	if (!buf)
		return -1;
	while (done < r->hdr.count) {
		uint32_t n = r->hdr.count - done < ZERO_CHUNK ? r->hdr.count - done : ZERO_CHUNK;
		if (s->be->pread(s->conn, buf, n, r->hdr.offset + done, 0) < 0) {
			free(buf);
			return -1;
		}
		done += n;
	}
	free(buf);
	return 0;
}

static enum run_result do_block_status(struct session *s, const struct request *r,
				       struct reply *rp)
{
	bool req_one = r->hdr.flags & NBD_CMD_FLAG_REQ_ONE;
	int rc;

	rp->extents = extents_new(r->hdr.offset, r->hdr.count, req_one);
	if (!rp->extents)
		return RUN_FAILED;
	if (s->be->extents)
		rc = s->be->extents(s->conn, r->hdr.count, r->hdr.offset, backend_flags(s, r),
				    rp->extents);
	else
		rc = cnbd_add_extent(rp->extents, r->hdr.offset, r->hdr.count, 0);
	if (rc == 0 && extents_count(rp->extents) == 0) {
		cnbd_error("backend %s reported no extent at %llu", s->be->name,
			   (unsigned long long)r->hdr.offset);
		errno = EIO;
		rc = -1;
	}
	rp->kind = REPLY_EXTENTS;
	return ran(rc, false);
}

/* Below this a copy through a buffer costs no more than sendfile's
 * page references, and the buffer is usually warm (docs/performance.md). */
#define ZERO_COPY_MIN	(64 * 1024)

/* A large read from storage that lives in memory goes from the backend's
 * descriptor to the socket (cnbd_backend.read_fd), not through a buffer:
 * in plaintext or under kernel TLS, not while GnuTLS encrypts.
 * false: does not apply here, read into a buffer. */
static bool read_zero_copy(struct session *s, const struct request *r, struct reply *rp)
{
	if (!s->be->read_fd || s->io.tls || r->hdr.count < ZERO_COPY_MIN)
		return false;
	if (s->be->read_fd(s->conn, r->hdr.count, r->hdr.offset, &rp->fd, &rp->fd_offset) < 0)
		return false;
	rp->kind = REPLY_DATA_FD;
	return true;
}

static enum run_result do_read(struct session *s, const struct request *r, bool nowait,
			       struct reply *rp)
{
	/* Only the CNBD_NOWAIT try passes the request's flags to pread. */
	uint32_t flags = nowait ? backend_flags(s, r) | CNBD_NOWAIT : 0;

	if (read_zero_copy(s, r, rp))
		return RUN_DONE;
	rp->data = malloc(r->hdr.count);
	if (!rp->data)
		return nowait ? RUN_WOULD_BLOCK : RUN_FAILED;	/* an executor tries again */
	rp->kind = REPLY_DATA;
	return ran(s->be->pread(s->conn, rp->data, r->hdr.count, r->hdr.offset, flags), nowait);
}

/* Runs r; nowait (READ and WRITE only) asks the backend not to wait. */
static enum run_result run(struct session *s, struct request *r, bool nowait,
			   struct reply *rp)
{
	const struct cnbd_backend *be = s->be;
	enum run_result rc;

	switch (r->hdr.type) {
	case NBD_CMD_READ:
		return do_read(s, r, nowait, rp);
	case NBD_CMD_WRITE:
		rc = ran(be->pwrite(s->conn, r->payload, r->hdr.count, r->hdr.offset,
				    backend_flags(s, r) | (nowait ? CNBD_NOWAIT : 0)), nowait);
		return rc == RUN_DONE ? ran(finish_fua(s, r), false) : rc;
	case NBD_CMD_FLUSH:
		return ran(be->flush(s->conn, 0), false);
	case NBD_CMD_TRIM:
		if (be->trim(s->conn, r->hdr.count, r->hdr.offset, backend_flags(s, r)) < 0)
			return RUN_FAILED;
		return ran(finish_fua(s, r), false);
	case NBD_CMD_WRITE_ZEROES:
		if (do_zero(s, r) < 0)
			return RUN_FAILED;
		return ran(finish_fua(s, r), false);
	case NBD_CMD_CACHE:
		return ran(do_cache(s, r), false);
	case NBD_CMD_BLOCK_STATUS:
		return do_block_status(s, r, rp);
	}
	errno = EINVAL;
	return RUN_FAILED;
}

/* A failed request's reply: its errno as an NBD error, with a message. */
static int answer_error(struct session *s, const struct request *r, struct reply *rp)
{
	char msg[256];

	if (!errno)
		errno = EIO;
	/* A fast-zero refusal is the protocol working, not a failure. */
	if (!(r->hdr.type == NBD_CMD_WRITE_ZEROES && errno == ENOTSUP))
		log_info("%s of %u bytes at %llu failed: %s", nbd_cmd_name(r->hdr.type),
			 r->hdr.count, (unsigned long long)r->hdr.offset, strerror(errno));
	snprintf(msg, sizeof(msg), "%s: %s", nbd_cmd_name(r->hdr.type), strerror(errno));
	rp->kind = REPLY_ERROR;
	rp->error = nbd_error_from_errno(errno);
	rp->message = msg;
	return reply_send(s, r, rp);
}

/* Sends what run() came to, then frees what the reply pointed into. */
static int answer(struct session *s, const struct request *r, enum run_result rc,
		  struct reply *rp)
{
	int sent = rc == RUN_FAILED ? answer_error(s, r, rp) : reply_send(s, r, rp);

	free(rp->data);
	if (rp->extents)
		extents_free(rp->extents);
	return sent;
}

bool request_try_nowait(struct session *s, struct request *r)
{
	struct reply rp = { .kind = REPLY_DONE };
	enum run_result rc;

	if (!(r->hdr.type == NBD_CMD_READ ||
	      (r->hdr.type == NBD_CMD_WRITE && !(r->hdr.flags & NBD_CMD_FLAG_FUA))))
		return false;
	errno = 0;
	rc = run(s, r, true, &rp);
	if (rc == RUN_WOULD_BLOCK) {
		free(rp.data);
		return false;
	}
	answer(s, r, rc, &rp);
	return true;
}

int request_execute(struct session *s, struct request *r)
{
	struct reply rp = { .kind = REPLY_DONE };

	errno = 0;
	return answer(s, r, run(s, r, false, &rp), &rp);
}
