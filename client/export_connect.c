/* SPDX-License-Identifier: MIT */
/*
 * Connecting a device's connections to its export: TCP or Unix by URI,
 * negotiated within CONNECT_TIMEOUT_S (STARTTLS and the TLS handshake
 * first for nbds://), and left without a socket timeout (the kernel's
 * receive path would inherit it). Every connection of one device must
 * find the same export.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* One attempt; TLS_RETRY when kernel TLS was left half set up. */
static int connect_once(struct device *d, unsigned i, const struct client_export *check,
			struct client_export *ex, int *fd, char *err, size_t errlen)
{
	struct nbd_client c;
	int rc = TLS_FAILED;
	int s = client_connect_uri(&d->uri, CONNECT_TIMEOUT_S, err, errlen);

	if (s < 0)
		return -1;
	client_init(&c, s);
	/* The handshake takes the same bound as each read and write. */
	if (client_set_timeout(&c, CONNECT_TIMEOUT_S) < 0 ||
	    (d->uri.tls && (client_greeting(&c) < 0 || client_starttls(&c, &d->uri) < 0)) ||
	    client_go(&c, d->uri.export_name) < 0 ||
	    client_set_timeout(&c, 0) < 0)
		goto fail;
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
	snprintf(err, errlen, "%s", c.error);
	client_close(&c);
	return -1;
}

int export_connect(struct device *d, unsigned i, const struct client_export *check,
		   struct client_export *ex, int *fd, char *err, size_t errlen)
{
	int rc = connect_once(d, i, check, ex, fd, err, errlen);

	if (rc == TLS_RETRY)
		rc = connect_once(d, i, check, ex, fd, err, errlen);
	return rc < 0 ? -1 : 0;
}

int export_connect_all(struct device *d, int *fds, struct client_export *ex,
		       char *err, size_t errlen)
{
	struct client_export other;
	unsigned i;

	for (i = 0; i < d->connections; i++) {
		if (export_connect(d, i, i ? ex : NULL, i ? &other : ex, &fds[i],
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
