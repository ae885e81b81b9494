/* SPDX-License-Identifier: MIT */
/*
 * rbd: BLOCK_STATUS from librbd's allocation map.
 *
 * rbd_diff_iterate2 against no snapshot ("from the beginning of time")
 * lists the extents that hold data, parent included; whole_object=false
 * asks for byte ranges inside each object rather than whole 4 MiB
 * objects. What it does not list was never written, or was discarded:
 * a hole that reads as zeros.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rbd.h"

/* One call looks at no more than this much of the image. Objects that
 * exist cost an OSD round trip each; the client asks again from where
 * the answer stopped. */
#define MAX_SPAN	(1ULL << 30)

struct span {
	uint64_t off, len;
	bool data;
};

struct collect {
	struct span *v;
	size_t n, cap;
};

static int collect_one(uint64_t off, size_t len, int exists, void *arg)
{
	struct collect *c = arg;
	struct span *v;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		v = realloc(c->v, c->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
	}
	c->v[c->n++] = (struct span){ .off = off, .len = len, .data = exists };
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

#define HOLE	(CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO)

/* The spans, in order, with holes between them, from start to end. */
static int report(struct collect *c, uint64_t start, uint64_t end,
		  struct cnbd_extents *e)
{
	uint64_t pos = start, from, to;

	qsort(c->v, c->n, sizeof(*c->v), by_offset);
	for (size_t i = 0; i < c->n; i++) {
		from = c->v[i].off > pos ? c->v[i].off : pos;
		to = c->v[i].off + c->v[i].len;
		if (to > end)
			to = end;
		if (to <= from)
			continue;
		if (from > pos && cnbd_add_extent(e, pos, from - pos, HOLE) < 0)
			return -1;
		if (cnbd_add_extent(e, from, to - from, c->v[i].data ? 0 : HOLE) < 0)
			return -1;
		pos = to;
	}
	if (pos < end && cnbd_add_extent(e, pos, end - pos, HOLE) < 0)
		return -1;
	return 0;
}

int rbd_backend_extents(void *conn, uint32_t count, uint64_t offset,
			uint32_t flags, struct cnbd_extents *extents)
{
	struct rbd_conn *c = conn;
	struct collect col = { 0 };
	uint64_t size, len = count;
	int r;

	(void)flags;	/* one extent costs the same query as many */
	r = rbd_get_size(c->image, &size);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	if (offset >= size) {
		errno = EINVAL;
		return -1;
	}
	if (len > MAX_SPAN)
		len = MAX_SPAN;
	if (len > size - offset)
		len = size - offset;
	r = rbd_diff_iterate2(c->image, NULL, offset, len, 1, 0, collect_one,
			      &col);
	if (r < 0) {
		free(col.v);
		cnbd_error("rbd: cannot read the allocation map of %s at %llu: %s",
			   c->exp->image, (unsigned long long)offset,
			   strerror(-r));
		errno = -r;
		return -1;
	}
	r = report(&col, offset, offset + len, extents);
	free(col.v);
	return r;
}
