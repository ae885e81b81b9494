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

/* Loads <dir>/<name>.so. With require_root_owned, the directory and the
 * file must be owned by root and writable by nobody else (the server
 * sets it when running as root). The result lives until exit: loaded
 * backends are cached by name. NULL with a message in err otherwise. */
const struct cnbd_backend *backend_load(const char *dir, const char *name,
					bool require_root_owned,
					char *err, size_t errlen);

/* The backends loaded so far, in the order they were: the i-th one's
 * ops, name and the descriptor of the .so loaded; NULL past the last. */
size_t backend_loaded_count(void);
const struct cnbd_backend *backend_loaded_at(size_t i, const char **name, int *fd);

/* Is this path owned by root and not writable by group or others? */
bool path_is_root_only_writable(const char *path, char *err, size_t errlen);

#endif
