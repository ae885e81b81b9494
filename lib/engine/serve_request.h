/* SPDX-License-Identifier: MIT */
/* One request: what the client asked, and its checks and execution. */
#ifndef CNBD_SERVE_REQUEST_H
#define CNBD_SERVE_REQUEST_H

#include <stdint.h>

#include "engine/serve_session.h"

struct request {
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint64_t offset;
	uint32_t count;
	void *payload;		/* WRITE data, read before queueing */
	struct request *next;
};

/* 0 when the request may run, else the NBD error to answer with. */
uint32_t request_check(const struct session *s, const struct request *r);
/* Runs a checked request against the backend and sends its reply.
 * -1 only when the reply could not be sent. */
int request_execute(struct session *s, struct request *r);
/* For CNBD_BACKEND_NOWAIT backends: runs a READ or WRITE at once if the
 * backend can without waiting. 1 when done and replied; 0 when it would
 * block (nothing was sent: queue it). */
int request_try_nowait(struct session *s, struct request *r);

#endif
