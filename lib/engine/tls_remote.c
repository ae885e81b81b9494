/* SPDX-License-Identifier: MIT */
/*
 * A worker's struct cnbd_tls (see tls_keyholder.h): the certificate chain
 * and CAs from the master's public blob, a GnuTLS private key whose
 * signing callbacks ask the master, and PSK credentials whose lookup asks
 * the master for the one key the client names. No private key, and no
 * PSK but the current connection's (on the handshake's stack), is ever
 * in this process.
 */
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "engine/tls_creds.h"
#include "engine/tls_keyholder.h"
#include "engine/tls_public.h"
#include "engine/tls_sign_check.h"

/* Without the RSA key exchange nothing asks the key to decrypt (there is
 * no decrypt callback: the master decrypts nothing for a worker); without
 * TLS 1.0/1.1 nothing asks for an MD5+SHA-1 signature. */
#define REMOTE_RESTRICT		":-RSA:-RSA-PSK:-VERS-TLS1.1:-VERS-TLS1.0"
#define REMOTE_PRIORITY		"NORMAL" REMOTE_RESTRICT
#define REMOTE_PRIORITY_PSK	"NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK" REMOTE_RESTRICT

#define MAX_CHAIN	16

struct tls_remote {
	const struct cnbd_tls_remote_ops *ops;
	void *ctx;
	int pk;
	unsigned bits;
};

const char *tls_remote_priority(const struct cnbd_tls *t)
{
	return t->psk ? REMOTE_PRIORITY_PSK : REMOTE_PRIORITY;
}

void tls_remote_free(struct tls_remote *r)
{
	free(r);
}

static int remote_sign(struct tls_remote *r, gnutls_sign_algorithm_t algo,
		       uint32_t flags, const gnutls_datum_t *in, gnutls_datum_t *out)
{
	unsigned char sig[CNBD_TLS_SIGN_MAX_SIG];
	size_t n = 0;

	if (in->size > CNBD_TLS_SIGN_MAX_DATA)
		return GNUTLS_E_INVALID_REQUEST;
	if (r->ops->sign(r->ctx, algo, flags, in->data, in->size, sig, sizeof(sig), &n) < 0 ||
	    !n || n > sizeof(sig)) {
		log_info("TLS: the master did not sign (%s)", gnutls_sign_get_name(algo));
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	out->data = gnutls_malloc(n);
	if (!out->data)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(out->data, sig, n);
	out->size = n;
	return 0;
}

static int sign_data_cb(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
			unsigned flags, const gnutls_datum_t *data, gnutls_datum_t *sig)
{
	(void)key;
	(void)flags;
	return remote_sign(userdata, algo, CNBD_TLS_SIGN_DATA, data, sig);
}

static int sign_hash_cb(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
			unsigned flags, const gnutls_datum_t *hash, gnutls_datum_t *sig)
{
	(void)key;
	(void)flags;
	return remote_sign(userdata, algo, CNBD_TLS_SIGN_HASH, hash, sig);
}

static int info_cb(gnutls_privkey_t key, unsigned flags, void *userdata)
{
	const struct tls_remote *r = userdata;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return tls_sign_algo_usable(r->pk, GNUTLS_FLAGS_TO_SIGN_ALGO(flags));
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return r->pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)r->bits;
	return -1;
}

int tls_remote_psk_lookup(struct tls_conn *c, const char *identity, gnutls_datum_t *key)
{
	const struct tls_remote *r = c->tls->remote;
	size_t n = strlen(identity);
	char esc[LOG_ESCAPE_SIZE];

	if (c->psk_asked) {
		/* One question per connection. The same identity again is a
		 * ClientHello after a HelloRetryRequest: it gets the key
		 * kept for this handshake, without asking again. */
		if (!c->keylen || strcmp(c->identity, identity)) {
			log_info("TLS: a second PSK identity in one connection ('%s') refused",
				 log_escape(identity, esc, sizeof(esc)));
			return -1;
		}
	} else {
		c->psk_asked = true;
		if (n > CNBD_TLS_PSK_MAX_IDENTITY || n >= sizeof(c->identity)) {
			log_info("TLS: PSK identity of %zu bytes refused", n);
			return -1;
		}
		memcpy(c->identity, identity, n + 1);
		if (r->ops->psk_key(r->ctx, identity, c->key, sizeof(c->key), &c->keylen) < 0 ||
		    !c->keylen || c->keylen > sizeof(c->key)) {
			c->keylen = 0;
			log_info("TLS: unknown PSK identity '%s'",
				 log_escape(identity, esc, sizeof(esc)));
			return -1;
		}
	}
	key->data = gnutls_malloc(c->keylen);
	if (!key->data)
		return -1;
	memcpy(key->data, c->key, c->keylen);
	key->size = (unsigned)c->keylen;
	return 0;
}

static int psk_cb(gnutls_session_t session, const char *identity, gnutls_datum_t *key)
{
	struct tls_conn *c = gnutls_session_get_ptr(session);

	if (!c)		/* after the handshake */
		return -1;
	return tls_remote_psk_lookup(c, identity, key);
}

struct public_parts {
	uint32_t flags, pk, bits;
	gnutls_datum_t chain[MAX_CHAIN];
	unsigned nchain;
	const uint8_t *hint;
	uint32_t hintlen;
};

