/* SPDX-License-Identifier: MIT */
/*
 * Transmission for tools and tests: one request at a time, simple
 * replies only (structured replies are never negotiated). Each reply is
 * checked for its magic and for the cookie of the request it answers;
 * after a protocol error the connection is not used again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clientlib/client_priv.h"
#include "common/wire.h"
#include "proto/nbd_errno.h"

/* Requests the kernel could send are at most 32 MiB; stay there even when
 * a server allows more, and split TRIM at 1 GiB. */
#define IO_CHUNK_MAX	(32U * 1024 * 1024)
#define TRIM_CHUNK_MAX	(1U << 30)

static const char *cmd_name(uint16_t type)
{
	switch (type) {
	case NBD_CMD_READ: return "READ";
	case NBD_CMD_WRITE: return "WRITE";
	case NBD_CMD_FLUSH: return "FLUSH";
	case NBD_CMD_TRIM: return "TRIM";
	default: return "command";
	}
}

/* The stream is out of step after this: stop using the connection. */
static int lost(struct nbd_client *c)
{
	c->transmission = false;
	return -1;
}

/* Checks a reply header; -1 when it does not answer this request. */
static int check_reply(struct nbd_client *c, const uint8_t *rep, uint64_t cookie)
{
	uint32_t magic = get_be32(rep);
	uint64_t got = get_be64(rep + 8);

	if (magic == NBD_STRUCTURED_REPLY_MAGIC)
		return client_fail(c, EPROTO,
				   "the server sent a structured reply, which was not negotiated");
	if (magic != NBD_SIMPLE_REPLY_MAGIC)
		return client_fail(c, EPROTO, "bad reply magic 0x%08x (expected 0x%08x)",
				   magic, NBD_SIMPLE_REPLY_MAGIC);
	if (got != cookie)
		return client_fail(c, EPROTO,
				   "reply cookie %llu does not match the request's %llu",
				   (unsigned long long)got, (unsigned long long)cookie);
	return 0;
}

static int request(struct nbd_client *c, uint16_t type, uint16_t flags,
		   uint64_t off, uint32_t len, const void *wbuf, void *rbuf)
{
	uint8_t req[28], rep[16];
	uint64_t cookie = c->next_cookie++;
	uint32_t error;

	if (!c->transmission)
		return client_fail(c, ENOTCONN, "not connected to an export");
	put_be32(req, NBD_REQUEST_MAGIC);
	put_be16(req + 4, flags);
	put_be16(req + 6, type);
	put_be64(req + 8, cookie);
	put_be64(req + 16, off);
	put_be32(req + 24, len);
	if (client_send(c, req, sizeof(req), wbuf, wbuf ? len : 0) < 0) {
		client_io_fail(c, "while sending a request");
		return lost(c);
	}
	if (client_recv(c, rep, sizeof(rep)) < 0) {
		client_io_fail(c, "while waiting for a reply");
		return lost(c);
	}
	if (check_reply(c, rep, cookie) < 0)
		return lost(c);
	error = get_be32(rep + 4);
	if (error)
		return client_fail(c, nbd_error_to_errno(error),
				   "the server failed %s of %u bytes at offset %llu: %s",
				   cmd_name(type), len, (unsigned long long)off,
				   nbd_error_name(error));
	if (rbuf && client_recv(c, rbuf, len) < 0) {
		client_io_fail(c, "while reading data");
		return lost(c);
	}
	return 0;
}

static int check_range(struct nbd_client *c, uint64_t len, uint64_t off)
{
	const struct client_export *ex = &c->export;

	if (!c->transmission)
		return client_fail(c, ENOTCONN, "not connected to an export");
	if (off > ex->size || len > ex->size - off)
		return client_fail(c, EINVAL,
				   "%llu bytes at offset %llu reach beyond the end of the export (%llu bytes)",
				   (unsigned long long)len, (unsigned long long)off,
				   (unsigned long long)ex->size);
	if (ex->have_block_size && ((off | len) & (ex->min_block - 1)))
		return client_fail(c, EINVAL,
				   "offset %llu and length %llu must be multiples of the server's minimum block size %u",
				   (unsigned long long)off, (unsigned long long)len,
				   ex->min_block);
	return 0;
}

static uint32_t io_chunk(const struct nbd_client *c)
{
	uint32_t max = c->export.max_payload;

	if (max > IO_CHUNK_MAX)
		max = IO_CHUNK_MAX;
	/* Chunks stay multiples of the minimum block size. */
	return max & ~(c->export.min_block - 1);
}

int client_pread(struct nbd_client *c, void *buf, uint64_t len, uint64_t offset)
{
	uint8_t *p = buf;

	if (check_range(c, len, offset) < 0)
		return -1;
	while (len > 0) {
		uint32_t n = len < io_chunk(c) ? len : io_chunk(c);

		if (request(c, NBD_CMD_READ, 0, offset, n, NULL, p) < 0)
			return -1;
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int client_pwrite(struct nbd_client *c, const void *buf, uint64_t len,
		  uint64_t offset, bool fua)
{
	const uint8_t *p = buf;
	uint16_t flags = fua ? NBD_CMD_FLAG_FUA : 0;

	if (check_range(c, len, offset) < 0)
		return -1;
	if (c->export.flags & NBD_FLAG_READ_ONLY)
		return client_fail(c, EPERM, "the export is read-only");
	if (fua && !(c->export.flags & NBD_FLAG_SEND_FUA))
		return client_fail(c, ENOTSUP, "the server does not accept FUA");
	while (len > 0) {
		uint32_t n = len < io_chunk(c) ? len : io_chunk(c);

		if (request(c, NBD_CMD_WRITE, flags, offset, n, p, NULL) < 0)
			return -1;
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int client_flush(struct nbd_client *c)
{
	if (!(c->export.flags & NBD_FLAG_SEND_FLUSH))
		return client_fail(c, ENOTSUP, "the server does not accept FLUSH");
	return request(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, NULL);
}

int client_trim(struct nbd_client *c, uint64_t len, uint64_t offset)
{
	if (check_range(c, len, offset) < 0)
		return -1;
	if (c->export.flags & NBD_FLAG_READ_ONLY)
		return client_fail(c, EPERM, "the export is read-only");
	if (!(c->export.flags & NBD_FLAG_SEND_TRIM))
		return client_fail(c, ENOTSUP, "the server does not accept TRIM");
	while (len > 0) {
		uint32_t n = len < TRIM_CHUNK_MAX ? len : TRIM_CHUNK_MAX;

		if (request(c, NBD_CMD_TRIM, 0, offset, n, NULL, NULL) < 0)
			return -1;
		offset += n;
		len -= n;
	}
	return 0;
}
