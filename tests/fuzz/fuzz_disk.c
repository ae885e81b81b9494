/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_disk.h"

int fuzz_disk_init(struct fuzz_disk *d, uint64_t size)
{
	pthread_mutex_init(&d->lock, NULL);
	d->size = size;
	d->data = calloc(1, size);
	d->allocated = calloc(1, size / FUZZ_DISK_BLOCK + 1);
	return d->data && d->allocated ? 0 : -1;
}

void fuzz_disk_reset(struct fuzz_disk *d)
{
	pthread_mutex_lock(&d->lock);
	memset(d->allocated, 0, d->size / FUZZ_DISK_BLOCK + 1);
	pthread_mutex_unlock(&d->lock);
}

/*
 * The last block of every disk fails with EIO, and a range that starts
 * in the block before it fails with ENOSPC: two errno values, so that the
 * engine's mapping and its error replies (simple and structured) run.
 * The engine promises a backend never sees a range past the end nor
 * one of length 0 (docs/backends.md): breaking that aborts, and the
 * fuzzer reports it.
 */
static int check(struct fuzz_disk *d, uint32_t count, uint64_t offset)
{
	if (!count || offset > d->size || count > d->size - offset)
		abort();
	if (offset + count > d->size - FUZZ_DISK_BLOCK) {
		errno = EIO;
		return -1;
	}
	if (offset / FUZZ_DISK_BLOCK == d->size / FUZZ_DISK_BLOCK - 2) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

static void mark(struct fuzz_disk *d, uint32_t count, uint64_t offset, uint8_t v)
{
	for (uint64_t b = offset / FUZZ_DISK_BLOCK;
	     count && b <= (offset + count - 1) / FUZZ_DISK_BLOCK; b++)
		d->allocated[b] = v;
}

/*
 * CNBD_NOWAIT (the pool disk declares CNBD_BACKEND_NOWAIT): a range that
 * starts in an odd block "would block", so the engine's inline try and
 * its hand-off to an executor both run. A backend that did not declare
 * it must never be passed the flag.
 */
static int would_block(const struct fuzz_disk *d, uint64_t offset, uint32_t flags)
{
	(void)d;
	if (!(flags & CNBD_NOWAIT))
		return 0;
	if ((offset / FUZZ_DISK_BLOCK) & 1) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
}

static void no_nowait(uint32_t flags)
{
	if (flags & CNBD_NOWAIT)
		abort();
}

static int64_t fd_get_size(void *conn)
{
	return (int64_t)((struct fuzz_disk *)conn)->size;
}

static int fd_pread(void *conn, void *buf, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	struct fuzz_disk *d = conn;

	if (check(d, count, offset) < 0 || would_block(d, offset, flags) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	memcpy(buf, d->data + offset, count);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int fd_pwrite(void *conn, const void *buf, uint32_t count,
		     uint64_t offset, uint32_t flags)
{
	struct fuzz_disk *d = conn;

	if (check(d, count, offset) < 0 || would_block(d, offset, flags) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	memcpy(d->data + offset, buf, count);
	mark(d, count, offset, 1);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int fd_flush(void *conn, uint32_t flags)
{
	(void)conn;
	(void)flags;
	return 0;
}

static int fd_trim(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct fuzz_disk *d = conn;

	(void)flags;
	if (check(d, count, offset) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	memset(d->data + offset, 0, count);
	mark(d, count, offset, 0);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int fd_zero(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct fuzz_disk *d = conn;

	/* FAST_ZERO without MAY_TRIM "would be slow": the refusal path. */
	if ((flags & CNBD_FAST_ZERO) && !(flags & CNBD_MAY_TRIM)) {
		errno = ENOTSUP;
		return -1;
	}
	if (check(d, count, offset) < 0)
		return -1;
	pthread_mutex_lock(&d->lock);
	memset(d->data + offset, 0, count);
	mark(d, count, offset, (flags & CNBD_MAY_TRIM) ? 0 : 1);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int fd_cache(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)flags;
	return check(conn, count, offset);
}

/* One extent per run of equal blocks, from offset on, never more than
 * the request asks for plus one block: the engine clips the rest. */
static int fd_extents(void *conn, uint32_t count, uint64_t offset,
		      uint32_t flags, struct cnbd_extents *e)
{
	struct fuzz_disk *d = conn;
	uint64_t end = offset + count, pos = offset;
	int rc = 0;

	(void)flags;
	pthread_mutex_lock(&d->lock);
	while (pos < end && pos < d->size) {
		uint64_t b = pos / FUZZ_DISK_BLOCK, next = (b + 1) * FUZZ_DISK_BLOCK;
		uint8_t v = d->allocated[b];

		while (next < d->size && next < end &&
		       d->allocated[next / FUZZ_DISK_BLOCK] == v)
			next += FUZZ_DISK_BLOCK;
		if (next > d->size)
			next = d->size;
		rc = cnbd_add_extent(e, pos, next - pos,
				     v ? 0 : CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO);
		if (rc < 0)
			break;
		pos = next;
	}
	pthread_mutex_unlock(&d->lock);
	return rc < 0 ? -1 : 0;
}

static int fd_pread_inline(void *conn, void *buf, uint32_t count,
			   uint64_t offset, uint32_t flags)
{
	no_nowait(flags);
	return fd_pread(conn, buf, count, offset, flags);
}

static int fd_pwrite_inline(void *conn, const void *buf, uint32_t count,
			    uint64_t offset, uint32_t flags)
{
	no_nowait(flags);
	return fd_pwrite(conn, buf, count, offset, flags);
}

const struct cnbd_backend fuzz_disk_inline = {
	CNBD_BACKEND_HEADER,
	.name = "fuzz-inline",
	.flags = CNBD_BACKEND_NONBLOCKING | CNBD_BACKEND_PARALLEL |
		 CNBD_BACKEND_MULTI_CONN,
	.get_size = fd_get_size,
	.pread = fd_pread_inline,
	.pwrite = fd_pwrite_inline,
	.flush = fd_flush,
	.trim = fd_trim,
	.zero = fd_zero,
	.cache = fd_cache,
	.extents = fd_extents,
};

const struct cnbd_backend fuzz_disk_pool = {
	CNBD_BACKEND_HEADER,
	.name = "fuzz-pool",
	.flags = CNBD_BACKEND_PARALLEL | CNBD_BACKEND_NATIVE_FUA |
		 CNBD_BACKEND_NOWAIT,
	.get_size = fd_get_size,
	.pread = fd_pread,
	.pwrite = fd_pwrite,
	.flush = fd_flush,
	.trim = fd_trim,
};
