/* SPDX-License-Identifier: MIT */
/* A client connection's life: set up, bounded, opened from a URI, closed;
 * and the error sentences every part of the client library leaves. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clientlib/client_priv.h"
#include "common/conn_io.h"
#include "proto/messages.h"

void client_init(struct nbd_client *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->next_cookie = 1;
}

enum client_result client_set_timeout(struct nbd_client *c, int seconds)
{
	struct timeval tv = { .tv_sec = seconds > 0 ? seconds : 0 };

	c->timeout = seconds > 0 ? seconds : 0;
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return client_fail(c, errno, "cannot set socket timeouts: %s",
				   strerror(errno));
	return CLIENT_OK;
}

void client_set_deadline(struct nbd_client *c, int seconds)
{
	c->deadline_s = seconds > 0 ? seconds : 0;
	if (!c->deadline_s)
		return;
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += seconds;
}

void client_set_deadline_at(struct nbd_client *c, const struct timespec *at,
			    int seconds)
{
	c->deadline = *at;
	c->deadline_s = seconds > 0 ? seconds : 1;
}

const struct timespec *client_deadline(const struct nbd_client *c)
{
	return c->deadline_s ? &c->deadline : NULL;
}

static void set_error(struct nbd_client *c, int err, const char *fmt, va_list ap)
{
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	errno = err;
}

void client_set_error(struct nbd_client *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(c, err, fmt, ap);
	va_end(ap);
}

enum client_result client_io_fail(struct nbd_client *c, const char *what)
{
	int err = errno;

	/* conn_read_full_until's ETIMEDOUT: the deadline passed. */
	if (err == ETIMEDOUT && c->deadline_s)
		return client_fail(c, ETIMEDOUT,
				   "the server did not finish negotiating within %d s (stuck %s)",
				   c->deadline_s, what);
	if (err == EAGAIN || err == EWOULDBLOCK)
		return client_fail(c, ETIMEDOUT, "timed out after %d s %s",
				   c->timeout, what);
	if (err == ECONNRESET || err == EPIPE)
		return client_fail(c, err, "the server closed the connection %s", what);
	/* A server that refuses us inside TLS (no client certificate, say)
	 * says so with an alert, or just with what GnuTLS makes of it;
	 * EPROTO alone would hide it. */
	if (err == EPROTO && c->tls) {
		int tls_err = conn_last_tls_error();

		if (tls_err == GNUTLS_E_FATAL_ALERT_RECEIVED ||
		    tls_err == GNUTLS_E_WARNING_ALERT_RECEIVED)
			return client_fail(c, err, "%s: the server sent the TLS alert '%s'", what,
					   gnutls_alert_get_name(gnutls_alert_get(c->tls)));
		return client_fail(c, err, "%s: TLS: %s", what, gnutls_strerror(tls_err));
	}
	return client_fail(c, err, "%s: %s", what, strerror(err));
}

int client_send(struct nbd_client *c, const void *a, size_t alen,
		const void *b, size_t blen)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)a, .iov_len = alen },
		{ .iov_base = (void *)b, .iov_len = blen },
	};
	struct conn_io io = { .fd = c->fd, .tls = c->tls };

	/* conn_writev sends with MSG_NOSIGNAL: a server that went away is an
	 * error to report, not a SIGPIPE that kills the caller. */
	return conn_writev(&io, iov, blen ? 2 : 1, false);
}

int client_recv(struct nbd_client *c, void *buf, size_t len)
{
	struct conn_io io = { .fd = c->fd, .tls = c->tls };

	return conn_read_full_until(&io, buf, len, client_deadline(c));
}

int client_discard(struct nbd_client *c, size_t len)
{
	uint8_t sink[512];

	while (len > 0) {
		size_t n = len < sizeof(sink) ? len : sizeof(sink);
		if (client_recv(c, sink, n) < 0)
			return -1;
		len -= n;
	}
	return 0;
}

void client_printable(char *out, size_t outlen, const uint8_t *in, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < outlen; i++)
		out[n++] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	if (outlen)
		out[n] = '\0';
}

enum client_result client_open(struct nbd_client *c, const struct nbd_uri *uri,
			       int timeout)
{
	char err[sizeof(c->error)];
	enum client_result rc;
	int fd;

	client_init(c, -1);
	fd = client_connect_uri(uri, timeout, err, sizeof(err));
	if (fd < 0)
		return client_fail(c, errno ? errno : ECONNREFUSED, "%s", err);
	c->fd = fd;
	/* The greeting (and TLS) within timeout in all, not per read. */
	client_set_deadline(c, timeout);
	rc = client_set_timeout(c, timeout);
	if (rc == CLIENT_OK)
		rc = client_greeting(c);
	if (rc == CLIENT_OK && uri->tls)
		rc = client_starttls(c, uri);
	return rc;
}

enum client_result client_open_uri(struct nbd_client *c, const char *text, int timeout)
{
	struct nbd_uri uri;
	char err[sizeof(c->error)];
	enum client_result rc;

	if (uri_parse_tls(text, &uri, err, sizeof(err)) < 0) {
		client_init(c, -1);
		return client_invalid(c, EINVAL, "%s", err);
	}
	rc = client_open(c, &uri, timeout);
	if (rc != CLIENT_OK)
		return rc;
	client_set_deadline(c, timeout);
	rc = client_go(c, uri.export_name);
	if (rc != CLIENT_OK)
		return rc;
	client_set_deadline(c, 0);
	return CLIENT_OK;
}

void client_close(struct nbd_client *c)
{
	if (c->fd < 0)
		return;
	if (c->transmission) {
		struct proto_request disc = { .type = NBD_CMD_DISC, .cookie = c->next_cookie++ };
		uint8_t req[NBD_REQUEST_SIZE];

		proto_request_encode(req, &disc);
		/* Best effort: the server may already be gone. */
		client_send(c, req, sizeof(req), NULL, 0);
	}
	client_tls_free(c);
	close(c->fd);
	c->fd = -1;
}
