/* SPDX-License-Identifier: MIT */
/*
 * The bytes of a connection in transmission, never blocking: requests go
 * out as far as the socket takes them (the rest waits on the send queue
 * for the next notify_write), replies come in as far as they have
 * arrived. In the clear or through the GnuTLS session from STARTTLS; a
 * GnuTLS call that would block is made again later with the same bytes,
 * as GnuTLS asks.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "clientapi/api.h"

/* Pieces given to one sendmsg: a header and a payload per request. */
#define SEND_IOV_MAX	64
/* send_tls: the connection failed, and api_lost said why. */
#define SEND_LOST	(-2)

/* The next unsent piece of cmd: what is left of its header, else of
 * its payload. */
static struct iovec next_piece(const struct cmd *cmd)
{
	struct iovec v;

	if (cmd->sent < sizeof(cmd->hdr)) {
		v.iov_base = (void *)(cmd->hdr + cmd->sent);
		v.iov_len = sizeof(cmd->hdr) - cmd->sent;
	} else {
		size_t done = cmd->sent - sizeof(cmd->hdr);

		v.iov_base = (void *)((const uint8_t *)cmd->wbuf + done);
		v.iov_len = cmd->count - done;
	}
	return v;
}

/* n bytes went out: move the queue on. */
static void advance(struct cnbd_client *h, size_t n)
{
	while (n > 0 && h->sendq_head) {
		struct cmd *cmd = h->sendq_head;
		size_t left = api_cmd_total(cmd) - cmd->sent;
		size_t take = n < left ? n : left;

		cmd->sent += take;
		n -= take;
		if (cmd->sent == api_cmd_total(cmd)) {
			h->sendq_head = cmd->send_next;
			cmd->send_next = NULL;
			if (!h->sendq_head)
				h->sendq_tail = NULL;
		}
	}
}

static ssize_t send_plain(struct cnbd_client *h)
{
	struct iovec iov[SEND_IOV_MAX];
	struct msghdr msg = { .msg_iov = iov };
	int n = 0;

	for (struct cmd *cmd = h->sendq_head; cmd && n + 2 <= SEND_IOV_MAX;
	     cmd = cmd->send_next) {
		size_t sent = cmd->sent;

		iov[n++] = next_piece(cmd);
		/* The header, then the payload in the same call. */
		if (sent < sizeof(cmd->hdr) && cmd->wbuf && cmd->count) {
			iov[n].iov_base = (void *)cmd->wbuf;
			iov[n++].iov_len = cmd->count;
		}
	}
	msg.msg_iovlen = n;
	return sendmsg(h->c.fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static ssize_t send_tls(struct cnbd_client *h)
{
	struct iovec v = next_piece(h->sendq_head);
	ssize_t n = gnutls_record_send(h->c.tls, v.iov_base, v.iov_len);

	if (n == GNUTLS_E_AGAIN) {
		errno = EAGAIN;
		return -1;
	}
	if (n == GNUTLS_E_INTERRUPTED) {
		errno = EINTR;
		return -1;
	}
	if (n < 0) {
		api_lost(h, EPROTO, "TLS: cannot send a request: %s", gnutls_strerror(n));
		return SEND_LOST;
	}
	return n;
}

int api_send_progress(struct cnbd_client *h)
{
	while (h->sendq_head) {
		ssize_t n = h->c.tls ? send_tls(h) : send_plain(h);

		if (n >= 0) {
			advance(h, n);
			continue;
		}
		if (n == SEND_LOST)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EPIPE || errno == ECONNRESET)
			return api_lost(h, errno,
					"the server closed the connection while a request was sent");
		return api_lost(h, errno, "cannot send a request: %s", strerror(errno));
	}
	return 0;
}

static ssize_t closed(struct cnbd_client *h)
{
	return api_lost(h, ECONNRESET, "the server closed the connection%s",
			h->n_in_flight ? " with requests in flight" : "");
}

ssize_t api_recv_some(struct cnbd_client *h, void *buf, size_t len)
{
	ssize_t n;

	for (;;) {
		if (h->c.tls) {
			n = gnutls_record_recv(h->c.tls, buf, len);
			if (n == GNUTLS_E_AGAIN)
				return 0;
			if (n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
				return closed(h);
			if (n < 0)
				return api_lost(h, EPROTO, "TLS: cannot read a reply: %s",
						gnutls_strerror(n));
			return n;
		}
		n = recv(h->c.fd, buf, len, MSG_DONTWAIT);
		if (n > 0)
			return n;
		if (n == 0 || errno == ECONNRESET)
			return closed(h);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return api_lost(h, errno, "cannot read a reply: %s", strerror(errno));
	}
}
