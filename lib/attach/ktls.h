/* SPDX-License-Identifier: MIT */
/*
 * Kernel TLS for a negotiated connection: the GnuTLS session's keys and
 * sequence numbers go into the socket (TCP_ULP "tls", SOL_TLS TLS_TX and
 * TLS_RX), after which the kernel encrypts what is sent and decrypts what
 * is received, so that nbd.ko can use the socket as if it were plaintext.
 * Only a session with nothing buffered can be handed over: every record
 * GnuTLS read must have been consumed, or the kernel would miss it.
 */
#ifndef CNBD_KTLS_H
#define CNBD_KTLS_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>
#include <linux/tls.h>

/* What setsockopt(SOL_TLS, TLS_TX or TLS_RX) takes, for each cipher the
 * kernel and GnuTLS share. */
union ktls_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/* One direction of the session (read: what the peer sends us) as the
 * kernel wants it; *len gets the size to pass. -1 with the reason when
 * the protocol or cipher has no kernel counterpart. */
int ktls_crypto_info(gnutls_session_t s, bool read, union ktls_crypto_info *ci,
		     size_t *len, char *err, size_t errlen);

/*
 * Installs both directions on fd, the session's transport. *touched is
 * set once the socket was changed (the ULP attached): after a failure
 * with *touched false the session can still be used as it was; with it
 * true the connection is lost. The session itself is left alone: the
 * caller frees it without a close_notify.
 */
int ktls_install(gnutls_session_t s, int fd, bool *touched, char *err, size_t errlen);

#endif
