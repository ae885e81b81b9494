/* SPDX-License-Identifier: MIT */
/*
 * The options that come before GO when a client wants more than simple
 * replies: NBD_OPT_STRUCTURED_REPLY, then NBD_OPT_SET_META_CONTEXT for the
 * context whose BLOCK_STATUS chunks it will read (base:allocation).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientlib/client_priv.h"
#include "common/wire.h"

/* A server granting more contexts than the one asked for is broken. */
#define MAX_META_REPLIES	16

enum client_result client_structured_replies(struct nbd_client *c)
{
	struct client_reply *r;
	enum client_result rc;

	if (client_greeting(c) < 0)
		return CLIENT_FAILED;
	if (!c->fixed_newstyle)
		return client_invalid(c, ENOTSUP,
				      "the server is not fixed-newstyle: no structured replies");
	r = malloc(sizeof(*r));
	if (!r)
		return client_invalid(c, ENOMEM, "out of memory");
	rc = client_send_option(c, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
	if (rc == CLIENT_OK)
		rc = client_read_reply(c, NBD_OPT_STRUCTURED_REPLY, r);
	if (rc == CLIENT_OK && r->type != NBD_REP_ACK)
		rc = client_reply_error(c, NBD_OPT_STRUCTURED_REPLY, "", r);
	else if (rc == CLIENT_OK && r->len)
		rc = client_fail(c, EPROTO, "NBD_REP_ACK to STRUCTURED_REPLY carries %u bytes",
				 r->len);
	if (rc == CLIENT_OK)
		c->structured = true;
	free(r);
	return rc;
}

/* One NBD_REP_META_CONTEXT: id(4) name. Only the context asked for may
 * come back. */
static enum client_result granted(struct nbd_client *c, const struct client_reply *r,
				  const char *context)
{
	size_t len = strlen(context);

	if (r->len < 4)
		return client_fail(c, EPROTO, "NBD_REP_META_CONTEXT of %u bytes", r->len);
	if (r->len - 4 != len || memcmp(r->data + 4, context, len))
		return client_fail(c, EPROTO,
				   "the server granted a meta context that was not asked for");
	if (c->have_meta)
		return client_fail(c, EPROTO, "the server granted '%s' twice", context);
	c->have_meta = true;
	c->meta_id = get_be32(r->data);
	return CLIENT_OK;
}

enum client_result client_meta_context(struct nbd_client *c, const char *export,
				       const char *context)
{
	size_t nlen = strlen(export), clen = strlen(context);
	uint8_t req[4 + NBD_MAX_STRING + 4 + 4 + 256];
	struct client_reply *r;
	enum client_result rc;
	size_t n = 0;

	if (nlen > NBD_MAX_STRING || clen > 256)
		return client_invalid(c, EINVAL, "export name or meta context too long");
	r = malloc(sizeof(*r));
	if (!r)
		return client_invalid(c, ENOMEM, "out of memory");
	put_be32(req, nlen);
	memcpy(req + 4, export, nlen);
	n = 4 + nlen;
	put_be32(req + n, 1);
	put_be32(req + n + 4, clen);
	memcpy(req + n + 8, context, clen);
	n += 8 + clen;
	c->have_meta = false;
	rc = client_send_option(c, NBD_OPT_SET_META_CONTEXT, req, n);
	for (int i = 0; rc == CLIENT_OK && i <= MAX_META_REPLIES; i++) {
		rc = client_read_reply(c, NBD_OPT_SET_META_CONTEXT, r);
		if (rc != CLIENT_OK)
			break;
		if (r->type == NBD_REP_ACK)
			goto out;
		if (r->type != NBD_REP_META_CONTEXT) {
			rc = client_reply_error(c, NBD_OPT_SET_META_CONTEXT, "", r);
			goto out;
		}
		rc = granted(c, r, context);
	}
	if (rc == CLIENT_OK)
		rc = client_fail(c, EPROTO, "more than %d replies to SET_META_CONTEXT",
				 MAX_META_REPLIES);
out:
	free(r);
	return rc;
}
