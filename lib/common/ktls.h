/* SPDX-License-Identifier: MIT */
/*
 * Kernel TLS for a negotiated connection: the GnuTLS session's keys and
 * sequence numbers go into the socket (TCP_ULP "tls", SOL_TLS TLS_TX and
 * TLS_RX), after which the kernel encrypts what is sent and decrypts what
 * is received, so that its user can treat the socket as plaintext: nbd.ko
 * on nbd-clientd's side, read(), writev() and sendfile() in nbd-serverd's
 * workers. Only a session with nothing buffered can be handed over: every
 * record GnuTLS read must have been consumed, or the kernel would miss it.
 *
 * What the kernel does not do (Linux 6.1): follow a KeyUpdate or take an
 * alert on the data path. A read that meets such a record fails with EIO
 * (EKEYEXPIRED on kernels that do rekeying, until new keys are set);
 * ktls_read_control says what the record was.
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

/* Can this kernel take a session at all (is the tls ULP there)? Asks on
 * an unconnected socket, which the ULP refuses with ENOTCONN once it is
 * known; as a CAP_NET_ADMIN caller the kernel loads the module for it.
 * 0, or -1 with the reason. */
int ktls_probe(char *why, size_t whylen);

/* After a read on a kernel TLS socket failed with EIO: takes the record
 * that is not application data and says what it was ("the TLS alert
 * 'Internal error'", "a TLS KeyUpdate, which kernel TLS cannot follow").
 * 0 when it was the peer's close_notify (an orderly end of the stream),
 * -1 otherwise, with errno ECONNRESET for an alert, EPROTO for anything
 * else. */
int ktls_read_control(int fd, char *what, size_t whatlen);

/* One alert record (level, description as GnuTLS numbers them) on a
 * kernel TLS socket, without waiting: close_notify before a close. */
int ktls_send_alert(int fd, unsigned char level, unsigned char desc);

#endif
