/* SPDX-License-Identifier: MIT */
/* A worker's view of the exports: asked of the master one at a time. */
#ifndef CNBD_SERVER_WORKER_EXPORTS_H
#define CNBD_SERVER_WORKER_EXPORTS_H

#include "cnbd/serve.h"

/* The engine's hooks, answered over the monitor socket monitor_fd. */
void worker_exports_hooks(struct cnbd_serve_hooks *hooks, int monitor_fd);

#endif
