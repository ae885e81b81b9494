/* SPDX-License-Identifier: MIT */
/* Writing replies: simple ones, or structured chunks when negotiated.
 * Each reply leaves in one writev under the session's send lock, so
 * replies from concurrent requests never interleave. */
#ifndef CNBD_SERVE_REPLY_H
#define CNBD_SERVE_REPLY_H

#include <stdint.h>

#include "engine/extents.h"
#include "engine/serve_session.h"

/* Success without data (and DONE), or an error with a message. */
int reply_status(struct session *s, uint64_t cookie, uint32_t nbd_error,
		 const char *message);
/* A successful READ. */
int reply_read(struct session *s, uint64_t cookie, uint64_t offset,
	       const void *data, uint32_t len);
/* A successful READ whose data is sent from fd with sendfile (plaintext
 * sessions only): see cnbd_backend.read_fd. */
int reply_read_fd(struct session *s, uint64_t cookie, uint64_t offset,
		  int fd, uint64_t fd_offset, uint32_t len);
/* A successful BLOCK_STATUS for base:allocation. */
int reply_block_status(struct session *s, uint64_t cookie,
		       const struct cnbd_extents *extents);

#endif
