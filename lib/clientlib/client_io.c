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
#include "proto/messages.h"
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
static enum client_io_result lost(struct nbd_client *c)
{
	c->transmission = false;
	return CLIENT_IO_LOST;
}

/* Checks a reply; false (c->error set) when it does not answer this
 * request. */
static bool reply_matches(struct nbd_client *c, const uint8_t *buf, uint64_t cookie,
			  struct proto_simple_reply *rep)
{
	if (proto_simple_reply_decode(buf, rep) && rep->cookie == cookie)
		return true;
	if (rep->magic == NBD_STRUCTURED_REPLY_MAGIC)
		client_set_error(c, EPROTO,
				 "the server sent a structured reply, which was not negotiated");
	else if (rep->magic != NBD_SIMPLE_REPLY_MAGIC)
		client_set_error(c, EPROTO, "bad reply magic 0x%08x (expected 0x%08x)",
				 rep->magic, NBD_SIMPLE_REPLY_MAGIC);
	else
		client_set_error(c, EPROTO,
				 "reply cookie %llu does not match the request's %llu",
				 (unsigned long long)rep->cookie, (unsigned long long)cookie);
	return false;
}

static enum client_io_result request(struct nbd_client *c, uint16_t type, uint16_t flags,
				     uint64_t off, uint32_t len, const void *wbuf, void *rbuf)
{
	struct proto_request req = {
		.flags = flags, .type = type, .cookie = c->next_cookie++,
		.offset = off, .count = len,
	};
	uint8_t hdr[NBD_REQUEST_SIZE], buf[NBD_SIMPLE_REPLY_SIZE];
	struct proto_simple_reply rep;

	if (!c->transmission)
		return client_io_invalid(c, ENOTCONN, "not connected to an export");
	proto_request_encode(hdr, &req);
	if (client_send(c, hdr, sizeof(hdr), wbuf, wbuf ? len : 0) < 0) {
		client_io_fail(c, "while sending a request");
		return lost(c);
	}
	if (client_recv(c, buf, sizeof(buf)) < 0) {
		client_io_fail(c, "while waiting for a reply");
		return lost(c);
	}
	if (!reply_matches(c, buf, req.cookie, &rep))
		return lost(c);
	if (rep.error) {
		client_set_error(c, nbd_error_to_errno(rep.error),
				 "the server failed %s of %u bytes at offset %llu: %s",
				 cmd_name(type), len, (unsigned long long)off,
				 nbd_error_name(rep.error));
		return CLIENT_IO_SERVER_ERROR;
	}
	if (rbuf && client_recv(c, rbuf, len) < 0) {
		client_io_fail(c, "while reading data");
		return lost(c);
	}
	return CLIENT_IO_OK;
}

static enum client_io_result check_range(struct nbd_client *c, uint64_t len, uint64_t off)
{
	const struct client_export *ex = &c->export;

	if (!c->transmission)
		return client_io_invalid(c, ENOTCONN, "not connected to an export");
	if (off > ex->size || len > ex->size - off)
		return client_io_invalid(c, EINVAL,
				"%llu bytes at offset %llu reach beyond the end of the export (%llu bytes)",
				(unsigned long long)len, (unsigned long long)off,
				(unsigned long long)ex->size);
	if (ex->have_block_size && ((off | len) & (ex->min_block - 1)))
		return client_io_invalid(c, EINVAL,
				"offset %llu and length %llu must be multiples of the server's minimum block size %u",
				(unsigned long long)off, (unsigned long long)len,
				ex->min_block);
	return CLIENT_IO_OK;
}

static uint32_t io_chunk(const struct nbd_client *c)
{
	uint32_t max = c->export.max_payload;

	if (max > IO_CHUNK_MAX)
		max = IO_CHUNK_MAX;
	/* Chunks stay multiples of the minimum block size. */
	return max & ~(c->export.min_block - 1);
}

enum client_io_result client_pread(struct nbd_client *c, void *buf, uint64_t len,
				   uint64_t offset)
{
	enum client_io_result rc = check_range(c, len, offset);
	uint8_t *p = buf;

	while (rc == CLIENT_IO_OK && len > 0) {
		uint32_t n = len < io_chunk(c) ? len : io_chunk(c);

		rc = request(c, NBD_CMD_READ, 0, offset, n, NULL, p);
		p += n;
		offset += n;
		len -= n;
	}
	return rc;
}

enum client_io_result client_pwrite(struct nbd_client *c, const void *buf, uint64_t len,
				    uint64_t offset, bool fua)
{
	enum client_io_result rc = check_range(c, len, offset);
	const uint8_t *p = buf;
	uint16_t flags = fua ? NBD_CMD_FLAG_FUA : 0;

	if (rc != CLIENT_IO_OK)
		return rc;
	if (c->export.flags & NBD_FLAG_READ_ONLY)
		return client_io_invalid(c, EPERM, "the export is read-only");
	if (fua && !(c->export.flags & NBD_FLAG_SEND_FUA))
		return client_io_invalid(c, ENOTSUP, "the server does not accept FUA");
	while (rc == CLIENT_IO_OK && len > 0) {
		uint32_t n = len < io_chunk(c) ? len : io_chunk(c);

		rc = request(c, NBD_CMD_WRITE, flags, offset, n, p, NULL);
		p += n;
		offset += n;
		len -= n;
	}
	return rc;
}

enum client_io_result client_flush(struct nbd_client *c)
{
	if (!(c->export.flags & NBD_FLAG_SEND_FLUSH))
		return client_io_invalid(c, ENOTSUP, "the server does not accept FLUSH");
	return request(c, NBD_CMD_FLUSH, 0, 0, 0, NULL, NULL);
}

enum client_io_result client_trim(struct nbd_client *c, uint64_t len, uint64_t offset)
{
	enum client_io_result rc = check_range(c, len, offset);

	if (rc != CLIENT_IO_OK)
		return rc;
	if (c->export.flags & NBD_FLAG_READ_ONLY)
		return client_io_invalid(c, EPERM, "the export is read-only");
	if (!(c->export.flags & NBD_FLAG_SEND_TRIM))
		return client_io_invalid(c, ENOTSUP, "the server does not accept TRIM");
	while (rc == CLIENT_IO_OK && len > 0) {
		uint32_t n = len < TRIM_CHUNK_MAX ? len : TRIM_CHUNK_MAX;

		rc = request(c, NBD_CMD_TRIM, 0, offset, n, NULL, NULL);
		offset += n;
		len -= n;
	}
	return rc;
}
