/* SPDX-License-Identifier: MIT */
/*
 * Connecting a device's connections to its export: TCP or Unix by URI,
 * negotiated (STARTTLS and the TLS handshake first for nbds://), and
 * left without a socket timeout (the kernel's receive path would inherit
 * it). Every connection of one device must find the same export.
 *
 * One attempt (every connection of it) has one deadline, the device's
 * negotiate-timeout: a server that drips its bytes one at a time, each
 * within any per-read timeout, is still given up when it passes; the TLS
 * handshake gets what is left of it. The socket being negotiated is
 * published in d->negotiating, so that a detach cuts the wait short
 * (device_stop_locked).
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
#include "supervisor_priv.h"
#include "tls_connect.h"

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
static bool set_negotiating(struct device *d, int fd)
{
	bool stop;

	pthread_mutex_lock(&device_lock);
	d->negotiating = fd;
	stop = d->stop;
	pthread_mutex_unlock(&device_lock);
	return !stop;
}

/* One connection; TLS_RETRY when kernel TLS was left half set up. */
static int connect_one(struct device *d, unsigned i, const struct client_export *check,
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
			 d->negotiate_timeout, i + 1);
		return -1;
	}
	s = client_connect_uri(&d->uri, connect_s < CONNECT_TIMEOUT_S ? connect_s :
			       CONNECT_TIMEOUT_S, err, errlen);
	if (s < 0)
		return -1;
	client_init(&c, s);
	client_set_deadline_at(&c, deadline, d->negotiate_timeout);
	if (!set_negotiating(d, s)) {
		snprintf(c.error, sizeof(c.error), "detached while negotiating");
		goto fail;
	}
	/* Each read and write has its bound too, the deadline all of them. */
	if (client_set_timeout(&c, CONNECT_TIMEOUT_S) < 0 ||
	    (d->uri.tls && (client_greeting(&c) < 0 || client_starttls(&c, &d->uri) < 0)) ||
	    client_go(&c, d->uri.export_name) < 0 ||
	    client_set_timeout(&c, 0) < 0) {
		/* A detach shut the socket down under the negotiation. */
		if (!set_negotiating(d, -1))
			snprintf(c.error, sizeof(c.error), "detached while negotiating");
		goto fail;
	}
	set_negotiating(d, -1);
	if (check && (c.export.size != check->size || c.export.flags != check->flags)) {
		snprintf(c.error, sizeof(c.error),
			 "connection %u found a different export (size %" PRIu64 ", flags 0x%04x)",
			 i + 1, c.export.size, c.export.flags);
		goto fail;
	}
	*ex = c.export;
	if (d->uri.transport == URI_TCP)
		tune_socket(s);
	if (!d->uri.tls) {
		*fd = s;
		return 0;
	}
	rc = tls_carry(d, &c, fd, err, errlen);
	if (rc != TLS_CARRIED)
		client_close(&c);
	return rc;
fail:
	set_negotiating(d, -1);
	snprintf(err, errlen, "%s", c.error);
	client_close(&c);
	return -1;
}

/* connect_one, and once more (within the same deadline) when kernel TLS
 * was half set up: 0 or -1. */
static int connect_retry(struct device *d, unsigned i, const struct client_export *check,
			 struct client_export *ex, int *fd, const struct timespec *deadline,
			 char *err, size_t errlen)
{
	int rc = connect_one(d, i, check, ex, fd, deadline, err, errlen);

	if (rc == TLS_RETRY)
		rc = connect_one(d, i, check, ex, fd, deadline, err, errlen);
	return rc < 0 ? -1 : 0;
}

int export_connect(struct device *d, unsigned i, const struct client_export *check,
		   struct client_export *ex, int *fd, char *err, size_t errlen)
{
	struct timespec deadline;

	deadline_in(&deadline, d->negotiate_timeout);
	return connect_retry(d, i, check, ex, fd, &deadline, err, errlen);
}

int export_connect_all(struct device *d, int *fds, struct client_export *ex,
		       char *err, size_t errlen)
{
	struct client_export other;
	struct timespec deadline;
	unsigned i;

	deadline_in(&deadline, d->negotiate_timeout);
	for (i = 0; i < d->connections; i++) {
		if (connect_retry(d, i, i ? ex : NULL, i ? &other : ex, &fds[i], &deadline,
				  err, errlen) < 0)
			goto fail;
		if (i == 0 && d->connections > 1 && !(ex->flags & NBD_FLAG_CAN_MULTI_CONN)) {
			snprintf(err, errlen,
				 "connections = %u, but the server does not allow more than one (no NBD_FLAG_CAN_MULTI_CONN)",
				 d->connections);
			i++;
			goto fail;
		}
	}
	return 0;
fail:
	while (i-- > 0)
		close(fds[i]);
	return -1;
}
