/* SPDX-License-Identifier: MIT */
/* Server-side TLS: credentials loaded once (in nbd-serverd's master, as
 * root, before any fork) and a handshake per connection after STARTTLS. */
#ifndef CNBD_TLS_SERVER_H
#define CNBD_TLS_SERVER_H

#include <stddef.h>

#include "cnbd/serve.h"
#include "common/conn_io.h"

/* Runs the TLS handshake on io->fd and switches io to TLS. 0, or -1 with
 * the reason in err. */
int tls_server_handshake(const struct cnbd_tls *tls, struct conn_io *io,
			 int timeout_ms, char *err, size_t errlen);

#endif
