/* SPDX-License-Identifier: MIT */
/*
 * Entering transmission: NBD_OPT_GO (and NBD_OPT_INFO, its read-only
 * twin) with the INFO replies that describe the export, or EXPORT_NAME
 * when the server does not know GO.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clientlib/client_priv.h"
#include "common/wire.h"
#include "proto/names.h"

/* More INFO replies than this to one request is a server gone wrong. */
#define MAX_INFO_REPLIES	64

static void set_defaults(struct client_export *ex)
{
	ex->have_block_size = false;
	ex->min_block = NBD_DEFAULT_MIN_BLOCK;
	ex->pref_block = NBD_DEFAULT_PREF_BLOCK;
	ex->max_payload = NBD_DEFAULT_MAX_PAYLOAD;
}

static enum client_result check_export(struct nbd_client *c, const struct client_export *ex)
{
	if (!(ex->flags & NBD_FLAG_HAS_FLAGS))
		return client_fail(c, EPROTO,
				   "the server's transmission flags 0x%04x lack NBD_FLAG_HAS_FLAGS",
				   ex->flags);
	if (ex->size > INT64_MAX)
		return client_fail(c, EPROTO, "the server reports an export size of %llu bytes, beyond 2^63",
				   (unsigned long long)ex->size);
	return CLIENT_OK;
}

/* EXPORT_NAME: the old way in, with no error path (a refusal closes). */
static enum client_result export_name(struct nbd_client *c, const char *name)
{
	struct client_export *ex = &c->export;
	uint8_t buf[10];
	char shown[65];

	if (client_send_option(c, NBD_OPT_EXPORT_NAME, name, strlen(name)) != CLIENT_OK)
		return CLIENT_FAILED;
	if (client_recv(c, buf, sizeof(buf)) < 0) {
		client_printable(shown, sizeof(shown), (const uint8_t *)name, strlen(name));
		if (errno == ECONNRESET)
			return client_fail(c, ENOENT,
					   "the server closed the connection after EXPORT_NAME '%s' (no such export, or refused)",
					   shown);
		return client_io_fail(c, "while reading the reply to EXPORT_NAME");
	}
	if (!c->no_zeroes && client_discard(c, 124) < 0)
		return client_io_fail(c, "while reading the reply to EXPORT_NAME");
	memset(ex, 0, sizeof(*ex));
	set_defaults(ex);
	ex->size = get_be64(buf);
	ex->flags = get_be16(buf + 8);
	ex->via_export_name = true;
	snprintf(ex->name, sizeof(ex->name), "%s", name);
	if (check_export(c, ex) != CLIENT_OK)
		return CLIENT_FAILED;
	c->transmission = true;
	return CLIENT_OK;
}

static bool power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

static enum client_result block_size_info(struct nbd_client *c, struct client_export *ex,
			   const uint8_t *p)
{
	uint32_t min = get_be32(p), pref = get_be32(p + 4), max = get_be32(p + 8);

	if (!power_of_two(min) || min > 65536)
		return client_fail(c, EPROTO,
				   "the server's minimum block size %u is not a power of two up to 64 KiB",
				   min);
	if (!power_of_two(pref) || pref < min)
		return client_fail(c, EPROTO,
				   "the server's preferred block size %u is not a power of two at least its minimum %u",
				   pref, min);
	if (max < min || (max != UINT32_MAX && max % min))
		return client_fail(c, EPROTO,
				   "the server's maximum payload %u is not a multiple of its minimum block size %u",
				   max, min);
	ex->have_block_size = true;
	ex->min_block = min;
	ex->pref_block = pref;
	ex->max_payload = max;
	return CLIENT_OK;
}

/* A string INFO payload (NAME, DESCRIPTION): no NUL bytes, bounded. */
static enum client_result string_info(struct nbd_client *c, char *out,
				      const uint8_t *p, uint32_t len, const char *what)
{
	if (len > NBD_MAX_STRING)
		return client_fail(c, EPROTO, "the server's %s is longer than %d bytes",
				   what, NBD_MAX_STRING);
	if (memchr(p, '\0', len))
		return client_fail(c, EPROTO, "the server's %s contains a NUL byte", what);
	memcpy(out, p, len);
	out[len] = '\0';
	return CLIENT_OK;
}

