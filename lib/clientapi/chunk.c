/* SPDX-License-Identifier: MIT */
/*
 * Structured reply chunks: OFFSET_DATA and OFFSET_HOLE for READ,
 * BLOCK_STATUS, the error chunks, NONE. Every length is checked against
 * the chunk type and against the request it answers before a byte of the
 * payload is read, so a hostile server can neither overflow the caller's
 * buffer nor make the client allocate without bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clientapi/api.h"
#include "clientlib/client_priv.h"
#include "common/wire.h"
#include "proto/messages.h"
#include "proto/names.h"
#include "proto/nbd_errno.h"

/* The spec: every error chunk type, known or not, has bit 15 set. */
#define CHUNK_ERROR_BIT	(1U << 15)
/* A BLOCK_STATUS chunk of more than a million extents is refused. */
#define EXTENTS_MAX	(1U << 20)
#define STATUS_MAX	(4 + NBD_EXTENT_SIZE * EXTENTS_MAX)
/* An error chunk: error(4) msglen(2) message [offset(8)]. */
#define ERROR_FIXED	(NBD_ERROR_CHUNK_SIZE - NBD_CHUNK_HEADER_SIZE)
#define ERROR_MAX	(ERROR_FIXED + NBD_MAX_STRING + 8)

static int bad_chunk(struct cnbd_client *h, const char *why)
{
	const struct rx *rx = &h->rx;

	return api_lost(h, EPROTO, "the server sent a chunk of type %u and %u bytes for %s: %s",
			rx->chunk.type, rx->chunk.length, nbd_cmd_name(rx->cmd->type), why);
}

static int want_payload(struct cnbd_client *h, enum rx_stage stage, size_t len)
{
	struct rx *rx = &h->rx;

	if (len > rx->cap) {
		uint8_t *grown = realloc(rx->buf, len);

		if (!grown)
			return api_lost(h, ENOMEM, "out of memory for a %zu-byte chunk", len);
		rx->buf = grown;
		rx->cap = len;
	}
	rx->stage = stage;
	rx->have = 0;
	rx->need = len;
	return 0;
}

int api_chunk_begin(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;
	const struct proto_chunk *c = &rx->chunk;
	struct cmd *cmd;
	uint16_t type;

	proto_chunk_decode(rx->hdr, &rx->chunk);
	type = c->type;
	cmd = api_answered(h, c->cookie);
	if (!cmd)
		return -1;
	rx->cmd = cmd;
	if (type == NBD_REPLY_TYPE_NONE) {
		if (rx->chunk.length || !(rx->chunk.flags & NBD_REPLY_FLAG_DONE))
			return bad_chunk(h, "NONE must be empty and the last");
		return want_payload(h, RX_PAYLOAD, 0);
	}
	if (type & CHUNK_ERROR_BIT) {
		if (rx->chunk.length < ERROR_FIXED || rx->chunk.length > ERROR_MAX)
			return bad_chunk(h, "not the length of an error chunk");
		return want_payload(h, RX_PAYLOAD, rx->chunk.length);
	}
	if (type == NBD_REPLY_TYPE_OFFSET_DATA || type == NBD_REPLY_TYPE_OFFSET_HOLE) {
		if (cmd->type != NBD_CMD_READ)
			return bad_chunk(h, "data chunks answer READ only");
		if (type == NBD_REPLY_TYPE_OFFSET_DATA && rx->chunk.length <= 8)
			return bad_chunk(h, "no data");
		if (type == NBD_REPLY_TYPE_OFFSET_HOLE && rx->chunk.length != 12)
			return bad_chunk(h, "a hole is 12 bytes");
		return want_payload(h, type == NBD_REPLY_TYPE_OFFSET_DATA ? RX_OFFSET : RX_PAYLOAD,
				    type == NBD_REPLY_TYPE_OFFSET_DATA ? 8 : 12);
	}
	if (type == NBD_REPLY_TYPE_BLOCK_STATUS) {
		if (cmd->type != NBD_CMD_BLOCK_STATUS)
			return bad_chunk(h, "block status answers BLOCK_STATUS only");
		if (rx->chunk.length < 12 || (rx->chunk.length - 4) % 8)
			return bad_chunk(h, "not a whole number of extents");
		if (rx->chunk.length > STATUS_MAX)
			return bad_chunk(h, "more than a million extents");
		return want_payload(h, RX_PAYLOAD, rx->chunk.length);
	}
	return bad_chunk(h, "a type this client does not know");
}

/* [off, off + len) must lie in what cmd asked for, and not overrun what
 * was covered so far. */
