/* SPDX-License-Identifier: MIT */
/* NBD_OPT_LIST and NBD_OPT_ABORT: asking a server what it exports, and
 * leaving negotiation without entering transmission. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clientlib/client_priv.h"
#include "common/wire.h"

/* A bound on the number of SERVER replies, so that a server cannot keep
 * us listing forever. */
#define MAX_LIST_REPLIES	100000

static enum client_result server_reply(struct nbd_client *c, const struct client_reply *r,
				       client_list_fn fn, void *opaque)
{
	char name[NBD_MAX_STRING + 1], desc[NBD_MAX_STRING + 1];
	uint32_t namelen, desclen;

	if (r->len < 4)
		return client_fail(c, EPROTO, "NBD_REP_SERVER of %u bytes (at least 4 expected)",
				   r->len);
	namelen = get_be32(r->data);
	if (namelen > r->len - 4)
		return client_fail(c, EPROTO,
				   "NBD_REP_SERVER name length %u exceeds the reply's %u bytes",
				   namelen, r->len - 4);
	desclen = r->len - 4 - namelen;
	if (namelen > NBD_MAX_STRING || desclen > NBD_MAX_STRING)
		return client_fail(c, EPROTO, "NBD_REP_SERVER with a name or description over %d bytes",
				   NBD_MAX_STRING);
	if (memchr(r->data + 4, '\0', r->len - 4))
		return client_fail(c, EPROTO, "NBD_REP_SERVER with a NUL byte in a name or description");
	memcpy(name, r->data + 4, namelen);
	name[namelen] = '\0';
	memcpy(desc, r->data + 4 + namelen, desclen);
	desc[desclen] = '\0';
	return fn(opaque, name, desc) ? CLIENT_STOPPED : CLIENT_OK;
}

enum client_result client_list(struct nbd_client *c, client_list_fn fn, void *opaque)
{
	struct client_reply r;
	enum client_result rc = client_greeting(c);

	if (rc == CLIENT_OK)
		rc = client_send_option(c, NBD_OPT_LIST, NULL, 0);
	for (int i = 0; rc == CLIENT_OK && i <= MAX_LIST_REPLIES; i++) {
		rc = client_read_reply(c, NBD_OPT_LIST, &r);
		if (rc != CLIENT_OK)
			break;
		if (r.type == NBD_REP_ACK) {
			if (r.len)
				return client_fail(c, EPROTO, "NBD_REP_ACK to LIST carries %u bytes",
						   r.len);
			return CLIENT_OK;
		}
		if (r.type != NBD_REP_SERVER)
			return client_reply_error(c, NBD_OPT_LIST, "", &r);
		rc = server_reply(c, &r, fn, opaque);
	}
	if (rc != CLIENT_OK)
		return rc;
	return client_fail(c, EPROTO, "more than %d exports listed", MAX_LIST_REPLIES);
}

enum client_result client_abort(struct nbd_client *c)
{
	struct client_reply r;
	enum client_result rc = client_greeting(c);

	if (rc == CLIENT_OK)
		rc = client_send_option(c, NBD_OPT_ABORT, NULL, 0);
	if (rc != CLIENT_OK)
		return rc;
	/* The server may acknowledge or simply close; both end things. */
	if (client_read_reply(c, NBD_OPT_ABORT, &r) != CLIENT_OK)
		return errno == ECONNRESET ? CLIENT_OK : CLIENT_FAILED;
	if (r.type != NBD_REP_ACK)
		return client_reply_error(c, NBD_OPT_ABORT, "", &r);
	return CLIENT_OK;
}
