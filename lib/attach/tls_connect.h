/* SPDX-License-Identifier: MIT */
/*
 * What carries a device's TLS connection once GO is done: kernel TLS on
 * the socket itself, or the daemon's relay (tls-mode = kernel, relay or
 * auto). Either way the kernel gets a socket it reads and writes as
 * plaintext, and the network sees only TLS records; an nbds:// URI is
 * never served in the clear.
 */
#ifndef CNBD_TLS_CONNECT_H
#define CNBD_TLS_CONNECT_H

#include <stddef.h>

#include "clientlib/client.h"

struct cnbd_attach;

/* Result of tls_carry(). */
enum tls_carry_rc {
	TLS_CARRIED = 0,
	TLS_FAILED = -1,	/* the connection is lost; err says why */
	TLS_RETRY = -2,		/* lost to a half-done kernel TLS setup: connect
				 * again, and the relay takes it (auto) */
};

/* c is negotiated (in transmission, over TLS). On success *fd is the
 * socket for the kernel and c no longer owns its socket or session; on
 * failure c still does (the caller closes it). */
enum tls_carry_rc tls_carry(struct cnbd_attach *a, struct nbd_client *c, int *fd,
			    char *err, size_t errlen);

#endif
