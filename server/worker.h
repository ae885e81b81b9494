/* SPDX-License-Identifier: MIT */
/* A worker: one forked process per connection. */
#ifndef CNBD_SERVER_WORKER_H
#define CNBD_SERVER_WORKER_H

#include "export_list.h"
#include "lifeline.h"
#include "privdrop.h"

/* What a worker inherits from the master. By the time worker_run is
 * called every descriptor of the master's own has been closed. */
struct worker_setup {
	const struct export_list *table;	/* the master's, as at fork */
	const struct privdrop_target *drop;
	int handshake_timeout;
	const struct lifeline *lifeline;
	int lease_fd;				/* its end of the lease socket */
	const struct cnbd_tls *tls;		/* loaded by the master; or NULL */
	enum cnbd_tls_mode tls_mode;
};

/* Runs in the child right after fork: never returns. */
__attribute__((noreturn))
void worker_run(int fd, const char *peer, const struct worker_setup *w);

#endif
