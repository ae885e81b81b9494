/* SPDX-License-Identifier: MIT */
/* The public blob's records (see tls_public.h). */
#include <string.h>

#include "engine/tls_public.h"

static void put_bytes(struct tls_public_writer *w, const void *v, size_t n)
{
	if (w->len <= w->max && n <= w->max - w->len && n)
		memcpy(w->buf + w->len, v, n);
	w->len += n;
}

void tls_public_begin(struct tls_public_writer *w, void *buf, size_t max)
{
	w->buf = buf;
	w->max = buf ? max : 0;
	w->len = 0;
	put_bytes(w, TLS_PUBLIC_MAGIC, TLS_PUBLIC_MAGIC_LEN);
}

void tls_public_put(struct tls_public_writer *w, uint16_t type, const void *v, size_t n)
{
	uint8_t hdr[6] = {
		type >> 8, type,
		(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n,
	};

	put_bytes(w, hdr, sizeof(hdr));
	put_bytes(w, v, n);
}

void tls_public_put_u32(struct tls_public_writer *w, uint16_t type, uint32_t v)
{
	uint8_t be[4] = { v >> 24, v >> 16, v >> 8, v };

	tls_public_put(w, type, be, sizeof(be));
}

bool tls_public_open(struct tls_public_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = TLS_PUBLIC_MAGIC_LEN;
	return buf && len >= TLS_PUBLIC_MAGIC_LEN &&
	       !memcmp(buf, TLS_PUBLIC_MAGIC, TLS_PUBLIC_MAGIC_LEN);
}

int tls_public_next(struct tls_public_reader *r, uint16_t *type,
		    const uint8_t **val, uint32_t *vlen)
{
	const uint8_t *p = r->buf + r->pos;

	if (r->len - r->pos < 6)
		return -1;
	*type = (uint16_t)(p[0] << 8 | p[1]);
	*vlen = (uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 | p[5];
	if (*vlen > r->len - r->pos - 6)
		return -1;
	*val = p + 6;
	r->pos += 6 + (size_t)*vlen;
	return *type == TLS_PUB_END ? 0 : 1;
}

bool tls_public_u32(const uint8_t *val, uint32_t vlen, uint32_t *out)
{
	if (vlen != 4)
		return false;
	*out = (uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 | (uint32_t)val[2] << 8 | val[3];
	return true;
}
