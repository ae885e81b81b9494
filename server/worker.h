/* SPDX-License-Identifier: MIT */
/* A worker: one forked process per connection. */
#ifndef CNBD_SERVER_WORKER_H
#define CNBD_SERVER_WORKER_H

#include <stddef.h>

#include "export_list.h"
#include "lifeline.h"
#include "privdrop.h"

/* What a worker inherits from the master. */
struct worker_setup {
	const struct export_list *table;
	const struct privdrop_target *drop;
	int handshake_timeout;
	/* Descriptors of the master a worker must not keep: listening
	 * sockets, the signalfd, the lifeline's write end. */
	const int *master_fds;
	size_t nmaster_fds;
	const struct lifeline *lifeline;
};

/* Runs in the child right after fork: never returns. */
__attribute__((noreturn))
void worker_run(int fd, const char *peer, const struct worker_setup *w);

#endif
