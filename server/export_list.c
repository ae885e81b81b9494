/* SPDX-License-Identifier: MIT */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "export_list.h"

/* Process-wide, so that no two definitions ever share one, whichever
 * table they were made for. */
static uint64_t last_generation;

void export_list_init(struct export_list *t)
{
	memset(t, 0, sizeof(*t));
}

void export_entry_free(struct export_entry *e)
{
	if (!e)
		return;
	config_export_free(&e->def);
	free(e);
}

void export_list_free(struct export_list *t)
{
	for (size_t i = 0; i < t->n; i++)
		export_entry_free(t->v[i]);
	free(t->v);
	free(t->default_name);
	memset(t, 0, sizeof(*t));
}

int export_list_reserve(struct export_list *t, size_t n)
{
	struct export_entry **v;

	if (n <= t->cap)
		return 0;
	v = realloc(t->v, n * sizeof(*v));
	if (!v)
		return -1;
	t->v = v;
	t->cap = n;
	return 0;
}

int export_list_append(struct export_list *t, struct export_entry *e)
{
	if (t->n == t->cap && export_list_reserve(t, t->cap ? 2 * t->cap : 8) < 0)
		return -1;
	t->v[t->n++] = e;
	return 0;
}

struct export_entry *export_entry_new(struct export_config *def, bool runtime)
{
	struct export_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->def = *def;
	e->def.exp.generation = ++last_generation;
	e->runtime = runtime;
	memset(def, 0, sizeof(*def));
	return e;
}

int export_list_add(struct export_list *t, struct export_config *def, bool runtime)
{
	struct export_entry *e = export_entry_new(def, runtime);

	if (e && export_list_append(t, e) == 0)
		return 0;
	if (e)	/* give def back as it was */
		*def = e->def;
	free(e);
	return -1;
}

int export_list_adopt(struct export_list *t, struct server_config *cfg)
{
	for (size_t i = 0; i < cfg->nexports; i++)
		if (export_list_add(t, &cfg->exports[i], false) < 0)
			return -1;
	return export_list_set_default(t, cfg->default_export);
}

int export_list_set_default(struct export_list *t, const char *name)
{
	char *copy = name ? strdup(name) : NULL;

	if (name && !copy)
		return -1;
	free(t->default_name);
	t->default_name = copy;
	return 0;
}

struct export_entry *export_list_get(const struct export_list *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i]->def.exp.name, name))
			return t->v[i];
	return NULL;
}

struct export_entry *export_list_take(struct export_list *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++) {
		struct export_entry *e = t->v[i];

		if (strcmp(e->def.exp.name, name))
			continue;
		memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
		t->n--;
		return e;
	}
	return NULL;
}

static const struct cnbd_export *by_name(const struct export_list *t, const char *name)
{
	struct export_entry *e = export_list_get(t, name);

	return e ? &e->def.exp : NULL;
}

const struct cnbd_export *export_list_find(const struct export_list *t,
					    const char *name)
{
	if (*name)
		return by_name(t, name);
	if (t->default_name)
		return by_name(t, t->default_name);
	if (by_name(t, CONFIG_DEFAULT_EXPORT_NAME))
		return by_name(t, CONFIG_DEFAULT_EXPORT_NAME);
	return t->n == 1 ? &t->v[0]->def.exp : NULL;
}

const struct cnbd_export *export_list_at(const struct export_list *t, size_t i)
{
	return i < t->n ? &t->v[i]->def.exp : NULL;
}

const struct export_config *export_list_config(const struct cnbd_export *exp)
{
	return (const struct export_config *)((const char *)exp -
					       offsetof(struct export_config, exp));
}
