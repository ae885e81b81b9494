/* SPDX-License-Identifier: MIT */
/*
 * The public part of a struct cnbd_tls as bytes, from the master to a
 * worker: "CNBDTLS1", then records (type u16, length u32, value; big
 * endian) up to an END record. Unknown types are skipped, so the master
 * can add some a worker of the same build then knows. No secret is ever
 * a record: certificates, CAs, flags, a hint, the key's algorithm.
 */
#ifndef CNBD_TLS_PUBLIC_H
#define CNBD_TLS_PUBLIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_PUBLIC_MAGIC	"CNBDTLS1"
#define TLS_PUBLIC_MAGIC_LEN	8

enum tls_public_type {
	TLS_PUB_END = 0,
	TLS_PUB_FLAGS = 1,	/* u32: TLS_PUB_F_* */
	TLS_PUB_PK_ALGO = 2,	/* u32: gnutls_pk_algorithm_t of the key */
	TLS_PUB_PK_BITS = 3,	/* u32 */
	TLS_PUB_CERT = 4,	/* DER; the chain in order, leaf first */
	TLS_PUB_CA = 5,		/* DER; one trusted CA for client certificates */
	TLS_PUB_PSK_HINT = 6,	/* the identity hint's bytes, no NUL */
};

#define TLS_PUB_F_X509		(1u << 0)
#define TLS_PUB_F_PSK		(1u << 1)
#define TLS_PUB_F_VERIFY	(1u << 2)

/* Appends past max are counted, not written: len ends as the size needed. */
struct tls_public_writer {
	uint8_t *buf;
	size_t max, len;
};

void tls_public_begin(struct tls_public_writer *w, void *buf, size_t max);
void tls_public_put(struct tls_public_writer *w, uint16_t type, const void *v, size_t n);
void tls_public_put_u32(struct tls_public_writer *w, uint16_t type, uint32_t v);

struct tls_public_reader {
	const uint8_t *buf;
	size_t len, pos;
};

/* false when the blob does not begin with the magic. */
bool tls_public_open(struct tls_public_reader *r, const void *buf, size_t len);
/* The next record: 1, 0 at END, -1 when the blob is cut or has no END. */
int tls_public_next(struct tls_public_reader *r, uint16_t *type,
		    const uint8_t **val, uint32_t *vlen);
/* A u32 record's value; false when the length is not 4. */
bool tls_public_u32(const uint8_t *val, uint32_t vlen, uint32_t *out);

#endif
