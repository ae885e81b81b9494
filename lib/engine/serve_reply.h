/* SPDX-License-Identifier: MIT */
/* A request's reply: what it says, and the one place it is sent from. */
#ifndef CNBD_SERVE_REPLY_H
#define CNBD_SERVE_REPLY_H

#include <stdint.h>

#include "engine/extents.h"
#include "engine/serve_request.h"
#include "engine/serve_session.h"

struct reply {
	enum reply_kind {
		REPLY_DONE,	/* success, nothing returned */
		REPLY_ERROR,	/* error, with message for structured replies */
		REPLY_DATA,	/* a READ's count bytes at data */
		REPLY_DATA_FD,	/* a READ's bytes sent from fd (sendfile): cnbd_backend.read_fd */
		REPLY_EXTENTS,	/* a BLOCK_STATUS for base:allocation */
	} kind;
	uint32_t error;			/* an NBD error */
	const char *message;
	/* malloc'd: REPLY_DATA's is taken by reply_send (set to NULL);
	 * otherwise the sender's, freed by it after reply_send. */
	void *data;
	int fd;
	uint64_t fd_offset;
	struct cnbd_extents *extents;
};

/*
 * Sends the reply to r: simple, or structured chunks when negotiated, in
 * one writev under the session's send lock, so that replies of requests
 * running at once never interleave. In inline mode (s->batch) a reply
 * while more requests are buffered (s->more_follows) waits in the batch
 * for the burst's one writev. 0, or -1 when it could not be sent:
 * the stream is then out of step, the session marked failed, and every
 * later reply refused.
 */
int reply_send(struct session *s, const struct request *r, struct reply *rp);

/* Sends what s->batch still holds (at the end of transmission). */
int reply_flush(struct session *s);
/* CLOCK_MONOTONIC in ns: when a request was read, when its reply went. */
uint64_t serve_now_ns(void);

static inline int reply_error(struct session *s, const struct request *r,
			      uint32_t nbd_error, const char *message)
{
	struct reply rp = { .kind = REPLY_ERROR, .error = nbd_error, .message = message };

	return reply_send(s, r, &rp);
}

#endif
