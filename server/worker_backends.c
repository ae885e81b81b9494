/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend_load.h"
#include "backend/backend_lookup.h"
#include "common/log.h"
#include "worker_backends.h"

#define MAX_BACKENDS	64

static struct {
	const char *name;
	struct cnbd_backend *ops;
} loaded[MAX_BACKENDS];
static size_t nloaded;

/* cnbd_backend_lookup() in a worker: a layer gets what the master
 * loaded for it, and nothing can be loaded any more. */
static const struct cnbd_backend *resolve_loaded(void *ctx, const char *name,
						 char *err, size_t errlen)
{
	(void)ctx;
	for (size_t i = 0; i < nloaded; i++)
		if (!strcmp(loaded[i].name, name))
			return loaded[i].ops;
	snprintf(err, errlen, "backend '%s' was not handed to this worker", name);
	return NULL;
}

static struct cnbd_backend *load_one(const char *name, int fd)
{
	struct cnbd_backend *ops;
	char self[64], err[512];
	void *dl;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	dl = dlopen(self, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		log_error("backend '%s': %s", name, dlerror());
		return NULL;
	}
	ops = backend_adopt_object(dl, name, err, sizeof(err));
	if (!ops)
		log_error("%s", err);
	return ops;
}

int worker_backends_load(char **names, size_t n, int first_fd)
{
	int rc = 0;

	for (size_t i = 0; i < n && i < MAX_BACKENDS; i++) {
		loaded[i].name = names[i];
		loaded[i].ops = load_one(names[i], first_fd + (int)i);
		close(first_fd + (int)i);
		if (!loaded[i].ops)
			rc = -1;
		nloaded = i + 1;
	}
	backend_lookup_set(resolve_loaded, NULL);
	return rc;
}

const struct cnbd_backend *worker_backend_at(size_t index)
{
	return index < nloaded ? loaded[index].ops : NULL;
}

unsigned worker_backends_flags(void)
{
	unsigned flags = 0;

	for (size_t i = 0; i < nloaded; i++)
		flags |= loaded[i].ops ? loaded[i].ops->flags : 0;
	return flags;
}
