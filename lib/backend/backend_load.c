/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend_load.h"
#include "common/trusted_path.h"

struct loaded_backend {
	char *path;			/* the cache key: dir/name.so */
	char *name;
	int fd;				/* the file checked and loaded */
	struct cnbd_backend *ops;
};

/* In load order: backend_loaded_at(i) keeps its meaning as more load. */
static struct loaded_backend *loaded;
static size_t nloaded, nalloc;

static const char *name_of(const struct cnbd_backend *ops)
{
	return ops->name ? ops->name : "?";
}

/* What a layer or a backend must have: a layer calls the level below
 * for whatever it leaves out, a backend has nothing below it. */
static int check_kind(const struct cnbd_backend *ops, size_t size, bool layer,
		      char *err, size_t errlen)
{
	bool has_layer_conn = size >= offsetof(struct cnbd_backend, open_layer_conn) +
				       sizeof(ops->open_layer_conn) && ops->open_layer_conn;

	if (layer && !has_layer_conn) {
		snprintf(err, errlen, "layer '%s' has no open_layer_conn, which a layer needs to reach its base (backend ABI 1.3)",
			 name_of(ops));
		return -1;
	}
	if (!layer && has_layer_conn) {
		snprintf(err, errlen, "backend '%s' sets open_layer_conn but registers as a backend: a layer registers with CNBD_LAYER_REGISTER",
			 name_of(ops));
		return -1;
	}
	if (!ops->name || (!layer && (!ops->get_size || !ops->pread))) {
		snprintf(err, errlen, "backend '%s' lacks a required callback (name, get_size and pread are required)",
			 name_of(ops));
		return -1;
	}
	return 0;
}

static struct cnbd_backend *adopt(const struct cnbd_backend *ops, bool layer,
				  char *err, size_t errlen)
{
	struct cnbd_backend *copy;
	uint32_t major = ops->abi_version >> 16;
	size_t size = ops->struct_size;

	if (major != CNBD_BACKEND_ABI_MAJOR) {
		snprintf(err, errlen,
			 "backend '%s' was built for ABI %u.%u; this server speaks ABI %u.x: rebuild it against this cnbd/backend.h",
			 name_of(ops), major, ops->abi_version & 0xffff,
			 CNBD_BACKEND_ABI_MAJOR);
		return NULL;
	}
	if (size < offsetof(struct cnbd_backend, pread) + sizeof(ops->pread)) {
		snprintf(err, errlen, "backend '%s' declares a struct of %zu bytes, too small to be valid",
			 name_of(ops), size);
		return NULL;
	}
	if (check_kind(ops, size, layer, err, errlen) < 0)
		return NULL;
	copy = calloc(1, sizeof(*copy));
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Append-only ABI: take what the backend knows, zero the rest. */
	memcpy(copy, ops, size < sizeof(*copy) ? size : sizeof(*copy));
	return copy;
}

struct cnbd_backend *backend_adopt(const struct cnbd_backend *ops,
				   char *err, size_t errlen)
{
	return adopt(ops, false, err, errlen);
}

struct cnbd_backend *backend_adopt_object(void *dl, const char *path,
					  char *err, size_t errlen)
{
	const struct cnbd_backend *(*entry)(void);
	const char *symbol = CNBD_BACKEND_ENTRY_SYMBOL;
	const struct cnbd_backend *ops;
	bool layer = false;

	*(void **)&entry = dlsym(dl, symbol);
	if (!entry) {
		symbol = CNBD_LAYER_ENTRY_SYMBOL;
		*(void **)&entry = dlsym(dl, symbol);
		layer = true;
	}
	if (!entry) {
		snprintf(err, errlen, "%s is not a cnbd backend: no symbol %s or %s (use CNBD_BACKEND_REGISTER or CNBD_LAYER_REGISTER)",
			 path, CNBD_BACKEND_ENTRY_SYMBOL, CNBD_LAYER_ENTRY_SYMBOL);
		return NULL;
	}
	ops = entry();
	if (!ops) {
		snprintf(err, errlen, "%s: %s returned NULL", path, symbol);
		return NULL;
	}
	return adopt(ops, layer, err, errlen);
}

static bool valid_backend_name(const char *name)
{
	if (!*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

static const struct cnbd_backend *cached(const char *path)
{
	for (size_t i = 0; i < nloaded; i++)
		if (!strcmp(loaded[i].path, path))
			return loaded[i].ops;
	return NULL;
}

static int remember(const char *path, const char *name, int fd,
		    struct cnbd_backend *ops)
{
	struct loaded_backend *l;

	if (nloaded == nalloc) {
		size_t n = nalloc ? 2 * nalloc : 8;

		l = realloc(loaded, n * sizeof(*l));
		if (!l)
			return -1;
		loaded = l;
		nalloc = n;
	}
	l = &loaded[nloaded];
	l->path = strdup(path);
	l->name = strdup(name);
	if (!l->path || !l->name) {
		free(l->path);
		free(l->name);
		return -1;
	}
	l->ops = ops;
	l->fd = fd;
	nloaded++;
	return 0;
}

size_t backend_loaded_count(void)
{
	return nloaded;
}

const struct cnbd_backend *backend_loaded_at(size_t i, const char **name, int *fd)
{
	if (i >= nloaded)
		return NULL;
	if (name)
		*name = loaded[i].name;
	if (fd)
		*fd = loaded[i].fd;
	return loaded[i].ops;
}

/* The object is found by its descriptor, not by its name: dlopen reads
 * /proc/self/fd/N, the very file the walk checked, whatever the path
 * names by now. */
static const struct cnbd_backend *load_fd(const char *path, const char *name, int fd,
					  char *err, size_t errlen)
{
	struct cnbd_backend *copy = NULL;
	char proc[64];
	void *dl;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	dl = dlopen(proc, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		snprintf(err, errlen, "cannot load backend '%s' from %s: %s", name, path,
			 dlerror());
		close(fd);
		return NULL;
	}
	copy = backend_adopt_object(dl, path, err, errlen);
	if (!copy)
		goto fail;
	if (remember(path, name, fd, copy) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* The handle and the descriptor stay open for the life of the
	 * process. */
	return copy;
fail:
	free(copy);
	dlclose(dl);
	/* fd stays open: glibc knows loaded objects by name, and an object
	 * dlclose could not unload (NODELETE) would answer for the next
	 * file that got this descriptor number. */
	return NULL;
}

const struct cnbd_backend *backend_load(const char *dir, const char *name,
					bool require_root_owned,
					char *err, size_t errlen)
{
	char path[PATH_MAX];
	const struct cnbd_backend *ops;
	int fd;

	if (!valid_backend_name(name)) {
		snprintf(err, errlen, "'%s' is not a backend name (letters, digits, - and _)", name);
		return NULL;
	}
	if (snprintf(path, sizeof(path), "%s/%s.so", dir, name) >= (int)sizeof(path)) {
		snprintf(err, errlen, "backend path too long");
		return NULL;
	}
	/* Walked and checked on every load, cached or not: a reload must
	 * not trust a directory that became writable since. */
	fd = trusted_open_if(path, TRUSTED_FILE, require_root_owned, err, errlen);
	if (fd < 0)
		return NULL;
	if ((ops = cached(path))) {
		close(fd);
		return ops;
	}
	return load_fd(path, name, fd, err, errlen);
}
