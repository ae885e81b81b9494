/* SPDX-License-Identifier: MIT */
/* One request: what the client asked, and its checks and execution. */
#ifndef CNBD_SERVE_REQUEST_H
#define CNBD_SERVE_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/serve_session.h"
#include "proto/messages.h"

struct request {
	struct proto_request hdr;	/* as the client sent it */
	void *payload;		/* WRITE data, read before queueing */
	uint64_t start_ns;	/* its header read (CLOCK_MONOTONIC); 0: not
				 * timed (no request_done hook) */
	struct request *next;
};

/* 0 when the request may run, else the NBD error to answer with. */
uint32_t request_check(const struct session *s, const struct request *r);
/* Runs a checked request against the backend and sends its reply.
 * -1 only when the reply could not be sent. */
int request_execute(struct session *s, struct request *r);
/* For CNBD_BACKEND_NOWAIT backends: runs a READ or WRITE at once if the
 * backend can without waiting. true when done and replied; false when it
 * would block (nothing was sent: queue it). */
bool request_try_nowait(struct session *s, struct request *r);

#endif
