/* SPDX-License-Identifier: MIT */
/* The per-connection engine: negotiate, then serve requests until the
 * client disconnects. nbd-serverd's worker and programs that embed libcnbd
 * both call cnbd_serve_connection(). */
#ifndef CNBD_SERVE_H
#define CNBD_SERVE_H

#include <stddef.h>

#include "export.h"

struct cnbd_serve_hooks {
	void *ctx;
	/* The export for a name the client sent ("" means the default
	 * export); NULL when there is none. */
	const struct cnbd_export *(*find_export)(void *ctx, const char *name);
	/* The index-th export for NBD_OPT_LIST, NULL past the last. */
	const struct cnbd_export *(*export_at)(void *ctx, size_t index);
	/* Optional: a connection lease on exp, asked for on GO and
	 * EXPORT_NAME only. 0 = granted; -1 = refused, with the reason for
	 * the client in why. */
	int (*acquire)(void *ctx, const struct cnbd_export *exp,
		       char *why, size_t whylen);
};

struct cnbd_serve_options {
	int handshake_timeout;	/* seconds for the whole negotiation; 0: none */
	int threads;		/* request threads; 0: a default */
	const char *peer;	/* for log lines, e.g. "127.0.0.1:41234" */
};

/* Serves one connection on fd (which it closes). Returns 0 after a clean
 * disconnect, -1 when the connection ended on an error (already logged). */
int cnbd_serve_connection(int fd, const struct cnbd_serve_hooks *hooks,
			  const struct cnbd_serve_options *opts);

#endif
