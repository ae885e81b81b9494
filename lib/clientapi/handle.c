/* SPDX-License-Identifier: MIT */
/* A client handle's life (create, settings, close) and its errors: the
 * sentence and errno of the last failure, and the failure of a whole
 * connection, which fails every command in flight with it. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientapi/api.h"
#include "proto/messages.h"

/* How long closing waits for queued requests and DISC to go out when
 * the handle has no timeout of its own. */
#define CLOSE_FLUSH_MS	5000

struct cnbd_client *cnbd_client_create(void)
{
	struct cnbd_client *h = calloc(1, sizeof(*h));

	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	client_init(&h->c, -1);
	h->state = API_CREATED;
	h->want_structured = true;
	h->strict = true;
	h->next_cookie = 1;
	h->rx.need = 16;
	return h;
}

static void set_error(struct cnbd_client *h, int err, const char *fmt, va_list ap)
{
	vsnprintf(h->error, sizeof(h->error), fmt, ap);
	h->err = err;
}

int api_fail(struct cnbd_client *h, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(h, err, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

int api_fail_conn(struct cnbd_client *h)
{
	int err = errno ? errno : EIO;

	return api_fail(h, err, "%s", h->c.error);
}

static void fail_all(struct cnbd_client *h)
{
	struct cmd *cmd;

	while ((cmd = h->in_flight)) {
		api_cmd_fail(cmd, h->err, "%s", h->error);
		api_complete(h, cmd);
	}
	h->sendq_head = h->sendq_tail = NULL;
}

int api_lost(struct cnbd_client *h, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(h, err, fmt, ap);
	va_end(ap);
	h->state = API_DEAD;
	/* No DISC on a connection out of step: client_close only closes. */
	h->c.transmission = false;
	fail_all(h);
	errno = err;
	return -1;
}

int api_need_ready(struct cnbd_client *h)
{
	if (h->state == API_READY)
		return 0;
	if (h->state == API_DEAD)
		return api_fail(h, EPIPE, "the connection failed earlier: %s", h->error);
	return api_fail(h, ENOTCONN, "not connected to an export");
}

const char *cnbd_client_get_error(const struct cnbd_client *h)
{
	return h->error;
}

int cnbd_client_get_errno(const struct cnbd_client *h)
{
	return h->err;
}

static int before_connecting(struct cnbd_client *h, const char *what)
{
	if (h->state == API_CREATED)
		return 0;
	return api_fail(h, EISCONN, "%s must be set before connecting", what);
}

int cnbd_client_set_timeout(struct cnbd_client *h, unsigned seconds)
{
	if (seconds > 86400 * 365)
		return api_fail(h, EINVAL, "a timeout of %u s is too long", seconds);
	h->timeout = seconds;
	return 0;
}

int cnbd_client_set_request_structured_replies(struct cnbd_client *h, bool request)
{
	if (before_connecting(h, "structured replies") < 0)
		return -1;
	h->want_structured = request;
	return 0;
}

int cnbd_client_set_strict_mode(struct cnbd_client *h, bool strict)
{
	h->strict = strict;
	return 0;
}

/* DISC after whatever is still queued, within a bound: a server that
 * stopped reading must not hold the caller. */
static void send_disc(struct cnbd_client *h)
{
	struct cmd *disc = calloc(1, sizeof(*disc));
	int ms = h->timeout ? (int)h->timeout * 1000 : CLOSE_FLUSH_MS;
	struct pollfd pfd = { .fd = h->c.fd, .events = POLLOUT };

	if (!disc)
		return;
	proto_request_encode(disc->hdr, &(struct proto_request){
		.type = NBD_CMD_DISC, .cookie = h->next_cookie++ });
	if (h->sendq_tail)
		h->sendq_tail->send_next = disc;
	else
		h->sendq_head = disc;
	h->sendq_tail = disc;
	while (h->state == API_READY && api_send_progress(h) == 0 && h->sendq_head)
		if (poll(&pfd, 1, ms) <= 0)
			break;
	free(disc);
}

static void free_list(struct cmd *cmd)
{
	while (cmd) {
		struct cmd *next = cmd->next;

		api_cmd_free(cmd);
		cmd = next;
	}
}

void cnbd_client_close(struct cnbd_client *h)
{
	if (!h)
		return;
	if (h->state == API_READY)
		send_disc(h);
	/* DISC went out above, or cannot: client_close must not try. */
	h->c.transmission = false;
	client_close(&h->c);
	free_list(h->in_flight);
	free_list(h->done_head);
	free(h->rx.buf);
	free(h);
}
