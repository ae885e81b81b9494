/* SPDX-License-Identifier: MIT */
/*
 * Inline mode's replies to one burst of requests, gathered and sent with
 * one writev: the floor server's one call per burst, where one sendmsg
 * per reply (even corked with MSG_MORE) costs a system call each.
 */
#ifndef CNBD_REPLY_BATCH_H
#define CNBD_REPLY_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "common/conn_io.h"

#define REPLY_BATCH_IOV		64		/* 32 reads' header and data */
#define REPLY_BATCH_ARENA	8192		/* headers, error messages */
#define REPLY_BATCH_BYTES	(256 * 1024)	/* sent once this much waits */

struct reply_batch {
	struct iovec iov[REPLY_BATCH_IOV];
	int iovcnt;
	size_t bytes;
	size_t arena_used;
	void *owned[REPLY_BATCH_IOV];	/* freed once sent */
	int nowned;
	uint8_t arena[REPLY_BATCH_ARENA];
};

/*
 * Adds one reply's iov to b. The pieces are copied into b's arena, except
 * the one at owned (malloc'd, or NULL), which b keeps and frees after
 * sending. What no longer fits sends b first (with MSG_MORE). 0, or -1
 * when a send failed (owned is freed all the same).
 */
int reply_batch_add(struct reply_batch *b, struct conn_io *io,
		    const struct iovec *iov, int iovcnt, void *owned);

/* Sends what b holds in one writev, more: MSG_MORE (more follows at
 * once); io NULL drops it unsent. 0, or -1 with errno; b is empty after
 * either. */
int reply_batch_flush(struct reply_batch *b, struct conn_io *io, bool more);

static inline bool reply_batch_empty(const struct reply_batch *b)
{
	return b->iovcnt == 0;
}

#endif
