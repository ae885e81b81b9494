/* SPDX-License-Identifier: MIT */
/*
 * TLS in a worker that starts with the handshake: the certificates come
 * from the master, and so does every use of the private key (it signs
 * for us) and the one PSK our client names. No key is ever here.
 */
#ifndef CNBD_SERVER_WORKER_TLS_H
#define CNBD_SERVER_WORKER_TLS_H

#include "serve.h"

/* NULL (logged) when the master gives no credentials. */
const struct cnbd_tls *worker_tls_new(int monitor_fd);

#endif
