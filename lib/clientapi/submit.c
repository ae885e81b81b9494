/* SPDX-License-Identifier: MIT */
/*
 * Submitting commands: each is checked (in strict mode, against what the
 * server offered), encoded, put in flight and on the send queue, and sent
 * at once as far as the socket allows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientapi/api.h"
#include "proto/messages.h"
#include "proto/names.h"

/* What each command may carry, and the transmission flag it needs. */
struct cmd_rule {
	uint16_t type;
	uint32_t flags_allowed;
	uint16_t needs;		/* NBD_FLAG_SEND_*; 0: none */
	bool writes;		/* refused on a read-only export */
	bool ranged;		/* offset and count mean a range */
};

static const struct cmd_rule rules[] = {
	{ NBD_CMD_READ, 0, 0, false, true },
	{ NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, true, true },
	{ NBD_CMD_FLUSH, 0, NBD_FLAG_SEND_FLUSH, false, false },
	{ NBD_CMD_TRIM, NBD_CMD_FLAG_FUA, NBD_FLAG_SEND_TRIM, true, true },
	{ NBD_CMD_CACHE, 0, NBD_FLAG_SEND_CACHE, false, true },
	{ NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO,
	  NBD_FLAG_SEND_WRITE_ZEROES, true, true },
	{ NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 0, false, true },
};

static const struct cmd_rule *rule_of(uint16_t type)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			return &rules[i];
	return NULL;
}

void api_cmd_describe(const struct cmd *cmd, char *out, size_t len)
{
	const struct cmd_rule *r = rule_of(cmd->type);

	if (r && r->ranged)
		snprintf(out, len, "%s of %u bytes at offset %llu", nbd_cmd_name(cmd->type),
			 cmd->count, (unsigned long long)cmd->offset);
	else
		snprintf(out, len, "%s", nbd_cmd_name(cmd->type));
}

void api_cmd_fail(struct cmd *cmd, int err, const char *fmt, ...)
{
	va_list ap;

	if (cmd->err)
		return;
	cmd->err = err;
	va_start(ap, fmt);
	vsnprintf(cmd->msg, sizeof(cmd->msg), fmt, ap);
	va_end(ap);
}

void api_cmd_free(struct cmd *cmd)
{
	free(cmd);
}

void api_complete(struct cnbd_client *h, struct cmd *cmd)
{
	struct cmd **p = &h->in_flight;

	while (*p && *p != cmd)
		p = &(*p)->next;
	if (!*p)
		return;
	*p = cmd->next;
	cmd->next = NULL;
	if (h->done_tail)
		h->done_tail->next = cmd;
	else
		h->done_head = cmd;
	h->done_tail = cmd;
	h->n_in_flight--;
}

/* The checks strict mode makes before a byte is sent. */
static int check_strict(struct cnbd_client *h, const struct cmd *cmd)
{
	const struct client_export *ex = &h->c.export;
	const struct cmd_rule *r = rule_of(cmd->type);
	char what[128];

	api_cmd_describe(cmd, what, sizeof(what));
	if (cmd->flags & ~r->flags_allowed)
		return api_fail(h, EINVAL, "%s: flags 0x%x are not valid for it", what,
				cmd->flags & ~r->flags_allowed);
	if (r->needs && !(ex->flags & r->needs))
		return api_fail(h, ENOTSUP, "%s: the server does not offer %s", what,
				nbd_cmd_name(cmd->type));
	if (r->writes && (ex->flags & NBD_FLAG_READ_ONLY))
		return api_fail(h, EPERM, "%s: the export is read-only", what);
	if ((cmd->flags & NBD_CMD_FLAG_FUA) && !(ex->flags & NBD_FLAG_SEND_FUA))
		return api_fail(h, ENOTSUP, "%s: the server does not accept FUA", what);
	if ((cmd->flags & NBD_CMD_FLAG_FAST_ZERO) && !(ex->flags & NBD_FLAG_SEND_FAST_ZERO))
		return api_fail(h, ENOTSUP, "%s: the server does not offer FAST_ZERO", what);
	if (!r->ranged)
		return 0;
	if (cmd->count == 0)
		return api_fail(h, EINVAL, "%s: a request of no bytes", what);
	if (cmd->offset > ex->size || cmd->count > ex->size - cmd->offset)
		return api_fail(h, EINVAL, "%s reaches beyond the end of the export (%llu bytes)",
				what, (unsigned long long)ex->size);
	if (ex->have_block_size && ((cmd->offset | cmd->count) & (ex->min_block - 1)))
		return api_fail(h, EINVAL,
				"%s: offset and length must be multiples of the server's minimum block size %u",
				what, ex->min_block);
	if ((cmd->type == NBD_CMD_READ || cmd->type == NBD_CMD_WRITE) &&
	    cmd->count > ex->max_payload)
		return api_fail(h, EINVAL,
				"%s: more than the server's maximum payload of %u bytes",
				what, ex->max_payload);
	return 0;
}

