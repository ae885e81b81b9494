/* SPDX-License-Identifier: MIT */
/* Opening an export whose backend is a layer: its whole stack. */
#ifndef CNBD_SERVER_EXPORT_STACK_H
#define CNBD_SERVER_EXPORT_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* top is the export's backend, loaded. If it is a layer, loads the
 * levels its base names (from dir, with the root checks when root) and
 * opens the stack into ec->exp (backend and handle): 1. 0 when top is a
 * plain backend (nothing done). -1 with the reason in err. */
int export_open_stack(struct export_config *ec, const struct cnbd_backend *top,
		      const char *dir, bool root, char *err, size_t errlen);

#endif
