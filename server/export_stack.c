/* SPDX-License-Identifier: MIT */
/*
 * An export whose backend is a layer: the stack it names, loaded level by
 * level with the checks of any backend (backend_load: the trusted path,
 * the ABI stamp) and opened over one another (lib/backend/stack.c).
 *
 *   backend = cow              the top: a layer
 *   base = faulty, file        what it sits on, top first; the last is
 *                              a backend (or a layer with a default base)
 *
 * Without base the layer's own default base is used (faulty: memory), or
 * inner, the key faulty named its base by before there were layers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_load.h"
#include "backend/stack.h"
#include "export_stack.h"

#define NAME_MAX_LEN	64

struct chain {
	const struct cnbd_backend *ops[STACK_MAX_LEVELS];
	size_t n;
	struct cnbd_param *params;	/* the export's, less base (or inner) */
	size_t nparams;
};

static const char *param(const struct export_config *ec, const char *key)
{
	for (size_t i = 0; i < ec->nparams; i++)
		if (!strcmp(ec->params[i].key, key))
			return ec->params[i].value;
	return NULL;
}

static bool listed(const char *const *keys, const char *key)
{
	for (; keys && *keys; keys++)
		if (!strcmp(*keys, key))
			return true;
	return false;
}

/* The key that names the base: base, or inner where the layer does not
 * take a key of that name itself. NULL: none given. */
static const char *base_key(const struct export_config *ec, const struct cnbd_backend *top)
{
	if (param(ec, "base"))
		return "base";
	if (param(ec, "inner") && !listed(top->layer_params, "inner"))
		return "inner";
	return NULL;
}

static int add_level(struct chain *c, const char *name, const char *dir, bool root,
		     char *err, size_t errlen)
{
	const struct cnbd_backend *ops;

	if (c->n == STACK_MAX_LEVELS) {
		snprintf(err, errlen, "a stack of more than %d levels", STACK_MAX_LEVELS);
		return -1;
	}
	if (c->n && !backend_is_layer(c->ops[c->n - 1])) {
		snprintf(err, errlen, "'%s' is a backend, not a layer: nothing can be below it (%s)",
			 c->ops[c->n - 1]->name, name);
		return -1;
	}
	ops = backend_load(dir, name, root, err, errlen);
	if (!ops)
		return -1;
	c->ops[c->n++] = ops;
	return 0;
}

/* "faulty, file": each name, blanks around it dropped. */
static int add_list(struct chain *c, const char *list, const char *dir, bool root,
		    char *err, size_t errlen)
{
	const char *p = list;

	while (*p) {
		char name[NAME_MAX_LEN + 2];
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, ",");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!len || len > NAME_MAX_LEN) {
			snprintf(err, errlen, "base: '%s' is not a list of backend names", list);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (add_level(c, name, dir, root, err, errlen) < 0)
			return -1;
		p += strcspn(p, ",");
		if (*p == ',' && !*++p) {
			snprintf(err, errlen, "base: '%s' ends with a comma", list);
			return -1;
		}
	}
	return 0;
}

static int build(struct chain *c, const struct export_config *ec, const char *key,
		 const char *dir, bool root, char *err, size_t errlen)
{
	if (key && add_list(c, param(ec, key), dir, root, err, errlen) < 0)
		return -1;
	while (backend_is_layer(c->ops[c->n - 1])) {
		const struct cnbd_backend *last = c->ops[c->n - 1];

		if (!last->default_base) {
			snprintf(err, errlen, "layer '%s' needs a base: add base = file (or another backend)",
				 last->name);
			return -1;
		}
		if (add_level(c, last->default_base, dir, root, err, errlen) < 0)
			return -1;
	}
	c->params = calloc(ec->nparams ? ec->nparams : 1, sizeof(*c->params));
	if (!c->params) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < ec->nparams; i++)
		if (!key || strcmp(ec->params[i].key, key))
			c->params[c->nparams++] = ec->params[i];
	return 0;
}

int export_open_stack(struct export_config *ec, const struct cnbd_backend *top,
		      const char *dir, bool root, char *err, size_t errlen)
{
	struct chain c = { .ops = { top }, .n = 1 };
	const char *key = base_key(ec, top);
	struct stack *st;

	if (!backend_is_layer(top)) {
		if (!param(ec, "base"))
			return 0;
		snprintf(err, errlen, "base is for a layer, and '%s' is a backend, not a layer",
			 top->name);
		return -1;
	}
	if (build(&c, ec, key, dir, root, err, errlen) < 0) {
		free(c.params);
		return -1;
	}
	st = stack_open(c.ops, c.n, c.params, c.nparams, err, errlen);
	free(c.params);
	if (!st)
		return -1;
	ec->exp.backend = &st->ops;
	ec->exp.handle = st;
	return 1;
}
