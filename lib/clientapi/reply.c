/* SPDX-License-Identifier: MIT */
/*
 * Reading replies as they arrive, in any order: a header (16 bytes, 20
 * for a structured chunk), matched by cookie to a command in flight, then
 * what it carries: READ data straight into the caller's buffer, a chunk's
 * other payload into the handle's buffer. Anything against the protocol
 * (an unknown cookie, a reply to a request not sent in full, a bad magic)
 * ends the connection: the stream cannot be trusted after it.
 */
#include <errno.h>
#include <string.h>

#include "clientapi/api.h"
#include "proto/nbd_errno.h"

static void rx_reset(struct rx *rx)
{
	rx->stage = RX_HEADER;
	rx->have = 0;
	rx->need = NBD_SIMPLE_REPLY_SIZE;
	rx->cmd = NULL;
	rx->structured = false;
}

struct cmd *api_answered(struct cnbd_client *h, uint64_t cookie)
{
	struct cmd *cmd = h->in_flight;

	while (cmd && cmd->cookie != cookie)
		cmd = cmd->next;
	if (!cmd) {
		api_lost(h, EPROTO, "the server replied to cookie %llu, which is not in flight",
			 (unsigned long long)cookie);
		return NULL;
	}
	if (cmd->sent < api_cmd_total(cmd)) {
		api_lost(h, EPROTO, "the server replied to cookie %llu before it was sent in full",
			 (unsigned long long)cookie);
		return NULL;
	}
	return cmd;
}

static int simple_reply(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;
	struct proto_simple_reply r;
	struct cmd *cmd;
	uint32_t error;
	char what[128];

	proto_simple_reply_decode(rx->hdr, &r);
	cmd = api_answered(h, r.cookie);
	if (!cmd)
		return -1;
	error = r.error;
	api_cmd_describe(cmd, what, sizeof(what));
	if (error)
		api_cmd_fail(cmd, nbd_error_to_errno(error), "the server failed %s: %s",
			     what, nbd_error_name(error));
	else if (cmd->type == NBD_CMD_BLOCK_STATUS)
		api_cmd_fail(cmd, EPROTO, "the server answered %s without extents", what);
	if (!error && cmd->type == NBD_CMD_READ && cmd->count) {
		rx->cmd = cmd;
		rx->stage = RX_DATA;
		rx->dst = cmd->rbuf;
		rx->have = 0;
		rx->need = cmd->count;
		return 0;
	}
	api_complete(h, cmd);
	rx_reset(rx);
	return 0;
}

/* A whole header is in: what it says comes next. */
static int header_done(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;
	struct proto_simple_reply r;

	/* Both kinds start with their magic: the first 16 bytes say which. */
	if (proto_simple_reply_decode(rx->hdr, &r))
		return simple_reply(h);
	if (r.magic != NBD_STRUCTURED_REPLY_MAGIC)
		return api_lost(h, EPROTO, "bad reply magic 0x%08x", r.magic);
	if (!h->c.structured)
		return api_lost(h, EPROTO,
				"the server sent a structured reply, which was not negotiated");
	if (rx->need == NBD_SIMPLE_REPLY_SIZE) {
		rx->need = NBD_CHUNK_HEADER_SIZE;
		return 0;
	}
	rx->structured = true;
	return api_chunk_begin(h);
}

static int data_done(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;

	if (rx->structured)
		return api_chunk_end(h);
	rx->cmd->covered = rx->cmd->count;
	api_complete(h, rx->cmd);
	rx_reset(rx);
	return 0;
}

/* Fills the current stage: 1 when complete, 0 when the socket has no
 * more for now, -1 when the connection failed. */
static int fill(struct cnbd_client *h, uint8_t *dst)
{
	struct rx *rx = &h->rx;

	while (rx->have < rx->need) {
		ssize_t n = api_recv_some(h, dst + rx->have, rx->need - rx->have);

		if (n <= 0)
			return (int)n;
		rx->have += n;
	}
	return 1;
}

static uint8_t *stage_dst(struct rx *rx)
{
	switch (rx->stage) {
	case RX_HEADER:
		return rx->hdr;
	case RX_DATA:
		return rx->dst;
	default:
		return rx->buf;
	}
}

int api_recv_progress(struct cnbd_client *h)
{
	struct rx *rx = &h->rx;

	while (h->state == API_READY) {
		enum rx_stage stage = rx->stage;
		int rc = fill(h, stage_dst(rx));

		if (rc <= 0)
			return rc;
		if (stage == RX_HEADER)
			rc = header_done(h);
		else if (stage == RX_DATA)
			rc = data_done(h);
		else
			rc = api_chunk_end(h);
		if (rc < 0)
			return -1;
	}
	return h->state == API_READY ? 0 : -1;
}

void api_rx_reset(struct cnbd_client *h)
{
	rx_reset(&h->rx);
}
