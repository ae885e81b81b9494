/* SPDX-License-Identifier: MIT */
/*
 * Connecting a handle by URI, and listing a server's exports. The
 * negotiation is clientlib's (blocking, under one deadline: the handle's
 * timeout); once in transmission the socket turns non-blocking and the
 * handle's own I/O takes over.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "clientapi/api.h"
#include "clientlib/uri.h"

#define BASE_ALLOCATION	"base:allocation"

static int parse(struct cnbd_client *h, const char *text, struct nbd_uri *uri)
{
	char err[API_MSG_MAX];

	if (h->state != API_CREATED)
		return api_fail(h, EISCONN, "the handle is already connected");
	if (uri_parse_tls(text, uri, err, sizeof(err)) < 0)
		return api_fail(h, EINVAL, "%s", err);
	return 0;
}

/* Connection failed during negotiation: the handle can try again. */
static int negotiation_failed(struct cnbd_client *h)
{
	api_fail_conn(h);
	h->c.transmission = false;
	client_close(&h->c);
	client_init(&h->c, -1);
	errno = h->err;
	return -1;
}

/* Structured replies and base:allocation, when the server has them: a
 * refusal of either is no failure, only less to offer. */
static enum client_result ask_structured(struct cnbd_client *h, const char *export)
{
	enum client_result rc;

	if (!h->want_structured || !h->c.fixed_newstyle)
		return CLIENT_OK;
	rc = client_structured_replies(&h->c);
	if (rc == CLIENT_OK)
		rc = client_meta_context(&h->c, export, BASE_ALLOCATION);
	if (rc == CLIENT_UNSUPPORTED || rc == CLIENT_REFUSED)
		return CLIENT_OK;
	return rc;
}

static int go_nonblocking(struct cnbd_client *h)
{
	int flags;

	client_set_deadline(&h->c, 0);
	if (client_set_timeout(&h->c, 0) != CLIENT_OK)
		return -1;
	flags = fcntl(h->c.fd, F_GETFL);
	if (flags < 0 || fcntl(h->c.fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		snprintf(h->c.error, sizeof(h->c.error), "fcntl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int cnbd_client_connect_uri(struct cnbd_client *h, const char *text)
{
	struct nbd_uri uri;

	if (parse(h, text, &uri) < 0)
		return -1;
	if (client_open(&h->c, &uri, (int)h->timeout) != CLIENT_OK ||
	    ask_structured(h, uri.export_name) != CLIENT_OK ||
	    client_go(&h->c, uri.export_name) != CLIENT_OK ||
	    go_nonblocking(h) < 0)
		return negotiation_failed(h);
	h->state = API_READY;
	return 0;
}

struct list_call {
	cnbd_client_list_fn fn;
	void *opaque;
	int stopped;
};

static int list_one(void *opaque, const char *name, const char *description)
{
	struct list_call *l = opaque;

	l->stopped = l->fn(l->opaque, name, description);
	return l->stopped;
}

int cnbd_client_list_exports(struct cnbd_client *h, const char *text,
			     cnbd_client_list_fn fn, void *opaque)
{
	struct list_call l = { .fn = fn, .opaque = opaque };
	struct nbd_uri uri;
	enum client_result rc;

	if (parse(h, text, &uri) < 0)
		return -1;
	rc = client_open(&h->c, &uri, (int)h->timeout);
	if (rc == CLIENT_OK)
		rc = client_list(&h->c, list_one, &l);
	if (rc == CLIENT_STOPPED) {
		client_close(&h->c);
		client_init(&h->c, -1);
		return l.stopped;
	}
	if (rc == CLIENT_OK)
		rc = client_abort(&h->c);
	if (rc != CLIENT_OK)
		return negotiation_failed(h);
	client_close(&h->c);
	client_init(&h->c, -1);
	return 0;
}