static struct cmd *cmd_new(struct cnbd_client *h, uint16_t type, uint32_t flags,
			   uint64_t count, uint64_t offset)
{
	struct cmd *cmd;

	if (api_need_ready(h) < 0)
		return NULL;
	if (count > UINT32_MAX || flags > UINT16_MAX) {
		api_fail(h, EINVAL, "%s of %llu bytes: a request holds at most 4 GiB - 1",
			 nbd_cmd_name(type), (unsigned long long)count);
		return NULL;
	}
	cmd = calloc(1, sizeof(*cmd));
	if (!cmd) {
		api_fail(h, ENOMEM, "out of memory");
		return NULL;
	}
	cmd->type = type;
	cmd->flags = flags;
	cmd->count = count;
	cmd->offset = offset;
	if (h->strict && check_strict(h, cmd) < 0)
		goto fail;
	if (type == NBD_CMD_BLOCK_STATUS && !h->c.have_meta) {
		api_fail(h, ENOTSUP, "BLOCK_STATUS: the server did not grant base:allocation");
		goto fail;
	}
	return cmd;
fail:
	free(cmd);
	return NULL;
}

/* Takes a failed submission's command back off the done list. */
static void unqueue(struct cnbd_client *h, struct cmd *cmd)
{
	struct cmd **p = &h->done_head, *prev = NULL;

	while (*p && *p != cmd) {
		prev = *p;
		p = &(*p)->next;
	}
	if (!*p)
		return;
	*p = cmd->next;
	if (h->done_tail == cmd)
		h->done_tail = prev;
	free(cmd);
}

static int64_t submit(struct cnbd_client *h, struct cmd *cmd)
{
	if (!cmd)
		return -1;
	cmd->cookie = h->next_cookie++;
	proto_request_encode(cmd->hdr, &(struct proto_request){
		.flags = cmd->flags, .type = cmd->type, .cookie = cmd->cookie,
		.offset = cmd->offset, .count = cmd->count });
	cmd->next = h->in_flight;
	h->in_flight = cmd;
	h->n_in_flight++;
	if (h->sendq_tail)
		h->sendq_tail->send_next = cmd;
	else
		h->sendq_head = cmd;
	h->sendq_tail = cmd;
	if (api_send_progress(h) < 0) {
		unqueue(h, cmd);
		return -1;
	}
	return cmd->cookie;
}

int64_t cnbd_client_aio_pread(struct cnbd_client *h, void *buf, size_t count,
			      uint64_t offset, uint32_t flags)
{
	struct cmd *cmd = cmd_new(h, NBD_CMD_READ, flags, count, offset);

	if (cmd)
		cmd->rbuf = buf;
	return submit(h, cmd);
}

int64_t cnbd_client_aio_pwrite(struct cnbd_client *h, const void *buf, size_t count,
			       uint64_t offset, uint32_t flags)
{
	struct cmd *cmd = cmd_new(h, NBD_CMD_WRITE, flags, count, offset);

	if (cmd)
		cmd->wbuf = buf;
	return submit(h, cmd);
}

int64_t cnbd_client_aio_flush(struct cnbd_client *h, uint32_t flags)
{
	return submit(h, cmd_new(h, NBD_CMD_FLUSH, flags, 0, 0));
}

int64_t cnbd_client_aio_trim(struct cnbd_client *h, uint64_t count, uint64_t offset,
			     uint32_t flags)
{
	return submit(h, cmd_new(h, NBD_CMD_TRIM, flags, count, offset));
}

int64_t cnbd_client_aio_zero(struct cnbd_client *h, uint64_t count, uint64_t offset,
			     uint32_t flags)
{
	return submit(h, cmd_new(h, NBD_CMD_WRITE_ZEROES, flags, count, offset));
}

int64_t cnbd_client_aio_cache(struct cnbd_client *h, uint64_t count, uint64_t offset,
			      uint32_t flags)
{
	return submit(h, cmd_new(h, NBD_CMD_CACHE, flags, count, offset));
}

int64_t cnbd_client_aio_block_status(struct cnbd_client *h, uint64_t count,
				     uint64_t offset, cnbd_client_extent_fn fn,
				     void *opaque, uint32_t flags)
{
	struct cmd *cmd = cmd_new(h, NBD_CMD_BLOCK_STATUS, flags, count, offset);

	if (cmd) {
		cmd->extent_fn = fn;
		cmd->extent_opaque = opaque;
	}
	return submit(h, cmd);
}
