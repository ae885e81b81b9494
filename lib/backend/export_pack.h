/* SPDX-License-Identifier: MIT */
/*
 * struct cnbd_pack: what a backend's export_pack puts in for a worker,
 * and what its export_unpack takes out there. The master fills one,
 * sends its bytes and descriptors in one message (SCM_RIGHTS), and the
 * worker rebuilds one from that message.
 */
#ifndef CNBD_EXPORT_PACK_H
#define CNBD_EXPORT_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "cnbd/backend.h"

struct cnbd_pack {
	int fds[CNBD_PACK_MAX_FDS];
	size_t nfds;
	uint8_t bytes[CNBD_PACK_MAX_BYTES];
	size_t len;
	/* Reading side */
	size_t next_fd, next_byte;
};

void pack_init(struct cnbd_pack *p);
/* Closes the descriptors nobody took out. */
void pack_clear(struct cnbd_pack *p);

#endif
