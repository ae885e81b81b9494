/* SPDX-License-Identifier: MIT */
/*
 * cow's data calls. A request is cut into runs of blocks in one state
 * and each run goes where its blocks are: the base, the overlay, or
 * zeros. A write into a block the overlay does not hold yet copies the
 * block up first (the base's bytes, or zeros), under the block's stripe
 * lock; a write into a block it holds goes straight to the overlay.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "common/pread_full.h"
#include "cow.h"

static const char zeros[COW_MAX_BLOCK];

/* The end of the run of blocks in state s that begins at pos. */
static uint64_t run_end(const struct cow_export *x, uint64_t pos, uint64_t end, uint8_t s)
{
	uint64_t bs = x->g.block_size, next = (pos / bs + 1) * bs;

	while (next < end && cow_state(x, next / bs) == s)
		next += bs;
	return next < end ? next : end;
}

static uint64_t block_end(const struct cow_export *x, uint64_t pos, uint64_t end)
{
	uint64_t next = (pos / x->g.block_size + 1) * x->g.block_size;

	return next < end ? next : end;
}

static int read_overlay(const struct cow_export *x, void *buf, uint32_t len, uint64_t pos)
{
	int rc = pread_full(x->fd, buf, len, x->g.data_offset + pos);

	if (rc > 0) {
		cnbd_error("cow: the overlay ends before offset %llu",
			   (unsigned long long)(pos + len));
		errno = EIO;
		return -1;
	}
	return rc;
}

int cow_pread(void *conn, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct cow_conn *c = conn;
	const struct cow_export *x = c->x;
	uint64_t pos = offset, end = offset + count;
	char *p = buf;

	(void)flags;
	while (pos < end) {
		uint8_t s = cow_state(x, pos / x->g.block_size);
		uint64_t stop = run_end(x, pos, end, s);
		uint32_t len = (uint32_t)(stop - pos);
		int rc = 0;

		if (s == COW_DATA)
			rc = read_overlay(x, p, len, pos);
		else if (s == COW_ZERO)
			memset(p, 0, len);
		else
			rc = cnbd_next_pread(c->next, p, len, pos, 0);
		if (rc < 0)
			return -1;
		p += len;
		pos = stop;
	}
	return 0;
}

/* n bytes of src at in_off of block b, which the overlay may not hold:
 * the whole block goes in, the rest of it from where it was. */
static int write_block(struct cow_conn *c, uint64_t b, uint64_t in_off, const void *src,
		       uint64_t n)
{
	struct cow_export *x = c->x;
	uint64_t start = b * x->g.block_size, len = cow_block_len(&x->g, b);
	pthread_mutex_t *m = &x->sh->stripe[b % COW_STRIPES];
	char *blk = NULL;
	uint8_t s;
	int rc;

	cow_lock(m);
	s = cow_state(x, b);
	if (s == COW_DATA || n == len) {
		rc = pwrite_full(x->fd, src, n, x->g.data_offset + start + in_off);
	} else if (!(blk = malloc(len))) {
		rc = -1;
	} else {
		if (s == COW_ZERO) {
			memset(blk, 0, len);
			rc = 0;
		} else {
			rc = cnbd_next_pread(c->next, blk, (uint32_t)len, start, 0);
		}
		memcpy(blk + in_off, src, n);
		if (!rc)
			rc = pwrite_full(x->fd, blk, len, x->g.data_offset + start);
	}
	/* Only now: a reader that sees COW_DATA finds the data there. */
	if (!rc && s != COW_DATA)
		cow_set_state(x, b, COW_DATA);
	pthread_mutex_unlock(m);
	free(blk);
	return rc;
}

int cow_pwrite(void *conn, const void *buf, uint32_t count, uint64_t offset,
	       uint32_t flags)
{
	struct cow_conn *c = conn;
	struct cow_export *x = c->x;
	uint64_t pos = offset, end = offset + count, bs = x->g.block_size;
	const char *p = buf;

	(void)flags;	/* FUA: the server flushes after the write */
	if (x->readonly) {
		errno = EROFS;
		return -1;
	}
	while (pos < end) {
		uint64_t b = pos / bs, stop;
		int rc;

		if (cow_state(x, b) == COW_DATA) {
			stop = run_end(x, pos, end, COW_DATA);
			rc = pwrite_full(x->fd, p, stop - pos, x->g.data_offset + pos);
		} else {
			stop = block_end(x, pos, end);
			rc = write_block(c, b, pos - b * bs, p, stop - pos);
		}
		if (rc < 0)
			return -1;
		p += stop - pos;
		pos = stop;
	}
	return 0;
}

