/* SPDX-License-Identifier: MIT */
/* A worker's side of statistics (stats.h): it counts each request it
 * answers in the page the master gave it. */
#ifndef CNBD_SERVER_WORKER_STATS_H
#define CNBD_SERVER_WORKER_STATS_H

#include "cnbd/serve.h"

/* Maps the page at fd (then closed); before the sandbox. 0, or -1. */
int worker_stats_attach(int fd);
/* Sets the engine's request_done hook when there is a page. */
void worker_stats_hooks(struct cnbd_serve_hooks *hooks);

#endif
