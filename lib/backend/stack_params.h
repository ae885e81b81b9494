/* SPDX-License-Identifier: MIT */
/* An export's keys, split among the levels of its stack (stack.h). */
#ifndef CNBD_BACKEND_STACK_PARAMS_H
#define CNBD_BACKEND_STACK_PARAMS_H

#include <stddef.h>

#include "backend/stack.h"

struct stack_params {
	struct cnbd_param *p[STACK_MAX_LEVELS];	/* keys without LAYER. */
	size_t n[STACK_MAX_LEVELS];
};

/* 0, or -1 (ENOMEM). The strings stay the caller's. */
int stack_params_route(const struct cnbd_backend *const *levels, size_t n,
		       const struct cnbd_param *params, size_t nparams,
		       struct stack_params *out);
void stack_params_free(struct stack_params *sp);

#endif
