/* SPDX-License-Identifier: MIT */
/*
 * The master signs for workers, so a worker that was taken over must not
 * get a general signing oracle out of it. GnuTLS hands an external key a
 * digest for RSA, RSA-PSS and ECDSA (the content behind it cannot be
 * seen: only that it is one digest of a hash TLS uses, or, for PKCS#1
 * v1.5, exactly one DER DigestInfo of one), and the data itself for
 * EdDSA, where the content is checked: TLS 1.3's CertificateVerify input
 * or TLS 1.2's ServerKeyExchange (randoms, then named-curve ECDH
 * parameters). TLS 1.0/1.1's MD5+SHA-1 is refused: workers do not offer
 * those versions.
 */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "engine/tls_keyholder.h"
#include "engine/tls_sign_check.h"

static const struct {
	gnutls_sign_algorithm_t algo;
	gnutls_pk_algorithm_t pk;
} usable[] = {
	{ GNUTLS_SIGN_RSA_SHA1, GNUTLS_PK_RSA },
	{ GNUTLS_SIGN_RSA_SHA256, GNUTLS_PK_RSA },
	{ GNUTLS_SIGN_RSA_SHA384, GNUTLS_PK_RSA },
	{ GNUTLS_SIGN_RSA_SHA512, GNUTLS_PK_RSA },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, GNUTLS_PK_RSA },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, GNUTLS_PK_RSA },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA512, GNUTLS_PK_RSA },
	{ GNUTLS_SIGN_RSA_PSS_SHA256, GNUTLS_PK_RSA_PSS },
	{ GNUTLS_SIGN_RSA_PSS_SHA384, GNUTLS_PK_RSA_PSS },
	{ GNUTLS_SIGN_RSA_PSS_SHA512, GNUTLS_PK_RSA_PSS },
	{ GNUTLS_SIGN_ECDSA_SHA1, GNUTLS_PK_ECDSA },
	{ GNUTLS_SIGN_ECDSA_SHA256, GNUTLS_PK_ECDSA },
	{ GNUTLS_SIGN_ECDSA_SHA384, GNUTLS_PK_ECDSA },
	{ GNUTLS_SIGN_ECDSA_SHA512, GNUTLS_PK_ECDSA },
	{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, GNUTLS_PK_ECDSA },
	{ GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, GNUTLS_PK_ECDSA },
	{ GNUTLS_SIGN_ECDSA_SECP521R1_SHA512, GNUTLS_PK_ECDSA },
	{ GNUTLS_SIGN_EDDSA_ED25519, GNUTLS_PK_EDDSA_ED25519 },
	{ GNUTLS_SIGN_EDDSA_ED448, GNUTLS_PK_EDDSA_ED448 },
};

bool tls_sign_algo_usable(int pk, uint32_t algo)
{
	for (size_t i = 0; i < sizeof(usable) / sizeof(usable[0]); i++)
		if (usable[i].algo == algo)
			return (int)usable[i].pk == pk;
	return false;
}

static bool tls_hash(gnutls_digest_algorithm_t h)
{
	return h == GNUTLS_DIG_SHA1 || h == GNUTLS_DIG_SHA256 ||
	       h == GNUTLS_DIG_SHA384 || h == GNUTLS_DIG_SHA512;
}

/* Exactly one DER DigestInfo of a TLS hash, nothing around it. */
static const char *digest_info_refusal(const uint8_t *data, size_t len)
{
	const gnutls_datum_t in = { (unsigned char *)data, (unsigned)len };
	gnutls_digest_algorithm_t h;
	unsigned char digest[64];
	unsigned dlen = sizeof(digest);
	gnutls_datum_t again = { digest, 0 }, der;
	bool same;

	if (gnutls_decode_ber_digest_info(&in, &h, digest, &dlen) < 0)
		return "not a DigestInfo";
	if (!tls_hash(h) || dlen != gnutls_hash_get_len(h))
		return "not a DigestInfo of a TLS hash";
	again.size = dlen;
	if (gnutls_encode_ber_digest_info(h, &again, &der) < 0)
		return "not a DigestInfo";
	same = der.size == len && !memcmp(der.data, data, len);
	gnutls_free(der.data);
	return same ? NULL : "not a DER DigestInfo";
}

#define TLS13_PAD	64
static const char tls13_server_context[] = "TLS 1.3, server CertificateVerify";

/* RFC 8446 4.4.3: 64 spaces, the context string and its NUL, the
 * transcript hash (SHA-256 or SHA-384: the TLS 1.3 suites' hashes). */
static bool tls13_verify_input(const uint8_t *data, size_t len)
{
	size_t head = TLS13_PAD + sizeof(tls13_server_context);

	if (len != head + 32 && len != head + 48)
		return false;
	for (size_t i = 0; i < TLS13_PAD; i++)
		if (data[i] != 0x20)
			return false;
	return !memcmp(data + TLS13_PAD, tls13_server_context,
		       sizeof(tls13_server_context));
}

/* RFC 8422 5.4: client_random, server_random, then ServerECDHParams:
 * curve_type named_curve (3), the group, and the point, whose length the
 * group fixes. */
static bool tls12_ske_input(const uint8_t *data, size_t len)
{
	static const struct { uint16_t group; uint8_t point; } groups[] = {
		{ 23, 65 }, { 24, 97 }, { 25, 133 },	/* secp256r1 384 521 */
		{ 29, 32 }, { 30, 56 },			/* x25519, x448 */
	};
	const uint8_t *p = data + 64;
	uint16_t group;

	if (len < 64 + 4 || p[0] != 3)
		return false;
	group = (uint16_t)(p[1] << 8 | p[2]);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (groups[i].group == group)
			return p[3] == groups[i].point && len == 64 + 4 + (size_t)p[3];
	return false;
}

const char *tls_sign_input_refusal(int pk, uint32_t algo, uint32_t flags,
				   const uint8_t *data, size_t len)
{
	gnutls_digest_algorithm_t h;

	if (!data || !len || len > CNBD_TLS_SIGN_MAX_DATA)
		return "no input or too long";
	if (flags == CNBD_TLS_SIGN_HASH && algo == GNUTLS_SIGN_RSA_RAW) {
		if (pk != GNUTLS_PK_RSA)
			return "PKCS#1 v1.5 with a key that is not RSA";
		return digest_info_refusal(data, len);
	}
	if (!tls_sign_algo_usable(pk, algo))
		return "an algorithm the key does not sign TLS handshakes with";
	if (flags == CNBD_TLS_SIGN_HASH) {
		/* GnuTLS asks for PKCS#1 v1.5 as RSA_RAW only. */
		if (gnutls_sign_get_pk_algorithm(algo) == GNUTLS_PK_RSA ||
		    pk == GNUTLS_PK_EDDSA_ED25519 || pk == GNUTLS_PK_EDDSA_ED448)
			return "a digest for an algorithm GnuTLS gives the data";
		h = gnutls_sign_get_hash_algorithm(algo);
		if (!tls_hash(h) || len != gnutls_hash_get_len(h))
			return "not one digest of the algorithm's hash";
		return NULL;
	}
	if (flags != CNBD_TLS_SIGN_DATA)
		return "unknown flags";
	if (pk != GNUTLS_PK_EDDSA_ED25519 && pk != GNUTLS_PK_EDDSA_ED448)
		return "data for an algorithm GnuTLS gives a digest";
	if (!tls13_verify_input(data, len) && !tls12_ske_input(data, len))
		return "neither TLS 1.3 CertificateVerify nor TLS 1.2 ServerKeyExchange input";
	return NULL;
}
