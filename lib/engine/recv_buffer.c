/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/recv_buffer.h"
#include "common/wire.h"

int recv_buffer_init(struct recv_buffer *b, struct conn_io *io, size_t cap)
{
	b->io = io;
	b->cap = cap;
	b->start = b->end = 0;
	b->data = malloc(cap);
	return b->data ? 0 : -1;
}

void recv_buffer_free(struct recv_buffer *b)
{
	free(b->data);
	b->data = NULL;
}

/* Reads at least need more bytes, and whatever else is already there. */
static int fill(struct recv_buffer *b, size_t need)
{
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	while (b->end < need) {
		ssize_t n = conn_read_some(b->io, b->data + b->end, b->cap - b->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		b->end += n;
	}
	return 0;
}

int recv_buffer_read(struct recv_buffer *b, void *dst, size_t len)
{
	size_t have = recv_buffer_pending(b);

	if (have >= len) {
		memcpy(dst, b->data + b->start, len);
		b->start += len;
		return 0;
	}
	if (len > b->cap / 2) {
		/* A big payload: no point copying it through the buffer. */
		memcpy(dst, b->data + b->start, have);
		b->start = b->end = 0;
		return conn_read_full(b->io, (uint8_t *)dst + have, len - have);
	}
	if (fill(b, len) < 0)
		return -1;
	memcpy(dst, b->data, len);
	b->start = len;
	return 0;
}

int recv_buffer_discard(struct recv_buffer *b, uint64_t len)
{
	size_t have = recv_buffer_pending(b);

	if (have >= len) {
		b->start += len;
		return 0;
	}
	len -= have;
	b->start = b->end = 0;
	while (len > 0) {
		size_t chunk = len < b->cap ? len : b->cap;
		if (conn_read_full(b->io, b->data, chunk) < 0)
			return -1;
		len -= chunk;
	}
	return 0;
}
