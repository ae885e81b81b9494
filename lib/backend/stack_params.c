/* SPDX-License-Identifier: MIT */
/*
 * Which level of a stack an export's key belongs to. An operator writes
 * one section for the whole stack: "LAYER.key" names the level (needed
 * only when two levels take the same key), a key a layer lists in its
 * layer_params is that layer's (the topmost one that lists it), and
 * everything else is the bottom backend's, which judges it as it always
 * did: an export without layers reads exactly as before.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/stack_params.h"

static bool listed(const char *const *keys, const char *key)
{
	for (; keys && *keys; keys++)
		if (!strcmp(*keys, key))
			return true;
	return false;
}

static size_t route(const struct cnbd_backend *const *levels, size_t n,
		    const char *key, const char **local)
{
	const char *dot = strchr(key, '.');

	*local = key;
	if (dot) {
		for (size_t i = 0; i < n; i++) {
			size_t len = strlen(levels[i]->name);

			if (len == (size_t)(dot - key) && !strncmp(key, levels[i]->name, len)) {
				*local = dot + 1;
				return i;
			}
		}
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (listed(levels[i]->layer_params, key))
			return i;
	return n - 1;
}

int stack_params_route(const struct cnbd_backend *const *levels, size_t n,
		       const struct cnbd_param *params, size_t nparams,
		       struct stack_params *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		out->p[i] = calloc(nparams ? nparams : 1, sizeof(*out->p[i]));
		if (!out->p[i]) {
			stack_params_free(out);
			return -1;
		}
	}
	for (size_t k = 0; k < nparams; k++) {
		const char *local;
		size_t i = route(levels, n, params[k].key, &local);

		out->p[i][out->n[i]++] = (struct cnbd_param){ local, params[k].value };
	}
	return 0;
}

void stack_params_free(struct stack_params *sp)
{
	for (size_t i = 0; i < STACK_MAX_LEVELS; i++)
		free(sp->p[i]);
	memset(sp, 0, sizeof(*sp));
}
