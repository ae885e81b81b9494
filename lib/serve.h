/* SPDX-License-Identifier: MIT */
/* The engine's interface is public: see include/cnbd/serve.h. */
#ifndef CNBD_SERVE_H
#define CNBD_SERVE_H

#include "cnbd/serve.h"

#endif