static int in_range(struct cnbd_client *h, uint64_t off, uint64_t len)
{
	const struct cmd *cmd = h->rx.cmd;

	if (off < cmd->offset || len > cmd->count || off - cmd->offset > cmd->count - len)
		return bad_chunk(h, "a range outside the request");
	if (len > cmd->count - cmd->covered)
		return bad_chunk(h, "more bytes than the request asked for");
	return 0;
}

static int offset_done(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;
	uint64_t off = proto_data_chunk_offset(rx->buf);
	uint32_t len = rx->chunk.length - 8;

	if (in_range(h, off, len) < 0)
		return -1;
	rx->stage = RX_DATA;
	rx->dst = (uint8_t *)rx->cmd->rbuf + (off - rx->cmd->offset);
	rx->have = 0;
	rx->need = len;
	return 0;
}

static int hole(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;
	uint64_t off = get_be64(rx->buf);
	uint32_t len = get_be32(rx->buf + 8);

	if (len == 0)
		return bad_chunk(h, "a hole of no bytes");
	if (in_range(h, off, len) < 0)
		return -1;
	memset((uint8_t *)rx->cmd->rbuf + (off - rx->cmd->offset), 0, len);
	rx->cmd->covered += len;
	return 0;
}

static int block_status(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;
	struct cmd *cmd = rx->cmd;
	size_t n = (rx->chunk.length - 4) / 8;
	struct cnbd_client_extent *e;
	uint64_t off = cmd->offset;
	int rc;

	if (proto_status_chunk_context(rx->buf) != h->c.meta_id)
		return bad_chunk(h, "a meta context id that was not granted");
	e = malloc(n * sizeof(*e));
	if (!e)
		return api_lost(h, ENOMEM, "out of memory for %zu extents", n);
	for (size_t i = 0; i < n; i++) {
		uint32_t len;

		proto_extent_decode(rx->buf + 4 + NBD_EXTENT_SIZE * i, &len, &e[i].flags);
		e[i].offset = off;
		e[i].length = len;
		off += len;
		if (!e[i].length) {
			free(e);
			return bad_chunk(h, "an extent of no bytes");
		}
	}
	cmd->got_extents = true;
	if (!cmd->err && cmd->extent_fn) {
		rc = cmd->extent_fn(cmd->extent_opaque, "base:allocation", e, n);
		if (rc)
			api_cmd_fail(cmd, rc, "the extent callback of BLOCK_STATUS failed with %s",
				     strerror(rc));
	}
	free(e);
	return 0;
}

static int error_chunk(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;
	char text[256], what[128];
	uint32_t error;
	uint16_t msglen;

	proto_error_chunk_decode(rx->buf, &error, &msglen);
	if (msglen > rx->chunk.length - ERROR_FIXED)
		return bad_chunk(h, "its message is longer than the chunk");
	if (rx->chunk.type == NBD_REPLY_TYPE_ERROR_OFFSET &&
	    rx->chunk.length != ERROR_FIXED + msglen + 8)
		return bad_chunk(h, "ERROR_OFFSET without its offset");
	if (!error)
		return bad_chunk(h, "an error chunk with error 0");
	client_printable(text, sizeof(text), rx->buf + ERROR_FIXED, msglen);
	api_cmd_describe(rx->cmd, what, sizeof(what));
	api_cmd_fail(rx->cmd, nbd_error_to_errno(error), "the server failed %s: %s%s%s",
		     what, nbd_error_name(error), text[0] ? ": " : "", text);
	return 0;
}

/* The last chunk: was the command answered whole? */
static void finish(struct cnbd_client *h, struct cmd *cmd)
{
	char what[128];

	api_cmd_describe(cmd, what, sizeof(what));
	if (cmd->type == NBD_CMD_READ && cmd->covered != cmd->count)
		api_cmd_fail(cmd, EIO, "the server's reply to %s covered only %llu bytes",
			     what, (unsigned long long)cmd->covered);
	if (cmd->type == NBD_CMD_BLOCK_STATUS && !cmd->got_extents)
		api_cmd_fail(cmd, EIO, "the server answered %s without extents", what);
	api_complete(h, cmd);
}

int api_chunk_end(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;
	int rc = 0;

	if (rx->stage == RX_OFFSET)
		return offset_done(h);
	if (rx->stage == RX_DATA)
		rx->cmd->covered += rx->chunk.length - 8;
	else if (rx->chunk.type == NBD_REPLY_TYPE_OFFSET_HOLE)
		rc = hole(h);
	else if (rx->chunk.type == NBD_REPLY_TYPE_BLOCK_STATUS)
		rc = block_status(h);
	else if (rx->chunk.type & CHUNK_ERROR_BIT)
		rc = error_chunk(h);
	if (rc < 0)
		return -1;
	if (rx->chunk.flags & NBD_REPLY_FLAG_DONE)
		finish(h, rx->cmd);
	api_rx_reset(h);
	return 0;
}