/* A whole block reads as zeros from now on; its data, if any, is
 * punched out of the overlay. */
static void zero_block(struct cow_export *x, uint64_t b)
{
	pthread_mutex_t *m = &x->sh->stripe[b % COW_STRIPES];
	uint8_t s;

	cow_lock(m);
	s = cow_state(x, b);
	if (s != COW_ZERO)
		cow_set_state(x, b, COW_ZERO);
	/* Failure costs room, never data: the block is unreferenced. */
	if (s == COW_DATA &&
	    fallocate(x->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(x->g.data_offset + b * x->g.block_size),
		      (off_t)cow_block_len(&x->g, b)) < 0)
		errno = 0;
	pthread_mutex_unlock(m);
}

static bool whole_block(const struct cow_export *x, uint64_t pos, uint64_t stop)
{
	uint64_t b = pos / x->g.block_size;

	return pos == b * x->g.block_size && stop - pos == cow_block_len(&x->g, b);
}

/* Zeroing and trimming, recorded in the overlay: whole blocks become
 * COW_ZERO; parts of blocks are written with zeros (zero) or left as
 * they are (trim, which is advisory). */
static int zero_range(struct cow_conn *c, uint32_t count, uint64_t offset, bool trim)
{
	struct cow_export *x = c->x;
	uint64_t pos = offset, end = offset + count;

	if (x->readonly) {
		errno = EROFS;
		return -1;
	}
	while (pos < end) {
		uint64_t b = pos / x->g.block_size, stop = block_end(x, pos, end);

		if (whole_block(x, pos, stop))
			zero_block(x, b);
		else if (!trim && cow_state(x, b) != COW_ZERO &&
			 write_block(c, b, pos - b * x->g.block_size, zeros, stop - pos) < 0)
			return -1;
		pos = stop;
	}
	return 0;
}

int cow_zero(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct cow_conn *c = conn;
	uint64_t end = offset + count;

	/* Fast means the map alone: no part of a block to write. */
	if ((flags & CNBD_FAST_ZERO) &&
	    (!whole_block(c->x, offset, block_end(c->x, offset, end)) ||
	     !whole_block(c->x, end - 1 - (end - 1) % c->x->g.block_size, end))) {
		errno = ENOTSUP;
		return -1;
	}
	return zero_range(c, count, offset, false);
}

int cow_trim(void *conn, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)flags;
	return zero_range(conn, count, offset, true);
}

int cow_flush(void *conn, uint32_t flags)
{
	(void)flags;
	return cow_persist(((struct cow_conn *)conn)->x);
}

/* The base's extents for [pos, stop), which the overlay does not cover. */
static int base_extents(struct cow_conn *c, uint64_t pos, uint64_t stop, uint32_t flags,
			struct cnbd_extents *e)
{
	while (pos < stop) {
		struct cnbd_extents *sub = cnbd_extents_new(pos, stop - pos);
		uint64_t off = pos, len = 0;
		uint32_t type;
		size_t n;
		int rc;

		if (!sub)
			return -1;
		rc = cnbd_next_extents(c->next, (uint32_t)(stop - pos), pos,
				       flags & CNBD_REQ_ONE, sub);
		n = rc < 0 ? 0 : cnbd_extents_count(sub);
		for (size_t i = 0; i < n && rc == 0; i++)
			if (cnbd_extents_get(sub, i, &off, &len, &type) == 0)
				rc = cnbd_add_extent(e, off, len, type);
		cnbd_extents_free(sub);
		if (rc < 0)
			return -1;
		if (!n)		/* nothing said: data, which is always true */
			return cnbd_add_extent(e, pos, stop - pos, 0);
		if (flags & CNBD_REQ_ONE)
			return 0;
		pos = off + len;
	}
	return 0;
}

int cow_extents(void *conn, uint32_t count, uint64_t offset, uint32_t flags,
		struct cnbd_extents *e)
{
	struct cow_conn *c = conn;
	const struct cow_export *x = c->x;
	uint64_t pos = offset, end = offset + count;

	while (pos < end) {
		uint8_t s = cow_state(x, pos / x->g.block_size);
		uint64_t stop = run_end(x, pos, end, s);
		int rc;

		if (s == COW_DATA)
			rc = cnbd_add_extent(e, pos, stop - pos, 0);
		else if (s == COW_ZERO)
			rc = cnbd_add_extent(e, pos, stop - pos,
					     CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO);
		else
			rc = base_extents(c, pos, stop, flags, e);
		if (rc < 0)
			return -1;
		if (flags & CNBD_REQ_ONE)
			break;
		pos = stop;
	}
	return 0;
}
