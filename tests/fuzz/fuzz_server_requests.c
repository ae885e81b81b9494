/* SPDX-License-Identifier: MIT */
/*
 * Target server_requests: a valid negotiation is sent first, so that
 * every input byte after the first is transmission: request headers,
 * WRITE payloads, flags, ranges. The first byte picks the negotiation:
 *   bit 0  export "b" (pool mode, 512-byte blocks) instead of "a" (inline)
 *   bit 1  structured replies
 *   bit 2  base:allocation (with bit 1; BLOCK_STATUS answers)
 */
#include <string.h>

#include "cnbd/protocol.h"
#include "fuzz_engine.h"
#include "fuzz_target.h"
#include "common/wire.h"

static size_t option(uint8_t *p, uint32_t opt, const void *data, uint32_t len)
{
	put_be64(p, NBD_IHAVEOPT);
	put_be32(p + 8, opt);
	put_be32(p + 12, len);
	if (len)
		memcpy(p + 16, data, len);
	return 16 + len;
}

/* A name (u32 length, bytes) as options carry it; returns its size. */
static size_t name(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	put_be32(p, n);
	memcpy(p + 4, s, n);
	return 4 + n;
}

static size_t negotiation(uint8_t *p, uint8_t how)
{
	static const char base[] = "base:allocation";
	const char *exp = (how & 1) ? "b" : "a";
	uint8_t d[64];
	size_t n = 0, dl;

	put_be32(p, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	n = 4;
	if (how & 2)
		n += option(p + n, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
	if ((how & 6) == 6) {
		dl = name(d, exp);
		put_be32(d + dl, 1);
		dl += 4;
		dl += name(d + dl, base);
		n += option(p + n, NBD_OPT_SET_META_CONTEXT, d, dl);
	}
	dl = name(d, exp);
	put_be16(d + dl, 1);
	put_be16(d + dl + 2, NBD_INFO_BLOCK_SIZE);
	n += option(p + n, NBD_OPT_GO, d, dl + 4);
	return n;
}

void fuzz_server_requests(const uint8_t *data, size_t len)
{
	uint8_t prefix[256];
	size_t n;

	if (len < 1)
		return;
	n = negotiation(prefix, data[0]);
	fuzz_engine_serve(prefix, n, data + 1, len - 1);
}

FUZZ_TARGET(fuzz_server_requests)
