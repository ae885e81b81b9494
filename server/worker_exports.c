/* SPDX-License-Identifier: MIT */
/*
 * The engine asks for exports by name (INFO, GO, meta contexts) and by
 * index (LIST); each question goes to the master, whose answer is a
 * description only: name, size, flags, block sizes, description. The
 * engine uses one answer before it asks the next, so one slot holds it.
 *
 * At GO or EXPORT_NAME the lease request's answer brings the export
 * itself: its backend's pack (bytes and descriptors), from which the
 * backend rebuilds the export handle here. That is the first and only
 * storage this worker ever holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/export_pack.h"
#include "backend/stack.h"
#include "common/log.h"
#include "monitor.h"
#include "worker_backends.h"
#include "worker_exports.h"

struct held_export {
	struct cnbd_export exp;
	char name[MON_NAME_MAX + 1];
	char description[NBD_MAX_STRING + 1];
	uint32_t backend_index;
	uint32_t nlevels;
	uint32_t level_index[MON_LEVELS_MAX];
};

static int monitor_fd = -1;
static struct held_export looked_up;	/* the last FIND or AT answer */
static struct held_export leased;	/* what the lease was granted for */
static struct cnbd_pack lease_pack;	/* and its backend's pack */
static struct mon_reply reply;		/* large: not on the stack */

static const struct cnbd_export *hold(struct held_export *h, const struct mon_export *m)
{
	if (!m->found)
		return NULL;
	memset(h, 0, sizeof(*h));
	memcpy(h->name, m->name, sizeof(h->name));
	memcpy(h->description, m->description, m->description_len);
	h->backend_index = m->backend_index;
	h->nlevels = m->nlevels < MON_LEVELS_MAX ? m->nlevels : MON_LEVELS_MAX;
	memcpy(h->level_index, m->level_index, sizeof(h->level_index));
	h->exp = (struct cnbd_export){
		.name = h->name,
		.description = m->description_len ? h->description : NULL,
		.readonly = m->readonly,
		.min_block = m->min_block,
		.pref_block = m->pref_block,
		.max_block = m->max_block,
		.generation = m->generation,
		.tls_required = m->tls_required,
		.refused = m->refused,
		.size = m->size,
		.flags = m->flags,
	};
	return &h->exp;
}

static const struct cnbd_export *ask(uint32_t type, const char *name, size_t index)
{
	struct mon_request rq = { .type = type, .index = (uint32_t)index };

	if (name) {
		if (strlen(name) > MON_NAME_MAX)
			return NULL;	/* longer than any export's name */
		strcpy(rq.name, name);
	}
	if (monitor_call(monitor_fd, &rq, &reply, NULL, NULL) < 0) {
		log_error("no answer from the master about the exports");
		return NULL;
	}
	return hold(&looked_up, &reply.exp);
}

static const struct cnbd_export *hook_find(void *ctx, const char *name)
{
	(void)ctx;
	return ask(MON_FIND, name, 0);
}

static const struct cnbd_export *hook_at(void *ctx, size_t index)
{
	(void)ctx;
	if (index > UINT32_MAX)
		return NULL;
	return ask(MON_AT, NULL, index);
}

/* The master keeps the count (and logs refusals); it frees the lease
 * when it reaps us. The answer carries the export. */
static int hook_acquire(void *ctx, const struct cnbd_export *exp, char *why, size_t whylen)
{
	struct mon_request rq = { .type = MON_LEASE, .generation = exp->generation };
	size_t nfds = MON_FDS_MAX;

	(void)ctx;
	snprintf(rq.name, sizeof(rq.name), "%s", exp->name);
	pack_clear(&lease_pack);
	if (monitor_call(monitor_fd, &rq, &reply, lease_pack.fds, &nfds) < 0) {
		snprintf(why, whylen, "export '%s': the server could not grant a connection",
			 exp->name);
		return -1;
	}
	lease_pack.nfds = nfds;
	if (reply.status || !reply.exp.found) {
		snprintf(why, whylen, "%s", reply.why);
		pack_clear(&lease_pack);
		return -1;
	}
	memcpy(lease_pack.bytes, reply.data, reply.len);
	lease_pack.len = reply.len;
	hold(&leased, &reply.exp);
	return 0;
}

/* A stack's levels are backends this worker loaded: rebuilt from them. */
static const struct cnbd_backend *unpack_stack(const struct held_export *h, bool readonly)
{
	const struct cnbd_backend *levels[MON_LEVELS_MAX];
	struct stack *st;

	for (size_t i = 0; i < h->nlevels; i++) {
		levels[i] = worker_backend_at(h->level_index[i]);
		if (!levels[i]) {
			errno = ENOENT;
			return NULL;
		}
	}
	st = stack_unpack(levels, h->nlevels, &lease_pack, readonly);
	if (!st)
		return NULL;
	leased.exp.handle = st;
	return &st->ops;
}

/* The export handle, rebuilt by its backend from the pack. */
static const struct cnbd_export *hook_attach(void *ctx, const struct cnbd_export *exp,
					     char *why, size_t whylen)
{
	const struct cnbd_backend *be = worker_backend_at(leased.backend_index);

	(void)ctx;
	errno = 0;
	if (leased.nlevels)
		be = unpack_stack(&leased, leased.exp.readonly);
	else if (be && be->open_export &&
		 !(leased.exp.handle = be->export_unpack(&lease_pack, leased.exp.readonly)))
		be = NULL;
	if (!be) {
		log_error("export '%s': its backend could not take the export over: %s",
			  exp->name, errno ? strerror(errno) : "not loaded");
		snprintf(why, whylen, "export '%s' cannot be opened", exp->name);
		pack_clear(&lease_pack);
		return NULL;
	}
	leased.exp.backend = be;
	/* Whatever the backend did not take out is not its to keep. */
	pack_clear(&lease_pack);
	return &leased.exp;
}

void worker_exports_hooks(struct cnbd_serve_hooks *hooks, int fd)
{
	monitor_fd = fd;
	pack_init(&lease_pack);
	hooks->find_export = hook_find;
	hooks->export_at = hook_at;
	hooks->acquire = hook_acquire;
	hooks->attach = hook_attach;
}
