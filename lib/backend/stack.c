/* SPDX-License-Identifier: MIT */
/*
 * Opening, handing over and closing a stack of backends (stack.h). The
 * calls between levels are in stack_next.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_load.h"
#include "backend/stack.h"
#include "backend/stack_params.h"
#include "common/log.h"

/* Flags a layer cannot claim for itself: it would need every level
 * below to have them too (no waiting, RWF_NOWAIT), or the sandbox must
 * allow what any level needs. */
#define AND_FLAGS	(CNBD_BACKEND_NONBLOCKING | CNBD_BACKEND_NOWAIT)
#define DEFAULT_AND	(AND_FLAGS | CNBD_BACKEND_MULTI_CONN | CNBD_BACKEND_NATIVE_FUA)

static bool has_state(const struct cnbd_backend *ops)
{
	return backend_is_layer(ops) ? ops->open_layer != NULL : ops->open_export != NULL;
}

static uint32_t layer_flags(const struct stack_level *l, uint32_t below)
{
	uint32_t own = l->ops->flags, f;

	if (l->ops->export_flags)
		f = l->ops->export_flags(l->handle, below);
	else
		f = (own & ~(DEFAULT_AND | CNBD_BACKEND_ROTATIONAL)) |
		    (own & below & DEFAULT_AND) | (below & CNBD_BACKEND_ROTATIONAL);
	f &= ~AND_FLAGS | (below & AND_FLAGS);
	return f | (below & CNBD_BACKEND_NEEDS_NETWORK);
}

/* The levels some layer above keeps its writes from. */
static void mark_readonly(struct stack *st)
{
	for (size_t i = 1; i < st->n; i++)
		st->lv[i].readonly = st->lv[i - 1].readonly ||
				     (st->lv[i - 1].ops->flags & CNBD_BACKEND_BASE_READONLY);
}

/* Each level's flags from the bottom up, which levels must be called
 * one call at a time, and the composite's callbacks. */
static void settle(struct stack *st)
{
	bool parallel;

	st->lv[st->n - 1].flags = st->lv[st->n - 1].ops->flags;
	for (size_t i = st->n - 1; i-- > 0;)
		st->lv[i].flags = layer_flags(&st->lv[i], st->lv[i + 1].flags);
	parallel = st->lv[0].flags & CNBD_BACKEND_PARALLEL;
	for (size_t i = 0; i < st->n; i++)
		st->lv[i].locked = parallel && i > 0 &&
				   !(st->lv[i].flags & CNBD_BACKEND_PARALLEL);
	st->name[0] = '\0';
	for (size_t i = 0; i < st->n; i++) {
		size_t len = strlen(st->name);

		snprintf(st->name + len, sizeof(st->name) - len, "%s%s", i ? "+" : "",
			 st->lv[i].ops->name);
	}
	stack_fill_ops(st);
}

static struct stack *stack_new(const struct cnbd_backend *const *levels, size_t n)
{
	struct stack *st;

	if (n < 2 || n > STACK_MAX_LEVELS) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->n = n;
	for (size_t i = 0; i < n; i++) {
		st->lv[i].ops = levels[i];
		st->below[i] = (struct cnbd_below){ st, i };
	}
	mark_readonly(st);
	return st;
}

static void close_levels(struct stack *st, size_t from)
{
	for (size_t i = from; i < st->n; i++) {
		const struct cnbd_backend *ops = st->lv[i].ops;

		if (st->lv[i].handle && ops->close_export)
			ops->close_export(st->lv[i].handle);
		st->lv[i].handle = NULL;
	}
}

void stack_close(struct stack *st)
{
	if (!st)
		return;
	close_levels(st, 0);
	free(st);
}

static int refuse(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	snprintf(err, errlen, fmt, a, b);
	errno = EINVAL;
	return -1;
}

