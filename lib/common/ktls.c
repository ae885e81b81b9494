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
#include <unistd.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/ktls.h"

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
			 "the peer sent %zu bytes that GnuTLS has decrypted and the kernel would never see",
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

int ktls_probe(char *why, size_t whylen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc, e;

	if (fd < 0) {
		snprintf(why, whylen, "cannot make a TCP socket to ask: %s", strerror(errno));
		return -1;
	}
	rc = setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls"));
	e = errno;
	close(fd);
	if (rc == 0 || e == ENOTCONN)
		return 0;
	if (e == ENOENT)
		snprintf(why, whylen, "the kernel has no tls module (TCP_ULP \"tls\" is unknown%s)",
			 geteuid() ? "; only root can have it loaded" : "");
	else
		snprintf(why, whylen, "setsockopt TCP_ULP \"tls\": %s", strerror(e));
	return -1;
}

/* linux/tls.h names the cmsg types; the record types are TLS's own. */
#define RECORD_ALERT		21
#define RECORD_HANDSHAKE	22
#define HANDSHAKE_KEY_UPDATE	24

static void describe_handshake(const unsigned char *data, ssize_t n, char *what,
			       size_t whatlen)
{
	if (n > 0 && data[0] == HANDSHAKE_KEY_UPDATE)
		snprintf(what, whatlen, "a TLS KeyUpdate, which kernel TLS cannot follow");
	else
		snprintf(what, whatlen,
			 "a TLS handshake message (type %d) after the handshake, which kernel TLS cannot follow",
			 n > 0 ? data[0] : -1);
}

int ktls_read_control(int fd, char *what, size_t whatlen)
{
	unsigned char data[64], cbuf[CMSG_SPACE(sizeof(unsigned char))];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int type = -1;
	ssize_t n;

	do {
		n = recvmsg(fd, &msg, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;

		snprintf(what, whatlen, "a record kernel TLS refused (%s)", strerror(e));
		errno = e == EKEYEXPIRED ? EPROTO : e;
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
			type = *CMSG_DATA(cm);
	if (type == RECORD_ALERT && n >= 2 && data[1] == GNUTLS_A_CLOSE_NOTIFY)
		return 0;
	if (type == RECORD_ALERT) {
		snprintf(what, whatlen, "the TLS alert '%s'",
			 n >= 2 ? gnutls_alert_get_name((gnutls_alert_description_t)data[1]) :
				  "(truncated)");
		errno = ECONNRESET;
		return -1;
	}
	if (type == RECORD_HANDSHAKE)
		describe_handshake(data, n, what, whatlen);
	else
		snprintf(what, whatlen, "a TLS record of type %d where data was expected", type);
	errno = EPROTO;
	return -1;
}

int ktls_send_alert(int fd, unsigned char level, unsigned char desc)
{
	unsigned char alert[2] = { level, desc };
	union {
		struct cmsghdr h;
		unsigned char buf[CMSG_SPACE(sizeof(unsigned char))];
	} c;
	struct iovec iov = { .iov_base = alert, .iov_len = sizeof(alert) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = c.buf, .msg_controllen = sizeof(c.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*CMSG_DATA(cm) = RECORD_ALERT;
	return sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(alert) ? 0 : -1;
}
