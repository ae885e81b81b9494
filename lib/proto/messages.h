/* SPDX-License-Identifier: MIT */
/*
 * The NBD protocol's fixed-layout messages, encoded and decoded in one
 * place for both halves: option requests and replies (negotiation),
 * requests, simple replies and structured reply chunks (transmission).
 * Encoders write the big-endian bytes into a buffer of the message's
 * size; decoders read that many bytes into host-order fields and say
 * whether the magic is the one the message must start with (the fields,
 * magic included, are filled either way, for the error message).
 *
 * Inline: the engine decodes every request and encodes every reply with
 * these, on its fastest path.
 */
#ifndef CNBD_PROTO_MESSAGES_H
#define CNBD_PROTO_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnbd/protocol.h"
#include "common/wire.h"

#define NBD_OPTION_HEADER_SIZE	sizeof(struct nbd_option_header)	/* 16 */
#define NBD_OPTION_REPLY_SIZE	sizeof(struct nbd_option_reply)		/* 20 */
#define NBD_REQUEST_SIZE	sizeof(struct nbd_request)		/* 28 */
#define NBD_SIMPLE_REPLY_SIZE	sizeof(struct nbd_simple_reply)		/* 16 */
#define NBD_CHUNK_HEADER_SIZE	sizeof(struct nbd_structured_reply)	/* 20 */
/* A chunk's header with the fixed part of its payload. */
#define NBD_DATA_CHUNK_SIZE	(NBD_CHUNK_HEADER_SIZE + 8)	/* offset */
#define NBD_ERROR_CHUNK_SIZE	(NBD_CHUNK_HEADER_SIZE + 6)	/* error, message length */
#define NBD_STATUS_CHUNK_SIZE	(NBD_CHUNK_HEADER_SIZE + 4)	/* context id */
#define NBD_EXTENT_SIZE		8				/* length, flags */

/* Negotiation: IHAVEOPT, option, length; the data follows. */
struct proto_option {
	uint64_t magic;
	uint32_t option;
	uint32_t length;
};

/* The server's answer to an option; its payload follows. */
struct proto_option_reply {
	uint64_t magic;
	uint32_t option;
	uint32_t type;
	uint32_t length;
};

/* A transmission request; a WRITE's payload follows. */
struct proto_request {
	uint32_t magic;
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint64_t offset;
	uint32_t count;
};

/* A simple reply; a successful READ's data follows. */
struct proto_simple_reply {
	uint32_t magic;
	uint32_t error;
	uint64_t cookie;
};

/* A structured reply chunk's header; length bytes of payload follow. */
struct proto_chunk {
	uint32_t magic;
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint32_t length;
};

static inline void proto_option_encode(uint8_t *out, uint32_t option, uint32_t length)
{
	put_be64(out, NBD_IHAVEOPT);
	put_be32(out + 8, option);
	put_be32(out + 12, length);
}

static inline bool proto_option_decode(const uint8_t *in, struct proto_option *o)
{
	o->magic = get_be64(in);
	o->option = get_be32(in + 8);
	o->length = get_be32(in + 12);
	return o->magic == NBD_IHAVEOPT;
}

static inline void proto_option_reply_encode(uint8_t *out, uint32_t option,
					     uint32_t type, uint32_t length)
{
	put_be64(out, NBD_REP_MAGIC);
	put_be32(out + 8, option);
	put_be32(out + 12, type);
	put_be32(out + 16, length);
}

static inline bool proto_option_reply_decode(const uint8_t *in, struct proto_option_reply *r)
{
	r->magic = get_be64(in);
	r->option = get_be32(in + 8);
	r->type = get_be32(in + 12);
	r->length = get_be32(in + 16);
	return r->magic == NBD_REP_MAGIC;
}

/* r->magic is not read: a request always starts with NBD_REQUEST_MAGIC. */
static inline void proto_request_encode(uint8_t *out, const struct proto_request *r)
{
	put_be32(out, NBD_REQUEST_MAGIC);
	put_be16(out + 4, r->flags);
	put_be16(out + 6, r->type);
	put_be64(out + 8, r->cookie);
	put_be64(out + 16, r->offset);
	put_be32(out + 24, r->count);
}

