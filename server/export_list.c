/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "export_list.h"

int export_list_init(struct export_list *t, const struct server_config *cfg)
{
	memset(t, 0, sizeof(*t));
	t->exports = calloc(cfg->nexports ? cfg->nexports : 1, sizeof(*t->exports));
	if (!t->exports)
		return -1;
	for (size_t i = 0; i < cfg->nexports; i++)
		t->exports[i] = &cfg->exports[i].exp;
	t->nexports = cfg->nexports;
	t->default_name = cfg->default_export;
	return 0;
}

void export_list_free(struct export_list *t)
{
	free(t->exports);
	memset(t, 0, sizeof(*t));
}

static const struct cnbd_export *by_name(const struct export_list *t, const char *name)
{
	for (size_t i = 0; i < t->nexports; i++)
		if (!strcmp(t->exports[i]->name, name))
			return t->exports[i];
	return NULL;
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
	return t->nexports == 1 ? t->exports[0] : NULL;
}

const struct cnbd_export *export_list_at(const struct export_list *t, size_t i)
{
	return i < t->nexports ? t->exports[i] : NULL;
}