static enum client_result info_reply(struct nbd_client *c, struct client_export *ex,
				     const struct client_reply *r, bool *have_export)
{
	const uint8_t *p = r->data + 2;
	uint32_t len = r->len - 2;
	uint16_t type;

	if (r->len < 2)
		return client_fail(c, EPROTO, "NBD_REP_INFO of %u bytes (at least 2 expected)",
				   r->len);
	type = get_be16(r->data);
	switch (type) {
	case NBD_INFO_EXPORT:
		if (len != 10)
			return client_fail(c, EPROTO, "NBD_INFO_EXPORT of %u bytes (12 expected)",
					   r->len);
		ex->size = get_be64(p);
		ex->flags = get_be16(p + 8);
		*have_export = true;
		return CLIENT_OK;
	case NBD_INFO_NAME:
		/* Kept apart from ex->name: a server must not choose what
		 * this host names the device by. */
		return string_info(c, ex->server_name, p, len, "export name");
	case NBD_INFO_DESCRIPTION:
		return string_info(c, ex->description, p, len, "export description");
	case NBD_INFO_BLOCK_SIZE:
		if (len != 12)
			return client_fail(c, EPROTO, "NBD_INFO_BLOCK_SIZE of %u bytes (14 expected)",
					   r->len);
		return block_size_info(c, ex, p);
	default:
		/* The spec: unknown information types are ignored. */
		return CLIENT_OK;
	}
}

/*
 * Sends GO or INFO for name and reads replies up to the ACK. An error
 * reply (CLIENT_REFUSED, or CLIENT_UNSUPPORTED for NBD_REP_ERR_UNSUP)
 * leaves the connection in negotiation.
 */
static enum client_result go_or_info(struct nbd_client *c, uint32_t opt,
				     const char *name, struct client_export *ex)
{
	static const uint16_t wanted[] = {
		NBD_INFO_BLOCK_SIZE, NBD_INFO_NAME, NBD_INFO_DESCRIPTION,
	};
	size_t namelen = strlen(name), n = 0;
	uint8_t req[4 + NBD_MAX_STRING + 2 + sizeof(wanted)];
	struct client_reply r;
	char subject[96], shown[65];
	bool have_export = false;

	if (namelen > NBD_MAX_STRING)
		return client_invalid(c, EINVAL, "export name longer than %d bytes",
				      NBD_MAX_STRING);
	put_be32(req, namelen);
	memcpy(req + 4, name, namelen);
	n = 4 + namelen;
	put_be16(req + n, sizeof(wanted) / 2);
	n += 2;
	for (size_t i = 0; i < sizeof(wanted) / 2; i++, n += 2)
		put_be16(req + n, wanted[i]);
	if (client_send_option(c, opt, req, n) != CLIENT_OK)
		return CLIENT_FAILED;

	memset(ex, 0, sizeof(*ex));
	set_defaults(ex);
	snprintf(ex->name, sizeof(ex->name), "%s", name);
	client_printable(shown, sizeof(shown), (const uint8_t *)name, namelen);
	snprintf(subject, sizeof(subject), " for export '%s'", shown);
	for (int i = 0; i <= MAX_INFO_REPLIES; i++) {
		if (client_read_reply(c, opt, &r) != CLIENT_OK)
			return CLIENT_FAILED;
		if (r.type == NBD_REP_INFO) {
			if (info_reply(c, ex, &r, &have_export) != CLIENT_OK)
				return CLIENT_FAILED;
			continue;
		}
		if (r.type != NBD_REP_ACK)
			return client_reply_error(c, opt, subject, &r);
		if (r.len)
			return client_fail(c, EPROTO, "NBD_REP_ACK to %s carries %u bytes",
					   nbd_opt_name(opt), r.len);
		if (!have_export)
			return client_fail(c, EPROTO,
					   "the server acknowledged %s without sending NBD_INFO_EXPORT",
					   nbd_opt_name(opt));
		return check_export(c, ex);
	}
	return client_fail(c, EPROTO, "more than %d NBD_REP_INFO replies to %s",
			   MAX_INFO_REPLIES, nbd_opt_name(opt));
}

enum client_result client_go(struct nbd_client *c, const char *name)
{
	enum client_result rc = client_greeting(c);

	if (rc != CLIENT_OK)
		return rc;
	if (strlen(name) > NBD_MAX_STRING)
		return client_invalid(c, EINVAL, "export name longer than %d bytes",
				      NBD_MAX_STRING);
	/* Without fixed newstyle an unknown option makes the server hang up:
	 * EXPORT_NAME is the only safe request. */
	if (!c->fixed_newstyle)
		return export_name(c, name);
	rc = go_or_info(c, NBD_OPT_GO, name, &c->export);
	if (rc == CLIENT_OK)
		c->transmission = true;
	if (rc != CLIENT_UNSUPPORTED)
		return rc;
	return export_name(c, name);
}

enum client_result client_info(struct nbd_client *c, const char *name,
			       struct client_export *ex)
{
	enum client_result rc = client_greeting(c);

	if (rc != CLIENT_OK)
		return rc;
	if (!c->fixed_newstyle) {
		client_set_error(c, ENOTSUP,
				 "the server is not fixed-newstyle: it cannot answer INFO");
		return CLIENT_UNSUPPORTED;
	}
	return go_or_info(c, NBD_OPT_INFO, name, ex);
}
