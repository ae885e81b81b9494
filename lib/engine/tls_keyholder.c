/* SPDX-License-Identifier: MIT */
/*
 * The master's answers to workers (see tls_keyholder.h): signatures made
 * with the key only it holds, one PSK by identity, and the public part of
 * its credentials. Everything is read from the loaded credentials, not
 * from files, so it is whatever cnbd_tls_server_new() loaded.
 */
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "common/log.h"
#include "engine/tls_creds.h"
#include "engine/tls_keyholder.h"
#include "engine/tls_public.h"
#include "engine/tls_sign_check.h"

static int fail(int err)
{
	errno = err;
	return -1;
}

/* A copy of the key for one signature: the credentials keep theirs
 * (gnutls_certificate_get_x509_key copies), and a struct cnbd_tls the
 * master shares between calls stays const. */
static int signer(const struct cnbd_tls *t, gnutls_privkey_t *key)
{
	gnutls_x509_privkey_t x;

	if (gnutls_certificate_get_x509_key(t->x509, 0, &x) < 0)
		return -1;
	if (gnutls_privkey_init(key) < 0) {
		gnutls_x509_privkey_deinit(x);
		return -1;
	}
	if (gnutls_privkey_import_x509(*key, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0) {
		gnutls_x509_privkey_deinit(x);
		gnutls_privkey_deinit(*key);
		return -1;
	}
	return 0;
}

int cnbd_tls_sign(const struct cnbd_tls *t, uint32_t sign_algo, uint32_t flags,
		  const void *data, size_t len, void *sig, size_t sigmax,
		  size_t *siglen)
{
	const gnutls_datum_t in = { (unsigned char *)data, (unsigned)len };
	gnutls_datum_t out = { NULL, 0 };
	gnutls_privkey_t key;
	const char *why;
	int rc, pk;

	if (!t || !t->x509 || t->remote)
		return fail(EINVAL);
	if (signer(t, &key) < 0)
		return fail(EIO);
	pk = gnutls_privkey_get_pk_algorithm(key, NULL);
	why = tls_sign_input_refusal(pk, sign_algo, flags, data, len);
	if (why) {
		log_info("TLS: refused to sign for a worker (algorithm %s, %zu bytes): %s",
			 gnutls_sign_get_name(sign_algo) ? gnutls_sign_get_name(sign_algo) : "?",
			 len, why);
		gnutls_privkey_deinit(key);
		return fail(EINVAL);
	}
	if (flags == CNBD_TLS_SIGN_HASH)
		rc = gnutls_privkey_sign_hash2(key, sign_algo,
					       sign_algo == GNUTLS_SIGN_RSA_RAW ?
					       GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA : 0,
					       &in, &out);
	else
		rc = gnutls_privkey_sign_data2(key, sign_algo, 0, &in, &out);
	gnutls_privkey_deinit(key);
	if (rc < 0) {
		log_info("TLS: signing for a worker failed: %s", gnutls_strerror(rc));
		return fail(EIO);
	}
	rc = 0;
	if (out.size > sigmax)
		rc = fail(ENOSPC);
	else
		memcpy(sig, out.data, out.size);
	*siglen = out.size;
	gnutls_free(out.data);
	return rc;
}

int cnbd_tls_psk_key(const struct cnbd_tls *t, const char *identity,
		     void *key, size_t keymax, size_t *keylen)
{
	if (!t || !identity || t->remote)
		return fail(ENOENT);
	for (size_t i = 0; i < t->nkeys; i++) {
		if (strcmp(t->keys[i].identity, identity))
			continue;
		*keylen = t->keys[i].key.size;
		if (t->keys[i].key.size > keymax)
			return fail(ENOSPC);
		memcpy(key, t->keys[i].key.data, t->keys[i].key.size);
		return 0;
	}
	return fail(ENOENT);
}

static int put_crt(struct tls_public_writer *w, uint16_t type, gnutls_x509_crt_t crt)
{
	gnutls_datum_t der;

	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) < 0)
		return -1;
	tls_public_put(w, type, der.data, der.size);
	gnutls_free(der.data);
	return 0;
}

static int put_chain(const struct cnbd_tls *t, struct tls_public_writer *w)
{
	gnutls_x509_crt_t *crts;
	unsigned n, bits = 0;
	int rc = 0;

	if (gnutls_certificate_get_x509_crt(t->x509, 0, &crts, &n) < 0 || !n)
		return -1;
	tls_public_put_u32(w, TLS_PUB_PK_ALGO,
			   (uint32_t)gnutls_x509_crt_get_pk_algorithm(crts[0], &bits));
	tls_public_put_u32(w, TLS_PUB_PK_BITS, bits);
	for (unsigned i = 0; i < n; i++) {
		if (rc == 0)
			rc = put_crt(w, TLS_PUB_CERT, crts[i]);
		gnutls_x509_crt_deinit(crts[i]);
	}
	gnutls_free(crts);
	return rc;
}

static int put_cas(const struct cnbd_tls *t, struct tls_public_writer *w)
{
	gnutls_x509_trust_list_iter_t it = NULL;
	gnutls_x509_trust_list_t list;
	gnutls_x509_crt_t ca;
	int rc = 0;

	gnutls_certificate_get_trust_list(t->x509, &list);
	while (gnutls_x509_trust_list_iter_get_ca(list, &it, &ca) == 0) {
		if (rc == 0)
			rc = put_crt(w, TLS_PUB_CA, ca);
		gnutls_x509_crt_deinit(ca);
	}
	gnutls_x509_trust_list_iter_deinit(it);
	return rc;
}

int cnbd_tls_public_export(const struct cnbd_tls *t, void *buf, size_t max,
			   size_t *len)
{
	struct tls_public_writer w;
	uint32_t flags = 0;

	if (!t || t->remote)
		return fail(EINVAL);
	tls_public_begin(&w, buf, max);
	if (t->x509)
		flags |= TLS_PUB_F_X509;
	if (t->psk)
		flags |= TLS_PUB_F_PSK;
	if (t->verify_clients)
		flags |= TLS_PUB_F_VERIFY;
	tls_public_put_u32(&w, TLS_PUB_FLAGS, flags);
	if (t->x509 && (put_chain(t, &w) < 0 || put_cas(t, &w) < 0))
		return fail(EIO);
	tls_public_put(&w, TLS_PUB_END, NULL, 0);
	*len = w.len;
	if (w.len > w.max)
		return fail(ENOSPC);
	return 0;
}
