/* SPDX-License-Identifier: MIT */
/*
 * Backends report allocation in whatever pieces they find; the client
 * wants few, clipped to what it asked, with neighbours of one type merged.
 * Clipping here means no backend can make the server break the rule that
 * descriptors never reach past the request.
 */
#include <errno.h>
#include <stdlib.h>

#include "engine/extents.h"

/* One reply chunk need not be larger than this many descriptors. */
#define MAX_EXTENTS	(64 * 1024)

struct cnbd_extents {
	uint64_t start;		/* the request's range */
	uint64_t end;
	uint64_t next;		/* where the next extent must begin */
	bool req_one;
	size_t count;
	size_t capacity;
	struct cnbd_extent_entry *list;
};

struct cnbd_extents *extents_new(uint64_t offset, uint64_t max_length, bool req_one)
{
	struct cnbd_extents *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->start = offset;
	e->end = offset + max_length;
	e->next = offset;
	e->req_one = req_one;
	return e;
}

size_t extents_count(const struct cnbd_extents *e)
{
	return e->count;
}

const struct cnbd_extent_entry *extents_get(const struct cnbd_extents *e, size_t i)
{
	return i < e->count ? &e->list[i] : NULL;
}

void extents_free(struct cnbd_extents *e)
{
	if (!e)
		return;
	free(e->list);
	free(e);
}

static bool extents_full(const struct cnbd_extents *e)
{
	return e->next >= e->end || (e->req_one && e->count == 1) ||
	       e->count >= MAX_EXTENTS;
}

int cnbd_add_extent(struct cnbd_extents *e, uint64_t offset, uint64_t length,
		    uint32_t type)
{
	uint64_t end = offset + length;

	if (length == 0 || extents_full(e))
		return 0;	/* nothing more is wanted: not an error */
	if (offset > e->next || end < offset) {
		cnbd_error("backend added an extent at %llu, expected one starting at or before %llu",
			   (unsigned long long)offset, (unsigned long long)e->next);
		errno = EINVAL;
		return -1;
	}
	if (end <= e->next)
		return 0;	/* wholly before what is still wanted */
	if (end > e->end)
		end = e->end;
	type &= CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO;

	if (e->count && e->list[e->count - 1].type == type) {
		e->list[e->count - 1].length += end - e->next;
	} else {
		if (e->count == e->capacity) {
			size_t cap = e->capacity ? e->capacity * 2 : 16;
			struct cnbd_extent_entry *l = realloc(e->list, cap * sizeof(*l));
			if (!l)
				return -1;
			e->list = l;
			e->capacity = cap;
		}
		e->list[e->count++] = (struct cnbd_extent_entry){
			.offset = e->next, .length = end - e->next, .type = type };
	}
	e->next = end;
	return 0;
}

/* The host functions for a layer's own lists (cnbd/backend.h, ABI 1.3). */
struct cnbd_extents *cnbd_extents_new(uint64_t offset, uint64_t length)
{
	return extents_new(offset, length, false);
}

size_t cnbd_extents_count(const struct cnbd_extents *e)
{
	return e->count;
}

int cnbd_extents_get(const struct cnbd_extents *e, size_t i, uint64_t *offset,
		     uint64_t *length, uint32_t *type)
{
	if (i >= e->count) {
		errno = EINVAL;
		return -1;
	}
	*offset = e->list[i].offset;
	*length = e->list[i].length;
	*type = e->list[i].type;
	return 0;
}

void cnbd_extents_free(struct cnbd_extents *e)
{
	extents_free(e);
}
