/* SPDX-License-Identifier: MIT */
/* Buffered reading of a socket: one recv() brings in every request the
 * client has queued, instead of one read() per 28-byte header. */
#ifndef CNBD_RECV_BUFFER_H
#define CNBD_RECV_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/conn_io.h"

struct recv_buffer {
	struct conn_io *io;
	uint8_t *data;
	size_t cap;
	size_t start;		/* first unread byte */
	size_t end;		/* one past the last buffered byte */
};

int recv_buffer_init(struct recv_buffer *b, struct conn_io *io, size_t cap);
void recv_buffer_free(struct recv_buffer *b);
/* Exactly len bytes into dst, buffered ones first; large reads go
 * straight from the socket into dst. 0, or -1 with errno (ECONNRESET at
 * end of stream). */
int recv_buffer_read(struct recv_buffer *b, void *dst, size_t len);
/* Drops len bytes, buffered or not. */
int recv_buffer_discard(struct recv_buffer *b, uint64_t len);
/* The bytes already buffered, without reading. */
static inline size_t recv_buffer_pending(const struct recv_buffer *b)
{
	return b->end - b->start;
}
static inline const uint8_t *recv_buffer_peek(const struct recv_buffer *b)
{
	return b->data + b->start;
}

#endif