static inline bool proto_request_decode(const uint8_t *in, struct proto_request *r)
{
	r->magic = get_be32(in);
	r->flags = get_be16(in + 4);
	r->type = get_be16(in + 6);
	r->cookie = get_be64(in + 8);
	r->offset = get_be64(in + 16);
	r->count = get_be32(in + 24);
	return r->magic == NBD_REQUEST_MAGIC;
}

static inline void proto_simple_reply_encode(uint8_t *out, uint32_t error, uint64_t cookie)
{
	put_be32(out, NBD_SIMPLE_REPLY_MAGIC);
	put_be32(out + 4, error);
	put_be64(out + 8, cookie);
}

static inline bool proto_simple_reply_decode(const uint8_t *in, struct proto_simple_reply *r)
{
	r->magic = get_be32(in);
	r->error = get_be32(in + 4);
	r->cookie = get_be64(in + 8);
	return r->magic == NBD_SIMPLE_REPLY_MAGIC;
}

static inline void proto_chunk_encode(uint8_t *out, uint16_t flags, uint16_t type,
				      uint64_t cookie, uint32_t length)
{
	put_be32(out, NBD_STRUCTURED_REPLY_MAGIC);
	put_be16(out + 4, flags);
	put_be16(out + 6, type);
	put_be64(out + 8, cookie);
	put_be32(out + 16, length);
}

static inline bool proto_chunk_decode(const uint8_t *in, struct proto_chunk *c)
{
	c->magic = get_be32(in);
	c->flags = get_be16(in + 4);
	c->type = get_be16(in + 6);
	c->cookie = get_be64(in + 8);
	c->length = get_be32(in + 16);
	return c->magic == NBD_STRUCTURED_REPLY_MAGIC;
}

/* NBD_REPLY_TYPE_OFFSET_DATA up to its data (NBD_DATA_CHUNK_SIZE bytes);
 * len bytes of data follow. */
static inline void proto_data_chunk_encode(uint8_t *out, uint16_t flags, uint64_t cookie,
					   uint64_t offset, uint32_t len)
{
	proto_chunk_encode(out, flags, NBD_REPLY_TYPE_OFFSET_DATA, cookie, 8 + len);
	put_be64(out + NBD_CHUNK_HEADER_SIZE, offset);
}

/* NBD_REPLY_TYPE_ERROR up to its message (NBD_ERROR_CHUNK_SIZE bytes);
 * msglen bytes of message follow. */
static inline void proto_error_chunk_encode(uint8_t *out, uint16_t flags, uint64_t cookie,
					    uint32_t error, uint16_t msglen)
{
	proto_chunk_encode(out, flags, NBD_REPLY_TYPE_ERROR, cookie, 6 + msglen);
	put_be32(out + NBD_CHUNK_HEADER_SIZE, error);
	put_be16(out + NBD_CHUNK_HEADER_SIZE + 4, msglen);
}

/* NBD_REPLY_TYPE_BLOCK_STATUS up to its descriptors (NBD_STATUS_CHUNK_SIZE
 * bytes); n descriptors (proto_extent_encode) follow. */
static inline void proto_status_chunk_encode(uint8_t *out, uint16_t flags, uint64_t cookie,
					     uint32_t context, size_t n)
{
	proto_chunk_encode(out, flags, NBD_REPLY_TYPE_BLOCK_STATUS, cookie,
			   4 + NBD_EXTENT_SIZE * n);
	put_be32(out + NBD_CHUNK_HEADER_SIZE, context);
}

static inline void proto_extent_encode(uint8_t *out, uint32_t length, uint32_t flags)
{
	put_be32(out, length);
	put_be32(out + 4, flags);
}

/* The fixed parts of chunk payloads, for a client: each reads from the
 * first byte after the chunk header; the caller has checked that
 * c->length covers what is read. */
static inline uint64_t proto_data_chunk_offset(const uint8_t *payload)
{
	return get_be64(payload);
}

static inline void proto_error_chunk_decode(const uint8_t *payload, uint32_t *error,
					    uint16_t *msglen)
{
	*error = get_be32(payload);
	*msglen = get_be16(payload + 4);
}

static inline uint32_t proto_status_chunk_context(const uint8_t *payload)
{
	return get_be32(payload);
}

static inline void proto_extent_decode(const uint8_t *in, uint32_t *length, uint32_t *flags)
{
	*length = get_be32(in);
	*flags = get_be32(in + 4);
}

#endif