/* Level i's export, over the levels below it (open already). */
static int open_level(struct stack *st, size_t i, const struct cnbd_param *p, size_t n,
		      char *err, size_t errlen)
{
	const struct cnbd_backend *ops = st->lv[i].ops;
	bool layer = backend_is_layer(ops);
	const char *reason;

	if (!has_state(ops))
		return n ? refuse(err, errlen, "%s '%s' takes no parameters",
				  layer ? "layer" : "backend", ops->name) : 0;
	if (!ops->export_pack || !ops->export_unpack)
		return refuse(err, errlen, "%s '%s' keeps export state but cannot hand it to a worker (no export_pack/export_unpack, backend ABI 1.2): rebuild it against this cnbd/backend.h",
			      layer ? "layer" : "backend", ops->name);
	errno = 0;
	log_clear_last_error();
	st->lv[i].handle = layer ? ops->open_layer(&st->below[i + 1], p, n)
				 : ops->open_export(p, n);
	if (st->lv[i].handle)
		return 0;
	reason = log_last_error();
	snprintf(err, errlen, "%s '%s' cannot open it: %s", layer ? "layer" : "backend",
		 ops->name, reason[0] ? reason : errno ? strerror(errno) : "failed");
	return -1;
}

struct stack *stack_open(const struct cnbd_backend *const *levels, size_t n,
			 const struct cnbd_param *params, size_t nparams,
			 char *err, size_t errlen)
{
	struct stack_params sp;
	struct stack *st = stack_new(levels, n);

	if (!st) {
		snprintf(err, errlen, "a stack of %zu levels (2 to %d)", n, STACK_MAX_LEVELS);
		return NULL;
	}
	if (stack_params_route(levels, n, params, nparams, &sp) < 0) {
		snprintf(err, errlen, "out of memory");
		free(st);
		return NULL;
	}
	for (size_t i = n; i-- > 0;) {
		if (open_level(st, i, sp.p[i], sp.n[i], err, errlen) < 0) {
			close_levels(st, i + 1);
			stack_params_free(&sp);
			free(st);
			return NULL;
		}
	}
	stack_params_free(&sp);
	settle(st);
	return st;
}

struct stack *stack_unpack(const struct cnbd_backend *const *levels, size_t n,
			   struct cnbd_pack *pack, bool readonly)
{
	struct stack *st = stack_new(levels, n);

	if (!st)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct cnbd_backend *ops = levels[i];

		if (!has_state(ops))
			continue;
		st->lv[i].handle = ops->export_unpack ?
				   ops->export_unpack(pack, readonly || st->lv[i].readonly) : NULL;
		if (!st->lv[i].handle) {
			int saved = errno ? errno : EINVAL;

			stack_close(st);
			errno = saved;
			return NULL;
		}
	}
	settle(st);
	return st;
}

/* The composite's export_pack: every level's state, top first. */
int stack_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	struct stack *st = handle;

	for (size_t i = 0; i < st->n; i++) {
		const struct stack_level *l = &st->lv[i];

		if (has_state(l->ops) &&
		    l->ops->export_pack(l->handle, readonly || l->readonly, pack) < 0)
			return -1;
	}
	return 0;
}

/* The composite's export_command: the first level that knows it. */
int stack_command(void *handle, const char *command, char *msg, size_t msglen)
{
	struct stack *st = handle;

	for (size_t i = 0; i < st->n; i++) {
		const struct stack_level *l = &st->lv[i];

		if (!l->ops->export_command)
			continue;
		errno = 0;
		if (l->ops->export_command(l->handle, command, msg, msglen) == 0)
			return 0;
		if (errno != ENOTSUP)
			return -1;
	}
	snprintf(msg, msglen, "no level of %s takes the command '%s'", st->name, command);
	errno = ENOTSUP;
	return -1;
}

struct stack *stack_of(const struct cnbd_backend *ops, void *handle)
{
	return ops && ops->export_pack == stack_pack ? handle : NULL;
}
