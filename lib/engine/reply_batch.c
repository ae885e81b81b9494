/* SPDX-License-Identifier: MIT */
/* Gathering replies for one writev (reply_batch.h). */
#include <stdlib.h>
#include <string.h>

#include "engine/reply_batch.h"

int reply_batch_flush(struct reply_batch *b, struct conn_io *io, bool more)
{
	int rc = 0;

	if (b->iovcnt && io)
		rc = conn_writev(io, b->iov, b->iovcnt, more);
	for (int i = 0; i < b->nowned; i++)
		free(b->owned[i]);
	b->iovcnt = 0;
	b->nowned = 0;
	b->bytes = 0;
	b->arena_used = 0;
	return rc;
}

/* Bytes of iov that are copied into the arena. */
static size_t copied_bytes(const struct iovec *iov, int iovcnt, const void *owned)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_base != owned)
			n += iov[i].iov_len;
	return n;
}

static bool fits(const struct reply_batch *b, const struct iovec *iov, int iovcnt,
		 const void *owned)
{
	size_t copy = copied_bytes(iov, iovcnt, owned);

	return b->iovcnt + iovcnt <= REPLY_BATCH_IOV &&
	       b->arena_used + copy <= REPLY_BATCH_ARENA &&
	       b->bytes < REPLY_BATCH_BYTES;
}

static void append(struct reply_batch *b, const struct iovec *iov, int iovcnt, void *owned)
{
	for (int i = 0; i < iovcnt; i++) {
		struct iovec *v = &b->iov[b->iovcnt++];

		v->iov_len = iov[i].iov_len;
		if (iov[i].iov_base == owned) {
			v->iov_base = owned;
		} else {
			v->iov_base = b->arena + b->arena_used;
			memcpy(v->iov_base, iov[i].iov_base, iov[i].iov_len);
			b->arena_used += iov[i].iov_len;
		}
		b->bytes += iov[i].iov_len;
	}
	if (owned)
		b->owned[b->nowned++] = owned;
}

int reply_batch_add(struct reply_batch *b, struct conn_io *io,
		    const struct iovec *iov, int iovcnt, void *owned)
{
	if (!fits(b, iov, iovcnt, owned) && reply_batch_flush(b, io, true) < 0) {
		free(owned);
		return -1;
	}
	append(b, iov, iovcnt, owned);
	return 0;
}
