/* SPDX-License-Identifier: MIT */
/*
 * How GnuTLS's view of a session maps onto linux/tls.h:
 *
 *   AES-GCM, TLS 1.3   the 12-byte write IV: its first 4 bytes are the
 *                      kernel's salt, the other 8 its iv; the nonce is
 *                      that IV xor the record's sequence number.
 *   AES-GCM, TLS 1.2   GnuTLS's IV is the 4-byte implicit salt; the 8
 *                      explicit nonce bytes travel in each record, and
 *                      GnuTLS uses the sequence number for them, as the
 *                      kernel does: iv = the next sequence number.
 *   ChaCha20-Poly1305  the whole 12-byte IV, no salt, both versions.
 *
 * rec_seq is the next record's sequence number (big-endian, as GnuTLS
 * gives it). Any other cipher (CBC, CCM, ...) stays in userspace.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "attach/ktls.h"

#ifndef SOL_TLS
#define SOL_TLS	282
#endif

struct state {
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
};

static int sizes_ok(const struct state *st, unsigned key, unsigned iv,
		    char *err, size_t errlen)
{
	if (st->key.size == key && st->iv.size == iv)
		return 0;
	snprintf(err, errlen, "GnuTLS gave a %u-byte key and a %u-byte IV, not %u and %u",
		 st->key.size, st->iv.size, key, iv);
	return -1;
}

static int gcm(const struct state *st, bool tls13, unsigned keylen,
	       unsigned char *key, unsigned char *salt, unsigned char *iv,
	       unsigned char *rec_seq, char *err, size_t errlen)
{
	/* salt and iv sizes are the same for both key lengths */
	if (sizes_ok(st, keylen, tls13 ? 12 : 4, err, errlen) < 0)
		return -1;
	memcpy(key, st->key.data, keylen);
	memcpy(salt, st->iv.data, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
	if (tls13)
		memcpy(iv, st->iv.data + TLS_CIPHER_AES_GCM_128_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_128_IV_SIZE);
	else
		memcpy(iv, st->seq, TLS_CIPHER_AES_GCM_128_IV_SIZE);
	memcpy(rec_seq, st->seq, TLS_CIPHER_AES_GCM_128_REC_SEQ_SIZE);
	return 0;
}

int ktls_crypto_info(gnutls_session_t s, bool read, union ktls_crypto_info *ci,
		     size_t *len, char *err, size_t errlen)
{
	gnutls_protocol_t version = gnutls_protocol_get_version(s);
	gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(s);
	struct state st;
	bool tls13;
	int rc;

	memset(ci, 0, sizeof(*ci));
	if (version != GNUTLS_TLS1_2 && version != GNUTLS_TLS1_3) {
		snprintf(err, errlen, "the session is %s; kernel TLS takes TLS 1.2 and 1.3",
			 gnutls_protocol_get_name(version));
		return -1;
	}
	tls13 = version == GNUTLS_TLS1_3;
	rc = gnutls_record_get_state(s, read, &st.mac, &st.iv, &st.key, st.seq);
	if (rc < 0) {
		snprintf(err, errlen, "GnuTLS does not give the session's keys: %s",
			 gnutls_strerror(rc));
		return -1;
	}
	ci->info.version = tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	switch (cipher) {
	case GNUTLS_CIPHER_AES_128_GCM:
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		*len = sizeof(ci->gcm128);
		return gcm(&st, tls13, TLS_CIPHER_AES_GCM_128_KEY_SIZE, ci->gcm128.key,
			   ci->gcm128.salt, ci->gcm128.iv, ci->gcm128.rec_seq, err, errlen);
	case GNUTLS_CIPHER_AES_256_GCM:
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		*len = sizeof(ci->gcm256);
		return gcm(&st, tls13, TLS_CIPHER_AES_GCM_256_KEY_SIZE, ci->gcm256.key,
			   ci->gcm256.salt, ci->gcm256.iv, ci->gcm256.rec_seq, err, errlen);
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		ci->info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		*len = sizeof(ci->chacha);
		if (sizes_ok(&st, TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE,
			     TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE, err, errlen) < 0)
			return -1;
		memcpy(ci->chacha.key, st.key.data, TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE);
		memcpy(ci->chacha.iv, st.iv.data, TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE);
		memcpy(ci->chacha.rec_seq, st.seq, TLS_CIPHER_CHACHA20_POLY1305_REC_SEQ_SIZE);
		return 0;
	default:
		snprintf(err, errlen, "the server chose %s, which kernel TLS does not do",
			 gnutls_cipher_get_name(cipher));
		return -1;
	}
}

int ktls_install(gnutls_session_t s, int fd, bool *touched, char *err, size_t errlen)
{
	union ktls_crypto_info tx, rx;
	size_t txlen, rxlen;
	int rc = -1;

	*touched = false;
	/* Anything GnuTLS already decrypted would never reach the kernel. */
	if (gnutls_record_check_pending(s) > 0) {
		snprintf(err, errlen,
			 "the server sent %zu bytes after its reply to GO, before any request",
			 gnutls_record_check_pending(s));
		return -1;
	}
	if (ktls_crypto_info(s, false, &tx, &txlen, err, errlen) < 0 ||
	    ktls_crypto_info(s, true, &rx, &rxlen, err, errlen) < 0)
		goto out;
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0) {
		snprintf(err, errlen, "setsockopt TCP_ULP \"tls\": %s%s", strerror(errno),
			 errno == ENOENT ? " (the kernel's tls module is not loaded)" : "");
		goto out;
	}
	*touched = true;
	if (setsockopt(fd, SOL_TLS, TLS_TX, &tx, txlen) < 0) {
		snprintf(err, errlen, "setsockopt SOL_TLS TLS_TX (%s): %s",
			 gnutls_cipher_get_name(gnutls_cipher_get(s)), strerror(errno));
		goto out;
	}
	if (setsockopt(fd, SOL_TLS, TLS_RX, &rx, rxlen) < 0) {
		snprintf(err, errlen, "setsockopt SOL_TLS TLS_RX (%s): %s",
			 gnutls_cipher_get_name(gnutls_cipher_get(s)), strerror(errno));
		goto out;
	}
	rc = 0;
out:
	/* The keys live on in the kernel only. */
	explicit_bzero(&tx, sizeof(tx));
	explicit_bzero(&rx, sizeof(rx));
	return rc;
}
