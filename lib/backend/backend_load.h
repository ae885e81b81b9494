/* SPDX-License-Identifier: MIT */
/* Finding, checking and loading backend shared objects. */
#ifndef CNBD_BACKEND_LOAD_H
#define CNBD_BACKEND_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "cnbd/backend.h"

/* Checks the ABI stamp of ops and returns a full-size copy (fields the
 * backend did not know are zero). NULL with a message in err otherwise. */
struct cnbd_backend *backend_adopt(const struct cnbd_backend *ops,
				   char *err, size_t errlen);
/* The same for the entry of a dlopened object: its backend entry, or
 * its layer entry (then a layer: open_layer_conn set, get_size and pread
 * optional). path is for messages. */
struct cnbd_backend *backend_adopt_object(void *dl, const char *path,
					  char *err, size_t errlen);

/* A layer (loaded from a layer entry) sits on another backend. */
static inline bool backend_is_layer(const struct cnbd_backend *ops)
{
	return ops->open_layer_conn != NULL;
}

/* Loads <dir>/<name>.so. With require_root_owned (the server sets it when
 * running as root) the path is walked from "/" by trusted_open(): every
 * component owned by root and writable by nobody else. Either way the
 * file is opened first and loaded through /proc/self/fd/N, so the object
 * loaded is the file opened (and checked). The result and the descriptor
 * live until exit: loaded backends are cached by path, though the path
 * is walked again on every call. NULL with a message in err otherwise. */
const struct cnbd_backend *backend_load(const char *dir, const char *name,
					bool require_root_owned,
					char *err, size_t errlen);

/* The backends loaded so far, in load order (cached loads are not
 * counted again): for handing them to a re-executed worker. */
size_t backend_loaded_count(void);
/* The i-th: its ops (NULL past the end), and in *name the backend's name
 * and in *fd the descriptor of the .so file it was loaded from (O_RDONLY,
 * O_CLOEXEC; -1 if none). name or fd may be NULL. */
const struct cnbd_backend *backend_loaded_at(size_t i, const char **name, int *fd);

#endif
