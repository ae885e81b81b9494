/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "backend/backend_lookup.h"

static backend_resolver resolver;
static void *resolver_ctx;

void backend_lookup_set(backend_resolver resolve, void *ctx)
{
	resolver = resolve;
	resolver_ctx = ctx;
}

const struct cnbd_backend *cnbd_backend_lookup(const char *name)
{
	const struct cnbd_backend *ops;
	char err[512] = "";

	if (!resolver) {
		cnbd_error("backend '%s': this program loads no backends for others", name);
		errno = ENOSYS;
		return NULL;
	}
	ops = resolver(resolver_ctx, name, err, sizeof(err));
	if (!ops) {
		cnbd_error("%s", err[0] ? err : "backend not found");
		if (!errno)
			errno = ENOENT;
	}
	return ops;
}
