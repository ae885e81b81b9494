/* SPDX-License-Identifier: MIT */
/*
 * What the master agrees to sign for a worker: the signature algorithms
 * a TLS 1.2/1.3 server uses with its key, and input of the shape GnuTLS
 * gives an external key for them (see tls_keyholder.h).
 */
#ifndef CNBD_TLS_SIGN_CHECK_H
#define CNBD_TLS_SIGN_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether a key of public-key algorithm pk (gnutls_pk_algorithm_t) signs
 * TLS handshakes with algo (gnutls_sign_algorithm_t): the answer to
 * GnuTLS's "have sign algo" question. */
bool tls_sign_algo_usable(int pk, uint32_t algo);

/* Whether (algo, flags, data) is signing input a TLS server's GnuTLS
 * could have produced for a key of algorithm pk. NULL if so, else why not. */
const char *tls_sign_input_refusal(int pk, uint32_t algo, uint32_t flags,
				   const uint8_t *data, size_t len);

#endif
