/* SPDX-License-Identifier: MIT */
/*
 * TLS in a worker that starts with the handshake: the certificates come
 * from the master, and so does every use of the private key (it signs
 * for us) and the one PSK our client names. No key is ever here.
 */
#ifndef CNBD_SERVER_WORKER_TLS_H
#define CNBD_SERVER_WORKER_TLS_H

#include "cnbd/serve.h"

/* GnuTLS's set-up, which the program skips at start (worker_spawn.c):
 * before the sandbox, since it may read files. 0, or -1 (logged). */
int worker_tls_init(void);
/* NULL (logged) when the master gives no credentials. */
const struct cnbd_tls *worker_tls_new(int monitor_fd);

#endif
