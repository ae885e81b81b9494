/* SPDX-License-Identifier: MIT */
/*
 * Fixed-newstyle negotiation from the client's side: the greeting, option
 * requests, and option replies checked field by field. A reply's length
 * is checked against a fixed bound before a byte of its payload is read,
 * so a hostile or broken server can neither make us allocate nor read
 * without end.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clientlib/client_priv.h"
#include "common/wire.h"
#include "proto/messages.h"
#include "proto/names.h"
#include "proto/nbd_errno.h"

/* The second magic of an oldstyle greeting ("cliserv magic"). */
#define NBD_OLDSTYLE_MAGIC	0x00420281861253ULL

enum client_result client_greeting(struct nbd_client *c)
{
	uint8_t buf[18], cflags[4];
	uint64_t magic;

	if (c->greeted)
		return CLIENT_OK;
	if (client_recv(c, buf, sizeof(buf)) < 0)
		return client_io_fail(c, "while reading the greeting");
	magic = get_be64(buf);
	if (magic != NBD_MAGIC)
		return client_fail(c, EPROTO,
				   "not an NBD server (greeting starts 0x%016llx, expected NBDMAGIC)",
				   (unsigned long long)magic);
	magic = get_be64(buf + 8);
	if (magic == NBD_OLDSTYLE_MAGIC)
		return client_fail(c, EPROTO,
				   "the server speaks the oldstyle protocol, which is not supported");
	if (magic != NBD_IHAVEOPT)
		return client_fail(c, EPROTO,
				   "bad greeting: 0x%016llx where IHAVEOPT was expected",
				   (unsigned long long)magic);
	c->handshake_flags = get_be16(buf + 16);
	c->fixed_newstyle = c->handshake_flags & NBD_FLAG_FIXED_NEWSTYLE;
	c->no_zeroes = c->handshake_flags & NBD_FLAG_NO_ZEROES;
	put_be32(cflags, (c->fixed_newstyle ? NBD_FLAG_C_FIXED_NEWSTYLE : 0) |
		 (c->no_zeroes ? NBD_FLAG_C_NO_ZEROES : 0));
	if (client_send(c, cflags, sizeof(cflags), NULL, 0) < 0)
		return client_io_fail(c, "while sending the client flags");
	c->greeted = true;
	return CLIENT_OK;
}

enum client_result client_send_option(struct nbd_client *c, uint32_t opt,
				      const void *data, uint32_t len)
{
	uint8_t hdr[NBD_OPTION_HEADER_SIZE];
	char what[64];

	proto_option_encode(hdr, opt, len);
	if (client_send(c, hdr, sizeof(hdr), data, len) == 0)
		return CLIENT_OK;
	snprintf(what, sizeof(what), "while sending option %s", nbd_opt_name(opt));
	return client_io_fail(c, what);
}

enum client_result client_read_reply(struct nbd_client *c, uint32_t opt,
				     struct client_reply *r)
{
	uint8_t hdr[NBD_OPTION_REPLY_SIZE];
	struct proto_option_reply rep;
	char what[80];

	snprintf(what, sizeof(what), "while reading the reply to %s",
		 nbd_opt_name(opt));
	if (client_recv(c, hdr, sizeof(hdr)) < 0)
		return client_io_fail(c, what);
	if (!proto_option_reply_decode(hdr, &rep))
		return client_fail(c, EPROTO,
				   "bad option reply magic 0x%016llx in the reply to %s",
				   (unsigned long long)rep.magic, nbd_opt_name(opt));
	r->type = rep.type;
	r->len = rep.length;
	if (rep.option != opt)
		return client_fail(c, EPROTO,
				   "the server answered option %s with a reply for option %u",
				   nbd_opt_name(opt), rep.option);
	if (r->len > CLIENT_REPLY_MAX)
		return client_fail(c, EPROTO,
				   "the server's %s reply to %s claims %u bytes (this client accepts at most %d)",
				   nbd_rep_name(r->type), nbd_opt_name(opt),
				   r->len, CLIENT_REPLY_MAX);
	if (client_recv(c, r->data, r->len) < 0)
		return client_io_fail(c, what);
	r->data[r->len] = '\0';
	return CLIENT_OK;
}

enum client_result client_reply_error(struct nbd_client *c, uint32_t opt,
				      const char *subject, const struct client_reply *r)
{
	bool unsup = r->type == NBD_REP_ERR_UNSUP;
	char msg[256];

	client_printable(msg, sizeof(msg), r->data, r->len);
	if (!(r->type & NBD_REP_FLAG_ERROR))
		return client_fail(c, EPROTO,
				   "unexpected %s reply (type %u) to %s%s",
				   nbd_rep_name(r->type), r->type,
				   nbd_opt_name(opt), subject);
	client_set_error(c, nbd_rep_error_to_errno(r->type),
			 "the server refused %s%s: %s (0x%08x)%s%s",
			 nbd_opt_name(opt), subject, nbd_rep_name(r->type),
			 r->type, msg[0] ? ": " : "", msg);
	return unsup ? CLIENT_UNSUPPORTED : CLIENT_REFUSED;
}

