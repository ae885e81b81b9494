/* SPDX-License-Identifier: MIT */
/*
 * Taking over a device an earlier process attached and left to the
 * kernel (cnbd_attach_adopt). Only a binding the kernel keeps serving
 * without its process can be taken over (netlink: the device outlives
 * the daemon, and RECONFIGURE gives it new connections). Before anything
 * is started the kernel must still serve the device for this URI (its
 * backend identifier) and still have it configured; the supervisor then
 * takes it over (supervisor.c: adopt), or binds it anew should it have
 * gone in between.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/backend_id.h"
#include "attach/supervisor_priv.h"
#include "attach/sysfs_nbd.h"

static const struct binding_ops *adopting_binding(void)
{
	for (size_t i = 0; attach_bindings[i]; i++)
		if (attach_bindings[i]->adopt)
			return attach_bindings[i];
	return NULL;
}

/* Whether the kernel still serves device for uri (asked before the URI
 * is even parsed: a record of what the kernel no longer has is stale,
 * whatever else is wrong with it). */
static bool still_attached(const char *device, const char *uri,
			   const struct binding_ops *ops, char *why, size_t len)
{
	char *id = backend_id(uri);
	/* Room for the identifier and one byte more: a longer one differs. */
	size_t blen = id ? strlen(id) + 2 : 1;
	char *backend = malloc(blen);
	bool same;

	same = id && backend && nbd_backend(device, backend, blen) == 0 && !strcmp(backend, id);
	free(backend);
	free(id);
	if (!same) {
		snprintf(why, len, "the kernel no longer has it attached to %s", uri);
		return false;
	}
	return ops->configured(device, why, len) == 1;
}

/* What the earlier process knew of the device. */
static void set_was(struct cnbd_attach *a, const struct cnbd_attach_status *was)
{
	a->size = was->size;
	a->blksize = was->block_size;
	a->flags = was->flags;
	/* A relay died with the process that ran it. */
	if (was->tls && !strcmp(was->tls, "relay"))
		a->tls_used = "relay";
	else if (was->tls && !strcmp(was->tls, "kernel"))
		a->tls_used = "kernel";
}

struct cnbd_attach *cnbd_attach_adopt(const char *device, const char *uri,
				      const struct cnbd_attach_status *was,
				      const struct cnbd_attach_options *o,
				      char *err, size_t errlen)
{
	const struct binding_ops *ops = adopting_binding();
	struct cnbd_attach_options mine;
	struct cnbd_attach *a;

	attach_options_or_defaults(&mine, o);
	if (!device || !nbd_name_valid(device) || !uri || !was || !was->block_size) {
		snprintf(err, errlen, "a take-over needs the device, the URI and its size and block size");
		errno = EINVAL;
		return NULL;
	}
	if (!still_attached(device, uri, ops, err, errlen)) {
		errno = ENODEV;
		return NULL;
	}
	mine.device = device;
	mine.retry_first = true;	/* it was attached: it stays supervised */
	a = attach_new(uri, &mine, err, errlen);
	if (!a)
		return NULL;
	a->ops = ops;
	a->adopting = true;
	set_was(a, was);
	return attach_run(a, err, errlen) < 0 ? NULL : a;
}
