/* SPDX-License-Identifier: MIT */
/* Server-side TLS: credentials loaded once (in nbd-serverd's master, as
 * root, before any fork) and a handshake per connection after STARTTLS. */
#ifndef CNBD_TLS_SERVER_H
#define CNBD_TLS_SERVER_H

#include <stddef.h>

#include "cnbd/serve.h"
#include "common/conn_io.h"

enum tls_result {
	TLS_ESTABLISHED = 0,	/* io is switched to TLS */
	/* The handshake failed (the client's certificate refused, no
	 * shared cipher, the deadline): the client was sent an alert. */
	TLS_FAILED = -1,
	/* No session could be set up here (a credential GnuTLS would not
	 * take): nothing was sent. */
	TLS_NOT_STARTED = -2,
};

/* Runs the TLS handshake on io->fd and switches io to TLS; when it
 * fails, the reason is in err. */
enum tls_result tls_server_handshake(const struct cnbd_tls *tls, struct conn_io *io,
				     int timeout_ms, char *err, size_t errlen);

#endif
