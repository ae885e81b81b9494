/* SPDX-License-Identifier: MIT */
/*
 * Fixed-newstyle negotiation, server side. Every length the client sends
 * is checked against what it claims to frame before anything is read
 * into memory, and the whole negotiation runs against one deadline, so a
 * client can neither make the worker allocate without bound nor hold it
 * by dripping bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnbd/protocol.h"
#include "common/log.h"
#include "engine/serve_session.h"
#include "engine/tls_server.h"
#include "common/wire.h"
#include "proto/messages.h"

/* An option's data, with a cursor for taking fields off its front. */
struct opt_data {
	const uint8_t *p;
	uint32_t left;
};

/* The negotiation's deadline, NULL when there is none. */
static const struct timespec *deadline(const struct session *s)
{
	return s->deadline.tv_sec ? &s->deadline : NULL;
}

static int remaining_ms(const struct session *s)
{
	return conn_ms_until(deadline(s));
}

static int hs_read(struct session *s, void *buf, size_t len)
{
	return conn_read_full_until(&s->io, buf, len, deadline(s));
}

static int send_bytes(struct session *s, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return conn_writev(&s->io, &iov, 1, false);
}

static int send_reply(struct session *s, uint32_t option, uint32_t type,
		      const void *data, uint32_t len)
{
	uint8_t hdr[NBD_OPTION_REPLY_SIZE];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)data, .iov_len = len },
	};

	proto_option_reply_encode(hdr, option, type, len);
	return conn_writev(&s->io, iov, len ? 2 : 1, false);
}

