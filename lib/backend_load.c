/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend_load.h"

struct loaded_backend {
	char *path;			/* the cache key: dir/name.so */
	char *name;
	int fd;				/* the .so loaded */
	struct cnbd_backend *ops;
	struct loaded_backend *next;
};

static struct loaded_backend *loaded;
static size_t nloaded;

struct cnbd_backend *backend_adopt(const struct cnbd_backend *ops,
				   char *err, size_t errlen)
{
	struct cnbd_backend *copy;
	uint32_t major = ops->abi_version >> 16;
	size_t size = ops->struct_size;

	if (major != CNBD_BACKEND_ABI_MAJOR) {
		snprintf(err, errlen,
			 "backend '%s' was built for ABI %u.%u; this server speaks ABI %u.x: rebuild it against this cnbd/backend.h",
			 ops->name ? ops->name : "?", major, ops->abi_version & 0xffff,
			 CNBD_BACKEND_ABI_MAJOR);
		return NULL;
	}
	if (size < offsetof(struct cnbd_backend, pread) + sizeof(ops->pread)) {
		snprintf(err, errlen, "backend '%s' declares a struct of %zu bytes, too small to be valid",
			 ops->name ? ops->name : "?", size);
		return NULL;
	}
	if (!ops->name || !ops->get_size || !ops->pread) {
		snprintf(err, errlen, "backend '%s' lacks a required callback (name, get_size and pread are required)",
			 ops->name ? ops->name : "?");
		return NULL;
	}
	copy = calloc(1, sizeof(*copy));
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Append-only ABI: take what the backend knows, zero the rest. */
	memcpy(copy, ops, size < sizeof(*copy) ? size : sizeof(*copy));
	return copy;
}

bool path_is_root_only_writable(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (st.st_uid != 0) {
		snprintf(err, errlen,
			 "%s is owned by uid %u, not root: refusing to load code from it as root",
			 path, (unsigned)st.st_uid);
		return false;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "%s is writable by group or others (mode %04o): refusing to load code from it as root",
			 path, (unsigned)(st.st_mode & 07777));
		return false;
	}
	return true;
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
	for (struct loaded_backend *l = loaded; l; l = l->next)
		if (!strcmp(l->path, path))
			return l->ops;
	return NULL;
}

const struct cnbd_backend *backend_load(const char *dir, const char *name,
					bool require_root_owned,
					char *err, size_t errlen)
{
	char path[PATH_MAX];
	const struct cnbd_backend *(*entry)(void);
	const struct cnbd_backend *ops;
	struct cnbd_backend *copy;
	struct loaded_backend *l;
	char self[64];
	void *dl;
	int fd;

	if (!valid_backend_name(name)) {
		snprintf(err, errlen, "'%s' is not a backend name (letters, digits, - and _)", name);
		return NULL;
	}
	if (snprintf(path, sizeof(path), "%s/%s.so", dir, name) >= (int)sizeof(path)) {
		snprintf(err, errlen, "backend path too long");
		return NULL;
	}
	/* Checked on every load, cached or not: a reload must not trust a
	 * directory that became writable since. */
	if (require_root_owned &&
	    (!path_is_root_only_writable(dir, err, errlen) ||
	     !path_is_root_only_writable(path, err, errlen)))
		return NULL;
	if ((ops = cached(path)))
		return ops;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot load backend '%s': %s: %s", name, path, strerror(errno));
		return NULL;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	dl = dlopen(self, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		close(fd);
		snprintf(err, errlen, "cannot load backend '%s': %s", name, dlerror());
		return NULL;
	}
	*(void **)&entry = dlsym(dl, CNBD_BACKEND_ENTRY_SYMBOL);
	if (!entry) {
		snprintf(err, errlen, "%s is not a cnbd backend: no symbol %s (use CNBD_BACKEND_REGISTER)",
			 path, CNBD_BACKEND_ENTRY_SYMBOL);
		dlclose(dl);
		return NULL;
	}
	ops = entry();
	if (!ops) {
		snprintf(err, errlen, "%s: %s returned NULL", path, CNBD_BACKEND_ENTRY_SYMBOL);
		dlclose(dl);
		return NULL;
	}
	copy = backend_adopt(ops, err, errlen);
	if (!copy) {
		dlclose(dl);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path)) || !(l->name = strdup(name))) {
		if (l)
			free(l->path);
		free(l);
		close(fd);
		free(copy);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* The handle stays open for the life of the process. */
	l->ops = copy;
	l->fd = fd;
	l->next = loaded;
	loaded = l;
	nloaded++;
	return copy;
}

size_t backend_loaded_count(void)
{
	return nloaded;
}

const struct cnbd_backend *backend_loaded_at(size_t i, const char **name, int *fd)
{
	size_t k = nloaded;

	for (struct loaded_backend *l = loaded; l; l = l->next) {
		if (--k != i)
			continue;
		*name = l->name;
		*fd = l->fd;
		return l->ops;
	}
	return NULL;
}
