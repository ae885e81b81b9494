/* SPDX-License-Identifier: MIT */
/*
 * TLS without keys in the worker. The master keeps the struct cnbd_tls
 * cnbd_tls_server_new() loaded and answers two questions: "sign this
 * handshake input" and "the key of PSK identity X". A worker builds its
 * struct cnbd_tls with cnbd_tls_remote_new() from the public part the
 * master exported, and asks those questions through ops (over whatever
 * transport the caller has: nbd-serverd's monitor socket). The result
 * serves handshakes exactly like the master's (cnbd_serve_options.tls).
 *
 * What GnuTLS hands a signing callback (3.7, checked by
 * tests/unit/test_tls_keyholder.c): for RSA, RSA-PSS and ECDSA keys only
 * a digest (flags 1; for RSA PKCS#1 v1.5 algo is GNUTLS_SIGN_RSA_RAW and
 * the digest is DER DigestInfo), in TLS 1.2 and 1.3 alike; the data to
 * sign itself (flags 0) only for EdDSA keys. So cnbd_tls_sign() checks
 * the shape of what it signs (see lib/engine/tls_sign_check.c), and the content
 * only when it sees it: EdDSA in TLS 1.3 (the CertificateVerify prefix)
 * and TLS 1.2 (randoms and ECDH parameters).
 */
#ifndef CNBD_TLS_KEYHOLDER_H
#define CNBD_TLS_KEYHOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "cnbd/serve.h"

/* Sizes a transport must carry (fixed-size messages can use these). */
#define CNBD_TLS_SIGN_MAX_DATA	2048	/* sign request: data or digest */
#define CNBD_TLS_SIGN_MAX_SIG	2048	/* a signature: RSA up to 16384 bits */
#define CNBD_TLS_PSK_MAX_IDENTITY 256	/* bytes, not counting the NUL */
#define CNBD_TLS_PSK_MAX_KEY	512	/* a PSK's bytes */
#define CNBD_TLS_PUBLIC_MAX	65536	/* a typical public blob: 2-6 KiB */

#define CNBD_TLS_SIGN_DATA	0	/* flags: the data itself (EdDSA) */
#define CNBD_TLS_SIGN_HASH	1	/* flags: a digest (RSA RAW: DigestInfo) */

/* ---- the master ---------------------------------------------------- */

/* Signs with tls's private key: algo is a gnutls_sign_algorithm_t, data
 * what the worker's GnuTLS passed. 0 with the signature in sig[*siglen],
 * or -1 with errno: EINVAL (not plausible TLS signing input, or tls has
 * no certificate), ENOSPC (sigmax too small), EIO (GnuTLS failed). */
int cnbd_tls_sign(const struct cnbd_tls *tls, uint32_t sign_algo, uint32_t flags,
		  const void *data, size_t len, void *sig, size_t sigmax,
		  size_t *siglen);

/* The key of a PSK identity: 0, or -1 with errno ENOENT (unknown, or no
 * PSK configured), ENOSPC (keymax too small). */
int cnbd_tls_psk_key(const struct cnbd_tls *tls, const char *identity,
		     void *key, size_t keymax, size_t *keylen);

/* Everything a worker needs but no secret: certificate chain, the CAs
 * that verify clients, verify_clients, which of X.509 / PSK, the PSK
 * hint, the key's algorithm. 0, or -1 with errno ENOSPC (*len is then
 * the size needed) or EIO. The format is lib/engine/tls_public.c's. */
int cnbd_tls_public_export(const struct cnbd_tls *tls, void *buf, size_t max,
			   size_t *len);

/* ---- a worker ------------------------------------------------------ */

/* The questions a worker asks the master, with cnbd_tls_sign()'s and
 * cnbd_tls_psk_key()'s arguments and results (0, or -1: refused). Called
 * from inside a handshake (the thread that runs it), one at a time per
 * connection. identity is at most CNBD_TLS_PSK_MAX_IDENTITY bytes. */
struct cnbd_tls_remote_ops {
	int (*sign)(void *ctx, uint32_t algo, uint32_t flags, const void *data,
		    size_t len, void *sig, size_t sigmax, size_t *siglen);
	int (*psk_key)(void *ctx, const char *identity, void *key, size_t keymax,
		       size_t *keylen);
};

/* Credentials for a worker from cnbd_tls_public_export()'s blob: X.509
 * with a private key that is the master (ops->sign), PSK with one
 * ops->psk_key question per connection. ops and ctx must outlive the
 * result; free it with cnbd_tls_free(). NULL with the reason in err. */
struct cnbd_tls *cnbd_tls_remote_new(const void *public_blob, size_t len,
				     const struct cnbd_tls_remote_ops *ops, void *ctx,
				     char *err, size_t errlen);

#endif