/* An error reply whose text the client may show its user. */
static int send_error(struct session *s, uint32_t option, uint32_t type,
		      const char *fmt, ...)
{
	char msg[512], esc[3 * LOG_ESCAPE_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* msg may hold what the client sent (an export name). */
	log_debug("option %u refused (0x%x): %s", option, type,
		  log_escape(msg, esc, sizeof(esc)));
	return send_reply(s, option, type, msg, strlen(msg));
}

/* An option whose answer was sent (sent 0) or could not be (-1). */
static enum handshake_result answered(int sent)
{
	return sent < 0 ? HANDSHAKE_FAILED : HANDSHAKE_NEXT;
}

static bool take_u16(struct opt_data *d, uint16_t *v)
{
	if (d->left < 2)
		return false;
	*v = get_be16(d->p);
	d->p += 2;
	d->left -= 2;
	return true;
}

static bool take_u32(struct opt_data *d, uint32_t *v)
{
	if (d->left < 4)
		return false;
	*v = get_be32(d->p);
	d->p += 4;
	d->left -= 4;
	return true;
}

/* A string of len bytes, copied and NUL-terminated; NULL when it does
 * not fit the data, is too long, or has a NUL in it. */
static char *take_string(struct opt_data *d, uint32_t len)
{
	char *str;

	if (len > d->left || len > NBD_MAX_STRING)
		return NULL;
	if (len == 0)
		return strdup("");	/* d->p may be NULL: no data at all */
	if (memchr(d->p, 0, len))
		return NULL;
	str = strndup((const char *)d->p, len);
	d->p += len;
	d->left -= len;
	return str;
}

static int lease(struct session *s, const struct cnbd_export *exp,
		 char *why, size_t whylen);

uint16_t cnbd_export_flags(const struct cnbd_export *exp, void *conn)
{
	const struct cnbd_backend *be = exp->backend;
	bool writable = !exp->readonly && be->pwrite &&
			(!be->can_write || be->can_write(conn) > 0);
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_CACHE;

	if (!writable)
		f |= NBD_FLAG_READ_ONLY;
	if (be->flush)
		f |= NBD_FLAG_SEND_FLUSH;
	if (writable && (be->flush || (be->flags & CNBD_BACKEND_NATIVE_FUA)))
		f |= NBD_FLAG_SEND_FUA;
	if (writable && be->trim)
		f |= NBD_FLAG_SEND_TRIM;
	if (writable)
		f |= NBD_FLAG_SEND_WRITE_ZEROES;
	if (writable && be->zero)
		f |= NBD_FLAG_SEND_FAST_ZERO;
	/* Read-only data is consistent across connections by definition. */
	if ((be->flags & CNBD_BACKEND_MULTI_CONN) || !writable)
		f |= NBD_FLAG_CAN_MULTI_CONN;
	if (be->flags & CNBD_BACKEND_ROTATIONAL)
		f |= NBD_FLAG_ROTATIONAL;
	return f;
}

static uint16_t transmission_flags(const struct session *s)
{
	uint16_t f = s->be ? cnbd_export_flags(s->exp, s->conn) : s->exp->flags;

	return s->structured ? f | NBD_FLAG_SEND_DF : f;
}

static void block_sizes(const struct cnbd_export *exp, uint32_t out[3])
{
	out[0] = exp->min_block ? exp->min_block : NBD_DEFAULT_MIN_BLOCK;
	out[1] = exp->pref_block ? exp->pref_block : NBD_DEFAULT_PREF_BLOCK;
	out[2] = exp->max_block ? exp->max_block : NBD_DEFAULT_MAX_PAYLOAD;
}

/* The largest READ or WRITE served. A client that asked for block sizes
 * learnt the advertised maximum and promised to keep to it (it is held
 * to it, as the protocol allows); one that never asked may send more,
 * and is served up to SERVE_UNNEGOTIATED_MAX_PAYLOAD, as nbdkit serves
 * it. The in-flight bound (serve_transmission.c) weighs each request by
 * its length, so larger requests only mean fewer at once. */
static uint32_t max_payload(const struct session *s, const struct cnbd_export *exp)
{
	uint32_t advertised = exp->max_block ? exp->max_block : NBD_DEFAULT_MAX_PAYLOAD;

	if (s->block_size_asked || advertised >= SERVE_UNNEGOTIATED_MAX_PAYLOAD)
		return advertised;
	return SERVE_UNNEGOTIATED_MAX_PAYLOAD;
}

/* Opens the backend connection for exp and learns its size. An export
 * that is a description only (INFO in an nbd-serverd worker) says what
 * it holds and opens nothing. */
static int open_export(struct session *s, const struct cnbd_export *exp)
{
	const struct cnbd_backend *be = exp->backend;
	int64_t size;

	s->exp = exp;
	s->be = be;
	if (!be) {
		s->size = exp->size;
		s->tflags = transmission_flags(s);
		return 0;
	}
	s->conn = be->open_conn ? be->open_conn(exp->handle, exp->readonly) : exp->handle;
	if (!s->conn) {
		log_error("export '%s': backend %s could not open a connection: %s",
			  exp->name, be->name, strerror(errno));
		return -1;
	}
	size = be->get_size(s->conn);
	if (size < 0) {
		log_error("export '%s': backend %s could not tell its size: %s",
			  exp->name, be->name, strerror(errno));
		if (be->close_conn)
			be->close_conn(s->conn);
		s->conn = NULL;
		return -1;
	}
	s->size = size;
	s->tflags = transmission_flags(s);
	s->emulate_fua = !(be->flags & CNBD_BACKEND_NATIVE_FUA);
	s->max_payload = max_payload(s, exp);
	return 0;
}

/* Asks the owner for a connection lease on exp (GO, EXPORT_NAME). */
static int lease(struct session *s, const struct cnbd_export *exp,
		 char *why, size_t whylen)
{
	if (s->hooks->acquire) {
		if (s->hooks->acquire(s->hooks->ctx, exp, why, whylen) < 0)
			return -1;
		s->leased = true;
		s->exp = exp;
	}
	return 0;
}

/* The export GO or EXPORT_NAME serves: exp itself, or what the owner's
 * attach hook gives for it (NULL: refused, why says why). */
static const struct cnbd_export *attach(struct session *s, const struct cnbd_export *exp,
					char *why, size_t whylen)
{
	const struct cnbd_export *served = exp;

	if (s->hooks->attach)
		served = s->hooks->attach(s->hooks->ctx, exp, why, whylen);
	if (served && !served->backend) {
		snprintf(why, whylen, "export '%s' has no backend", exp->name);
		served = NULL;
	}
	return served;
}

void serve_close_export(struct session *s)
{
	if (s->conn && s->be->close_conn)
		s->be->close_conn(s->conn);
	if (s->leased && s->hooks->release)
		s->hooks->release(s->hooks->ctx, s->exp);
	s->leased = false;
	s->conn = NULL;
	s->exp = NULL;
	s->be = NULL;
}

/* Every entry point caps names and descriptions at NBD_MAX_STRING; one
 * that got past them is cut there, not copied past buf. */
static int send_info(struct session *s, uint32_t option, uint16_t info,
		     const void *payload, uint32_t len)
{
	uint8_t buf[2 + NBD_MAX_STRING];

	if (len > NBD_MAX_STRING) {
		log_error("information %u of %u bytes is longer than the protocol's %d: cut short",
			  info, len, NBD_MAX_STRING);
		len = NBD_MAX_STRING;
	}
	put_be16(buf, info);
	memcpy(buf + 2, payload, len);
	return send_reply(s, option, NBD_REP_INFO, buf, 2 + len);
}

static int send_export_infos(struct session *s, uint32_t option,
			     const uint16_t *requests, uint16_t nreq)
{
	const struct cnbd_export *exp = s->exp;
	uint8_t payload[12];
	uint32_t sizes[3];
	bool want_name = false, want_desc = false;

	for (uint16_t i = 0; i < nreq; i++) {
		want_name |= requests[i] == NBD_INFO_NAME;
		want_desc |= requests[i] == NBD_INFO_DESCRIPTION;
	}
	put_be64(payload, s->size);
	put_be16(payload + 8, s->tflags);
	if (send_info(s, option, NBD_INFO_EXPORT, payload, 10) < 0)
		return -1;
	if (want_name && send_info(s, option, NBD_INFO_NAME, exp->name,
				   strlen(exp->name)) < 0)
		return -1;
	if (want_desc && exp->description &&
	    send_info(s, option, NBD_INFO_DESCRIPTION, exp->description,
		      strlen(exp->description)) < 0)
		return -1;
	/* Always sent: a client that ignores it is no worse off, and one
	 * that reads it learns our limits. */
	block_sizes(exp, sizes);
	put_be32(payload, sizes[0]);
	put_be32(payload + 4, sizes[1]);
	put_be32(payload + 8, sizes[2]);
	if (send_info(s, option, NBD_INFO_BLOCK_SIZE, payload, 12) < 0)
		return -1;
	return send_reply(s, option, NBD_REP_ACK, NULL, 0);
}

/* INFO and GO: TRANSMISSION when GO chose an export. */
static enum handshake_result handle_info_go(struct session *s, uint32_t option,
					    struct opt_data *d)
{
	uint32_t namelen;
	uint16_t nreq, requests[64];
	const struct cnbd_export *exp;
	char why[256] = "";
	char *name = NULL;
	enum handshake_result rc = HANDSHAKE_FAILED;

	if (!take_u32(d, &namelen) || !(name = take_string(d, namelen)) ||
	    !take_u16(d, &nreq) || d->left != 2U * nreq) {
		rc = answered(send_error(s, option, NBD_REP_ERR_INVALID, "malformed %s request",
					 option == NBD_OPT_GO ? "GO" : "INFO"));
		goto out;
	}
	s->block_size_asked = false;
	for (uint16_t i = 0; i < nreq; i++) {
		uint16_t req = 0;

		take_u16(d, &req);
		if (i < 64)
			requests[i] = req;
		if (option == NBD_OPT_GO && req == NBD_INFO_BLOCK_SIZE)
			s->block_size_asked = true;
	}
	if (nreq > 64)
		nreq = 64;

	exp = s->hooks->find_export(s->hooks->ctx, name);
	if (!exp) {
		rc = answered(send_error(s, option, NBD_REP_ERR_UNKNOWN,
					 name[0] ? "no export named '%s'" : "no default export%s",
					 name));
		goto out;
	}
	if (exp->refused) {
		rc = send_error(s, option, NBD_REP_ERR_POLICY,
				"export '%s' is not open to this client", exp->name);
		goto out;
	}
	if (exp->tls_required && !conn_tls(&s->io)) {
		rc = answered(send_error(s, option, NBD_REP_ERR_TLS_REQD,
					 "export '%s' is served over TLS only", exp->name));
		goto out;
	}
	if (option == NBD_OPT_INFO && !exp->backend && !exp->flags) {
		rc = answered(send_error(s, option, NBD_REP_ERR_UNKNOWN,
					 "export '%s' cannot be described now (its storage could not be reached)",
					 exp->name));
		goto out;
	}
	if (option == NBD_OPT_GO && lease(s, exp, why, sizeof(why)) < 0) {
		rc = answered(send_error(s, option, NBD_REP_ERR_POLICY, "%s",
					 why[0] ? why : "export is at its connection limit"));
		goto out;
	}
	if (option == NBD_OPT_GO && !(exp = attach(s, exp, why, sizeof(why)))) {
		send_error(s, option, NBD_REP_ERR_UNKNOWN, "%s", why);
		goto out;	/* a lease may be held: end the connection */
	}
	if (open_export(s, exp) < 0) {
		send_error(s, option, NBD_REP_ERR_UNKNOWN,
			   "export '%s' cannot be opened", exp->name);
		goto out;	/* a lease may be held: end the connection */
	}
	if (send_export_infos(s, option, requests, nreq) < 0)
		goto out;
	if (option == NBD_OPT_GO) {
		/* Meta contexts only hold for the export they were set on. */
		if (!s->meta_export || strcmp(s->meta_export, name))
			s->meta_base_allocation = false;
		rc = HANDSHAKE_TRANSMISSION;
	} else {
		serve_close_export(s);
		rc = HANDSHAKE_NEXT;
	}
out:
	free(name);
	return rc;
}

/* EXPORT_NAME has no error path: anything wrong closes the connection. */
static enum handshake_result handle_export_name(struct session *s, struct opt_data *d)
{
	uint8_t reply[10 + 124] = { 0 };
	const struct cnbd_export *exp;
	char why[256] = "", esc[LOG_ESCAPE_SIZE], esc_why[LOG_ESCAPE_SIZE];
	char *name = take_string(d, d->left);

	if (!name) {
		log_info("EXPORT_NAME with an invalid name: closing");
		return HANDSHAKE_FAILED;
	}
	s->block_size_asked = false;
	exp = s->hooks->find_export(s->hooks->ctx, name);
	if (!exp) {
		log_info("EXPORT_NAME '%s': no such export: closing",
			 log_escape(name, esc, sizeof(esc)));
		goto fail;
	}
	if (exp->refused) {
		log_info("EXPORT_NAME '%s': not open to this client: closing",
			 log_escape(name, esc, sizeof(esc)));
		goto fail;
	}
	if (exp->tls_required && !conn_tls(&s->io)) {
		log_info("EXPORT_NAME '%s' without TLS: closing",
			 log_escape(name, esc, sizeof(esc)));
		goto fail;
	}
	if (lease(s, exp, why, sizeof(why)) < 0) {
		log_info("EXPORT_NAME '%s' refused: %s: closing",
			 log_escape(name, esc, sizeof(esc)), log_escape(why, esc_why, sizeof(esc_why)));
		goto fail;
	}
	if (!(exp = attach(s, exp, why, sizeof(why)))) {
		log_info("EXPORT_NAME '%s': %s: closing", name, why);
		goto fail;
	}
	if (open_export(s, exp) < 0)
		goto fail;
	if (!s->meta_export || strcmp(s->meta_export, name))
		s->meta_base_allocation = false;
	free(name);
	put_be64(reply, s->size);
	put_be16(reply + 8, s->tflags);
	if (send_bytes(s, reply, s->no_zeroes ? 10 : sizeof(reply)) < 0)
		return HANDSHAKE_FAILED;
	return HANDSHAKE_TRANSMISSION;
fail:
	free(name);
	return HANDSHAKE_FAILED;
}

static int handle_list(struct session *s, uint32_t len)
{
	const struct cnbd_export *exp;
	uint8_t buf[4 + 2 * NBD_MAX_STRING];

	if (len)
		return send_error(s, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
				  "LIST takes no data");
	for (size_t i = 0; (exp = s->hooks->export_at(s->hooks->ctx, i)); i++) {
		if (exp->refused || (exp->tls_required && !conn_tls(&s->io)))
			continue;	/* not for this client; not even its name in the clear */
		size_t nlen = strnlen(exp->name, NBD_MAX_STRING);
		size_t dlen = exp->description ? strnlen(exp->description, NBD_MAX_STRING) : 0;

		put_be32(buf, nlen);
		memcpy(buf + 4, exp->name, nlen);
		if (dlen)
			memcpy(buf + 4 + nlen, exp->description, dlen);
		if (send_reply(s, NBD_OPT_LIST, NBD_REP_SERVER, buf, 4 + nlen + dlen) < 0)
			return -1;
	}
	return send_reply(s, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

static int send_meta_context(struct session *s, uint32_t option, uint32_t id)
{
	static const char name[] = "base:allocation";
	uint8_t buf[4 + sizeof(name)];

	put_be32(buf, id);
	memcpy(buf + 4, name, sizeof(name) - 1);
	return send_reply(s, option, NBD_REP_META_CONTEXT, buf, 4 + sizeof(name) - 1);
}

/* LIST_META_CONTEXT and SET_META_CONTEXT; base:allocation is the one
 * context we know. */
static int handle_meta_context(struct session *s, uint32_t option, struct opt_data *d)
{
	bool is_set = option == NBD_OPT_SET_META_CONTEXT;
	const struct cnbd_export *exp;
	bool match = false;
	uint32_t namelen, nqueries;
	char *name = NULL;
	int rc;

	if (!s->structured)
		return send_error(s, option, NBD_REP_ERR_INVALID,
				  "negotiate structured replies first");
	if (!take_u32(d, &namelen) || !(name = take_string(d, namelen)) ||
	    !take_u32(d, &nqueries)) {
		rc = send_error(s, option, NBD_REP_ERR_INVALID, "malformed meta context request");
		goto out;
	}
	for (uint32_t i = 0; i < nqueries; i++) {
		uint32_t qlen;
		char *query;

		if (!take_u32(d, &qlen) || !(query = take_string(d, qlen))) {
			rc = send_error(s, option, NBD_REP_ERR_INVALID,
					"malformed meta context query");
			goto out;
		}
		if (!strcmp(query, "base:allocation") || (!is_set && !strcmp(query, "base:")))
			match = true;
		free(query);
	}
	if (d->left) {
		rc = send_error(s, option, NBD_REP_ERR_INVALID, "trailing data in meta context request");
		goto out;
	}
	exp = s->hooks->find_export(s->hooks->ctx, name);
	/* A TLS-only export does not exist for a plaintext client here:
	 * the same reply, byte for byte, as for a name nobody exports. */
	if (!exp || (exp->tls_required && !conn_tls(&s->io))) {
		rc = send_error(s, option, NBD_REP_ERR_UNKNOWN, "no export named '%s'", name);
		goto out;
	}
	if (exp->refused) {
		rc = send_error(s, option, NBD_REP_ERR_POLICY,
				"export '%s' is not open to this client", exp->name);
		goto out;
	}
	if (!is_set && nqueries == 0)
		match = true;	/* an empty LIST asks for everything */
	if (is_set) {
		free(s->meta_export);
		s->meta_export = name;
		name = NULL;
		s->meta_base_allocation = match;
	}
	if (match && send_meta_context(s, option, is_set ? META_CONTEXT_BASE_ALLOCATION : 0) < 0) {
		rc = -1;
		goto out;
	}
	rc = send_reply(s, option, NBD_REP_ACK, NULL, 0);
out:
	free(name);
	return rc;
}

static int handle_structured_reply(struct session *s, uint32_t len)
{
	if (len)
		return send_error(s, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ERR_INVALID,
				  "STRUCTURED_REPLY takes no data");
	if (s->structured)
		return send_error(s, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ERR_INVALID,
				  "structured replies already negotiated");
	s->structured = true;
	return send_reply(s, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, NULL, 0);
}

/* STARTTLS: ACK in the clear, then the TLS handshake on the socket. The
 * spec has the client start over: what was negotiated before is void. */
static enum handshake_result start_tls(struct session *s);

static enum handshake_result handle_starttls(struct session *s, uint32_t len)
{
	/* An owner that hands TLS connections off does the handshake
	 * elsewhere: it needs no credentials here. */
	if ((!s->tls && !s->hooks->hand_off_tls) || s->tls_mode == CNBD_TLS_OFF)
		return answered(send_error(s, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY,
					   "TLS is not enabled on this server"));
	if (len)
		return answered(send_error(s, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
					   "STARTTLS takes no data"));
	if (conn_tls(&s->io))
		return answered(send_error(s, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
					   "TLS is already in use"));
	if (send_reply(s, NBD_OPT_STARTTLS, NBD_REP_ACK, NULL, 0) < 0)
		return HANDSHAKE_FAILED;
	if (s->hooks->hand_off_tls) {
		s->hooks->hand_off_tls(s->hooks->ctx, s->io.fd, s->no_zeroes);
		return HANDSHAKE_ENDED;		/* given away */
	}
	return start_tls(s);
}

/* tls_kernel: the session goes on in the kernel (conn_io.h), so that
 * the rest is plain socket calls, sendfile's zero-copy reads included.
 * Where the kernel cannot take it, GnuTLS goes on: said, not refused. */
static int kernel_tls(struct session *s)
{
	char what[96], why[384];

	snprintf(what, sizeof(what), "%s %s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(s->io.tls)),
		 gnutls_cipher_get_name(gnutls_cipher_get(s->io.tls)));
	switch (conn_kernel_tls(&s->io, why, sizeof(why))) {
	case 0:
		log_debug("TLS established (%s), kernel TLS", what);
		return 0;
	case 1:
		log_info("kernel TLS cannot take this connection's %s (%s): GnuTLS serves it",
			 what, why);
		return 0;
	default:
		log_info("kernel TLS was half set up (%s): closing", why);
		return -1;
	}
}

/* NEXT once TLS is up: the client negotiates again, inside it. */
static enum handshake_result start_tls(struct session *s)
{
	char err[256];

	if (tls_server_handshake(s->tls, &s->io, remaining_ms(s), err, sizeof(err)) !=
	    TLS_ESTABLISHED) {
		log_info("%s", err);
		return HANDSHAKE_FAILED;
	}
	if (s->tls_kernel && kernel_tls(s) < 0)
		return HANDSHAKE_FAILED;
	if (s->io.tls)
		log_debug("TLS established");
	s->structured = false;
	s->meta_base_allocation = false;
	free(s->meta_export);
	s->meta_export = NULL;
	return HANDSHAKE_NEXT;
}

/* With TLS required, only STARTTLS and ABORT are answered in the clear. */
static bool refused_before_tls(const struct session *s, uint32_t option)
{
	return s->tls_mode == CNBD_TLS_REQUIRE && !conn_tls(&s->io) &&
	       option != NBD_OPT_STARTTLS && option != NBD_OPT_ABORT;
}

static enum handshake_result handle_option(struct session *s, uint32_t option,
					   uint8_t *data, uint32_t len)
{
	struct opt_data d = { .p = data, .left = len };

	if (refused_before_tls(s, option)) {
		if (option == NBD_OPT_EXPORT_NAME) {
			log_info("EXPORT_NAME before STARTTLS on a TLS-only server: closing");
			return HANDSHAKE_FAILED;
		}
		return answered(send_error(s, option, NBD_REP_ERR_TLS_REQD,
					   "this server requires TLS: send STARTTLS first"));
	}
	switch (option) {
	case NBD_OPT_STARTTLS:
		return handle_starttls(s, len);
	case NBD_OPT_EXPORT_NAME:
		return handle_export_name(s, &d);
	case NBD_OPT_ABORT:
		send_reply(s, option, NBD_REP_ACK, NULL, 0);
		return HANDSHAKE_ENDED;
	case NBD_OPT_LIST:
		return answered(handle_list(s, len));
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return handle_info_go(s, option, &d);
	case NBD_OPT_STRUCTURED_REPLY:
		return answered(handle_structured_reply(s, len));
	case NBD_OPT_LIST_META_CONTEXT:
	case NBD_OPT_SET_META_CONTEXT:
		return answered(handle_meta_context(s, option, &d));
	default:
		return answered(send_error(s, option, NBD_REP_ERR_UNSUP,
					   "option %u is not supported", option));
	}
}

static int greet(struct session *s)
{
	uint8_t hello[18], cflags[4];
	uint32_t flags;

	put_be64(hello, NBD_MAGIC);
	put_be64(hello + 8, NBD_IHAVEOPT);
	put_be16(hello + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if (send_bytes(s, hello, sizeof(hello)) < 0 || hs_read(s, cflags, 4) < 0)
		return -1;
	flags = get_be32(cflags);
	if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
		log_info("client sent unknown flags 0x%08x: closing", flags);
		errno = EPROTO;
		return -1;
	}
	if (!(flags & NBD_FLAG_C_FIXED_NEWSTYLE)) {
		log_info("client does not speak fixed newstyle: closing");
		errno = EPROTO;
		return -1;
	}
	s->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
	return 0;
}

enum handshake_result serve_handshake(struct session *s)
{
	uint8_t hdr[NBD_OPTION_HEADER_SIZE];
	enum handshake_result rc;

	if (s->tls_resumed) {
		if (!s->tls || start_tls(s) != HANDSHAKE_NEXT)
			return HANDSHAKE_FAILED;
	} else if (greet(s) < 0) {
		goto fail;
	}
	for (;;) {
		struct proto_option opt;
		uint32_t option, len;
		uint8_t *data = NULL;

		if (hs_read(s, hdr, sizeof(hdr)) < 0)
			goto fail;
		if (!proto_option_decode(hdr, &opt)) {
			log_info("option without IHAVEOPT magic: closing");
			return HANDSHAKE_FAILED;
		}
		option = opt.option;
		len = opt.length;
		if (len > NBD_MAX_OPTION_LEN) {
			/* Too much to skip on a promise: say why, then close. */
			send_error(s, option, NBD_REP_ERR_TOO_BIG,
				   "option %u of %u bytes exceeds the limit of %u",
				   option, len, NBD_MAX_OPTION_LEN);
			log_info("option %u of %u bytes: closing", option, len);
			return HANDSHAKE_FAILED;
		}
		if (len && (!(data = malloc(len)) || hs_read(s, data, len) < 0)) {
			free(data);
			goto fail;
		}
		rc = handle_option(s, option, data, len);
		free(data);
		if (rc == HANDSHAKE_FAILED)
			serve_close_export(s);
		if (rc != HANDSHAKE_NEXT)
			return rc;
	}
fail:
	if (errno == ECONNRESET)
		log_debug("client left during negotiation");
	else
		log_info("negotiation failed: %s", strerror(errno));
	return HANDSHAKE_FAILED;
}

