/* SPDX-License-Identifier: MIT */
/*
 * What a struct cnbd_tls holds, shared by the files that build one:
 * lib/engine/tls_server.c (the master's, every key in memory), lib/engine/tls_remote.c
 * (a worker's: public parts only, the master signs and hands out one PSK)
 * and lib/engine/tls_keyholder.c (the master answering a worker).
 */
#ifndef CNBD_TLS_CREDS_H
#define CNBD_TLS_CREDS_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>

#include "cnbd/serve.h"

struct psk_entry {
	char *identity;
	gnutls_datum_t key;
};

struct tls_remote;

struct cnbd_tls {
	gnutls_certificate_credentials_t x509;	/* NULL without certificates */
	gnutls_psk_server_credentials_t psk;	/* NULL without a PSK file */
	struct psk_entry *keys;
	size_t nkeys;
	bool verify_clients;
	struct tls_remote *remote;		/* a worker's: NULL in the master */
};

/* One handshake's state, the session's pointer while it runs: a worker
 * asks for one PSK per connection. */
struct tls_conn {
	const struct cnbd_tls *tls;
	bool psk_asked;
	char identity[257];
	unsigned char key[512];
	size_t keylen;
};

/* lib/engine/tls_remote.c: the remote side of what lib/engine/tls_server.c does. */
const char *tls_remote_priority(const struct cnbd_tls *t);
int tls_remote_psk_lookup(struct tls_conn *c, const char *identity,
			  gnutls_datum_t *key);
void tls_remote_free(struct tls_remote *r);

#endif
