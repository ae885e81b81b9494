/* SPDX-License-Identifier: MIT */
/*
 * Connecting an attachment's connections to its export: TCP or Unix by URI,
 * negotiated (STARTTLS and the TLS handshake first for nbds://), and
 * left without a socket timeout (the kernel's receive path would inherit
 * it). Every connection of one device must find the same export. An
 * attachment of sockets the program negotiated (cnbd_attach_sockets)
 * gets them first, and later ones from its reconnect callback.
 *
 * One attempt (every connection of it) has one deadline, the
 * negotiate-timeout: a server that drips its bytes one at a time, each
 * within any per-read timeout, is still given up when it passes; the TLS
 * handshake gets what is left of it. The socket being negotiated is
 * published in a->negotiating, so that a detach cuts the wait short
 * (cnbd_attach_stop).
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/conn_io.h"
#include "attach/supervisor_priv.h"
#include "attach/tls_connect.h"

/* Keepalives notice a dead server while the device is idle. */
static void tune_socket(int fd)
{
	int one = 1, idle = 30, intvl = 10, cnt = 3;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void deadline_in(struct timespec *at, unsigned seconds)
{
	clock_gettime(CLOCK_MONOTONIC, at);
	at->tv_sec += seconds;
}

/* Publishes (fd >= 0) or withdraws (-1) the socket under negotiation;
 * false when a stop was asked for meanwhile. */
static bool set_negotiating(struct cnbd_attach *a, int fd)
{
	bool stop;

	pthread_mutex_lock(&a->lock);
	a->negotiating = fd;
	stop = a->stop;
	pthread_mutex_unlock(&a->lock);
	return !stop;
}

/* One connection; TLS_RETRY when kernel TLS was left half set up. */
static int connect_one(struct cnbd_attach *a, unsigned i, const struct client_export *check,
		       struct client_export *ex, int *fd, const struct timespec *deadline,
		       char *err, size_t errlen)
{
	/* Connecting counts against the deadline too, and keeps its own
	 * bound per address. */
	int left_ms = conn_ms_until(deadline);
	int connect_s = (left_ms + 999) / 1000;
	struct nbd_client c;
	int s, rc;

	if (left_ms <= 0) {
		snprintf(err, errlen,
			 "negotiate-timeout (%u s) passed before connection %u was made",
			 a->negotiate_timeout, i + 1);
		return -1;
	}
	s = client_connect_uri(&a->uri, connect_s < CONNECT_TIMEOUT_S ? connect_s :
			       CONNECT_TIMEOUT_S, err, errlen);
	if (s < 0)
		return -1;
	client_init(&c, s);
	client_set_deadline_at(&c, deadline, a->negotiate_timeout);
	if (!set_negotiating(a, s)) {
		snprintf(c.error, sizeof(c.error), "detached while negotiating");
		goto fail;
	}
	/* Each read and write has its bound too, the deadline all of them. */
	if (client_set_timeout(&c, CONNECT_TIMEOUT_S) != CLIENT_OK ||
	    (a->uri.tls && (client_greeting(&c) != CLIENT_OK ||
			    client_starttls(&c, &a->uri) != CLIENT_OK)) ||
	    client_go(&c, a->uri.export_name) != CLIENT_OK ||
	    client_set_timeout(&c, 0) != CLIENT_OK) {
		/* A detach shut the socket down under the negotiation. */
		if (!set_negotiating(a, -1))
			snprintf(c.error, sizeof(c.error), "detached while negotiating");
		goto fail;
	}
	set_negotiating(a, -1);
	if (check && (c.export.size != check->size || c.export.flags != check->flags)) {
		snprintf(c.error, sizeof(c.error),
			 "connection %u found a different export (size %" PRIu64 ", flags 0x%04x)",
			 i + 1, c.export.size, c.export.flags);
		goto fail;
	}
	*ex = c.export;
	if (a->uri.transport == URI_TCP)
		tune_socket(s);
	if (!a->uri.tls) {
		*fd = s;
		return 0;
	}
	rc = tls_carry(a, &c, fd, err, errlen);
	if (rc != TLS_CARRIED)
		client_close(&c);
	return rc;
fail:
	set_negotiating(a, -1);
	snprintf(err, errlen, "%s", c.error);
	client_close(&c);
	return -1;
}

/* A socket from the program's reconnect callback (cnbd_attach_sockets). */
static int program_connect(struct cnbd_attach *a, unsigned i, const struct client_export *check,
			   struct client_export *ex, int *fd, char *err, size_t errlen)
{
	struct cnbd_attach_export got = { 0 };

	if (!a->reconnect) {
		snprintf(err, errlen, "no reconnect callback: a lost connection is not replaced");
		return -1;
	}
	if (a->reconnect(a->arg, fd, &got, err, errlen) < 0)
		return -1;
	*ex = (struct client_export){
		.size = got.size, .flags = got.flags, .have_block_size = got.min_block != 0,
		.min_block = got.min_block ? got.min_block : 1,
		.pref_block = got.pref_block ? got.pref_block : 4096,
		.max_payload = got.max_payload ? got.max_payload : 32U << 20,
	};
	if (check && (ex->size != check->size || ex->flags != check->flags)) {
		snprintf(err, errlen,
			 "connection %u found a different export (size %" PRIu64 ", flags 0x%04x)",
			 i + 1, ex->size, ex->flags);
		close(*fd);
		return -1;
	}
	return 0;
}

/* connect_one, and once more (within the same deadline) when kernel TLS
 * was half set up: 0 or -1. */
static int connect_retry(struct cnbd_attach *a, unsigned i, const struct client_export *check,
			 struct client_export *ex, int *fd, const struct timespec *deadline,
			 char *err, size_t errlen)
{
	int rc;

	if (!a->uri_text)
		return program_connect(a, i, check, ex, fd, err, errlen);
	rc = connect_one(a, i, check, ex, fd, deadline, err, errlen);

	if (rc == TLS_RETRY)
		rc = connect_one(a, i, check, ex, fd, deadline, err, errlen);
	return rc < 0 ? -1 : 0;
}

int export_connect(struct cnbd_attach *a, unsigned i, const struct client_export *check,
		   struct client_export *ex, int *fd, char *err, size_t errlen)
{
	struct timespec deadline;

	deadline_in(&deadline, a->negotiate_timeout);
	return connect_retry(a, i, check, ex, fd, &deadline, err, errlen);
}

int export_connect_all(struct cnbd_attach *a, int *fds, struct client_export *ex,
		       char *err, size_t errlen)
{
	struct client_export other;
	struct timespec deadline;
	unsigned i;

	if (a->ngiven) {		/* the program's, once */
		memcpy(fds, a->given, a->ngiven * sizeof(*fds));
		*ex = a->given_ex;
		a->ngiven = 0;
		i = a->connections;
		if (i > 1 && !(ex->flags & NBD_FLAG_CAN_MULTI_CONN))
			goto multi;
		return 0;
	}
	deadline_in(&deadline, a->negotiate_timeout);
	for (i = 0; i < a->connections; i++) {
		if (connect_retry(a, i, i ? ex : NULL, i ? &other : ex, &fds[i], &deadline,
				  err, errlen) < 0)
			goto fail;
		if (i == 0 && a->connections > 1 && !(ex->flags & NBD_FLAG_CAN_MULTI_CONN)) {
			i++;
			goto multi;
		}
	}
	return 0;
multi:
	snprintf(err, errlen,
		 "connections = %u, but the server does not allow more than one (no NBD_FLAG_CAN_MULTI_CONN)",
		 a->connections);
fail:
	while (i-- > 0)
		close(fds[i]);
	return -1;
}