static int parse_public(struct public_parts *p, const void *blob, size_t len,
			struct cnbd_tls *t, char *err, size_t errlen)
{
	struct tls_public_reader rd;
	const uint8_t *v;
	uint32_t vlen;
	uint16_t type;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!tls_public_open(&rd, blob, len)) {
		snprintf(err, errlen, "TLS public part: bad magic");
		return -1;
	}
	while ((rc = tls_public_next(&rd, &type, &v, &vlen)) > 0) {
		gnutls_datum_t der = { (unsigned char *)v, vlen };
		bool ok = true;

		switch (type) {
		case TLS_PUB_FLAGS:
			ok = tls_public_u32(v, vlen, &p->flags);
			break;
		case TLS_PUB_PK_ALGO:
			ok = tls_public_u32(v, vlen, &p->pk);
			break;
		case TLS_PUB_PK_BITS:
			ok = tls_public_u32(v, vlen, &p->bits);
			break;
		case TLS_PUB_CERT:
			ok = p->nchain < MAX_CHAIN;
			if (ok)
				p->chain[p->nchain++] = der;
			break;
		case TLS_PUB_CA:
			/* Trust goes straight into credentials made below
			 * once FLAGS said X.509: the master writes FLAGS first. */
			ok = t->x509 &&
			     gnutls_certificate_set_x509_trust_mem(t->x509, &der,
								   GNUTLS_X509_FMT_DER) > 0;
			break;
		case TLS_PUB_PSK_HINT:
			p->hint = v;
			p->hintlen = vlen;
			break;
		}
		if (!ok) {
			snprintf(err, errlen, "TLS public part: bad record %u", type);
			return -1;
		}
		if (type == TLS_PUB_FLAGS && (p->flags & TLS_PUB_F_X509) && !t->x509 &&
		    gnutls_certificate_allocate_credentials(&t->x509) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "TLS public part: cut short");
		return -1;
	}
	return 0;
}

static int setup_x509(struct cnbd_tls *t, struct public_parts *p, char *err, size_t errlen)
{
	gnutls_pcert_st pcert[MAX_CHAIN];
	gnutls_privkey_t key = NULL;
	unsigned n = 0, bits = 0;
	int rc = -1, pk;

	if (!p->nchain) {
		snprintf(err, errlen, "TLS public part: no certificate");
		return -1;
	}
	for (; n < p->nchain; n++)
		if (gnutls_pcert_import_x509_raw(&pcert[n], &p->chain[n],
						 GNUTLS_X509_FMT_DER, 0) < 0) {
			snprintf(err, errlen, "TLS public part: certificate %u does not parse", n);
			goto out;
		}
	/* The leaf's own key decides, not what the blob says of it. */
	pk = gnutls_pubkey_get_pk_algorithm(pcert[0].pubkey, &bits);
	if (pk < 0 || (uint32_t)pk != p->pk) {
		snprintf(err, errlen, "TLS public part: the key algorithm is not the certificate's");
		goto out;
	}
	t->remote->pk = pk;
	t->remote->bits = bits;
	if (gnutls_privkey_init(&key) < 0 ||
	    gnutls_privkey_import_ext4(key, t->remote, sign_data_cb, sign_hash_cb, NULL,
				       NULL, info_cb, 0) < 0) {
		snprintf(err, errlen, "TLS: cannot make the external key");
		goto out;
	}
	/* The master's credentials matched key and certificate when they
	 * loaded; matching again would cost one signature per worker. */
	gnutls_certificate_set_flags(t->x509, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	rc = gnutls_certificate_set_key(t->x509, NULL, 0, pcert, (int)n, key);
	if (rc < 0) {
		snprintf(err, errlen, "TLS: %s", gnutls_strerror(rc));
		rc = -1;
		goto out;
	}
	/* The credentials own the key and the certificates now. */
	return 0;
out:
	if (key)
		gnutls_privkey_deinit(key);
	while (n--)
		gnutls_pcert_deinit(&pcert[n]);
	return rc;
}

struct cnbd_tls *cnbd_tls_remote_new(const void *blob, size_t len,
				     const struct cnbd_tls_remote_ops *ops, void *ctx,
				     char *err, size_t errlen)
{
	struct cnbd_tls *t = calloc(1, sizeof(*t));
	struct public_parts p;

	if (t)
		t->remote = calloc(1, sizeof(*t->remote));
	if (!t || !t->remote) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->remote->ops = ops;
	t->remote->ctx = ctx;
	if (parse_public(&p, blob, len, t, err, errlen) < 0)
		goto fail;
	t->verify_clients = p.flags & TLS_PUB_F_VERIFY;
	if (!(p.flags & (TLS_PUB_F_X509 | TLS_PUB_F_PSK))) {
		snprintf(err, errlen, "TLS public part: neither X.509 nor PSK");
		goto fail;
	}
	if ((p.flags & TLS_PUB_F_X509) && (!ops || !ops->sign)) {
		snprintf(err, errlen, "TLS: X.509 needs a sign operation");
		goto fail;
	}
	if ((p.flags & TLS_PUB_F_PSK) && (!ops || !ops->psk_key)) {
		snprintf(err, errlen, "TLS: PSK needs a psk_key operation");
		goto fail;
	}
	if (t->x509 && setup_x509(t, &p, err, errlen) < 0)
		goto fail;
	if (p.flags & TLS_PUB_F_PSK) {
		if (gnutls_psk_allocate_server_credentials(&t->psk) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		gnutls_psk_set_server_credentials_function(t->psk, psk_cb);
		if (p.hint) {
			char hint[CNBD_TLS_PSK_MAX_IDENTITY + 1];

			if (p.hintlen >= sizeof(hint)) {
				snprintf(err, errlen, "TLS public part: PSK hint too long");
				goto fail;
			}
			memcpy(hint, p.hint, p.hintlen);
			hint[p.hintlen] = '\0';
			gnutls_psk_set_server_credentials_hint(t->psk, hint);
		}
	}
	return t;
fail:
	cnbd_tls_free(t);
	return NULL;
}
