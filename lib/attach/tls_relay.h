/* SPDX-License-Identifier: MIT */
/*
 * The relay for a TLS connection the kernel cannot carry itself (no tls
 * module, a cipher kernel TLS lacks, setsockopt refused): the kernel gets
 * one end of a socketpair, and two threads of the daemon move the bytes
 * between the other end and the GnuTLS session, one per direction, so
 * that neither waits on the other. Plaintext crosses only that
 * socketpair, inside this host; the network sees TLS records.
 *
 * When either side ends (the server closed or sent an alert, a record did
 * not decrypt, the kernel shut its socket down) both are shut down: the
 * kernel sees its connection die, and the supervisor replaces it as it
 * would a plaintext one. The relay lives in the daemon: a daemon that
 * dies takes its relays with it, and the kernel's sockets see EOF.
 */
#ifndef CNBD_TLS_RELAY_H
#define CNBD_TLS_RELAY_H

#include <stddef.h>

#include <gnutls/gnutls.h>

/*
 * Starts relaying session (over net, its transport; creds what it uses,
 * freed with it). who names the connection in log lines ("nbd0"). Returns
 * the socket for the kernel, or -1 with the reason; either way the relay
 * owns net, session and creds from here on.
 */
int tls_relay_start(const char *who, gnutls_session_t session, void *creds, int net,
		    char *err, size_t errlen);

#endif
