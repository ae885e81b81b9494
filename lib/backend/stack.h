/* SPDX-License-Identifier: MIT */
/*
 * A stack of backends: layers (cow, faulty, a third party's) over one
 * backend at the bottom, served as one. The stack is itself a struct
 * cnbd_backend, made per export, so the engine serves it like any
 * backend: each of its callbacks goes to the top level, or, where a layer
 * left that callback NULL, to the first level below that has it
 * (stack_next.c holds the rules). Level 0 is the top.
 *
 * In the master, stack_open() opens the levels from the bottom up, each
 * layer over the export below it; stack_pack() puts every level's state
 * into one pack, top first, the levels below a CNBD_BACKEND_BASE_READONLY
 * layer read-only. A worker gets the level list with the lease and
 * rebuilds the stack with stack_unpack() from the same .so files.
 */
#ifndef CNBD_BACKEND_STACK_H
#define CNBD_BACKEND_STACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnbd/backend.h"

#define STACK_MAX_LEVELS	8
#define STACK_NAME_MAX		(STACK_MAX_LEVELS * 72)

struct stack;

/* What a layer's open_layer gets: the levels from `level` down. */
struct cnbd_below {
	struct stack *st;
	size_t level;
};

struct stack_level {
	const struct cnbd_backend *ops;
	void *handle;			/* the level's export handle */
	uint32_t flags;			/* of the stack from this level down */
	bool readonly;			/* a layer above never writes it */
	bool locked;			/* not PARALLEL in a PARALLEL stack:
					 * one call at a time per connection */
};

struct stack {
	struct cnbd_backend ops;	/* the stack as the engine sees it */
	char name[STACK_NAME_MAX];	/* "cow+file" */
	size_t n;
	struct stack_level lv[STACK_MAX_LEVELS];
	struct cnbd_below below[STACK_MAX_LEVELS];	/* below[i]: from i down */
};

/* A layer's handle on the levels below it: calls go to `level` first. */
struct cnbd_next {
	struct stack_conn *sc;
	size_t level;
};

/* One connection of the stack, from level `first` down. */
struct stack_conn {
	struct stack *st;
	size_t first;
	void *conn[STACK_MAX_LEVELS];
	struct cnbd_next next[STACK_MAX_LEVELS];	/* next[i] calls level i */
	pthread_mutex_t lock[STACK_MAX_LEVELS];
};

/* Opens the export in the master: levels[0] on top, levels[n - 1] the
 * backend at the bottom (a layer everywhere else). params are the
 * export's keys; each goes to the level it names (LAYER.key), else to the
 * topmost layer that lists it in layer_params, else to the bottom. NULL
 * with the reason in err (the failing level's own message, if it left
 * one through cnbd_error). */
struct stack *stack_open(const struct cnbd_backend *const *levels, size_t n,
			 const struct cnbd_param *params, size_t nparams,
			 char *err, size_t errlen);
/* Closes every level's export handle, top first, and frees st. */
void stack_close(struct stack *st);

/* In a worker: the stack of these levels (the same as the master's),
 * each level's state taken out of pack. NULL with errno. */
struct stack *stack_unpack(const struct cnbd_backend *const *levels, size_t n,
			   struct cnbd_pack *pack, bool readonly);

/* The stack whose composite ops these are, or NULL (a plain backend). */
struct stack *stack_of(const struct cnbd_backend *ops, void *handle);

/* The composite's export_pack (every level's state, top first) and
 * export_command (to the first level that takes it). */
int stack_pack(void *handle, bool readonly, struct cnbd_pack *pack);
int stack_command(void *handle, const char *command, char *msg, size_t msglen);

/* stack_next.c: the connection of levels first.. (top first), each
 * level read-only where readonly says so or a layer above it within them
 * never writes its base. NULL with errno. */
struct stack_conn *stack_conn_open(struct stack *st, size_t first, bool readonly);
void stack_conn_close(struct stack_conn *sc);
/* Fills st->ops with the callbacks the stack has, for the engine. */
void stack_fill_ops(struct stack *st);

#endif
