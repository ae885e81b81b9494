/* SPDX-License-Identifier: MIT */
/* The master's loop: accept, fork, reap; never reads client bytes. */
#ifndef CNBD_SERVER_MASTER_H
#define CNBD_SERVER_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "listen.h"
#include "worker.h"

struct master {
	struct listener *ls;
	size_t nls;
	int sigfd;			/* signalfd for SIGCHLD, SIGTERM, SIGINT, SIGHUP */
	struct worker_setup setup;	/* handed to every worker */
	pid_t *workers;
	size_t nworkers;
	size_t capworkers;
	bool stopping;			/* workers are being ended */
	unsigned shortages;		/* accept() refusals (EMFILE...) in a row */
	int64_t shortage_logged_at;	/* ms, CLOCK_MONOTONIC; 0: not yet */
};

/* Blocks the signals the master handles and returns a signalfd for them
 * (-1 on error). Call before any fork. */
int master_signals(void);

/* Runs until SIGTERM or SIGINT; then ends the workers. 0 on a clean
 * shutdown. */
int master_run(struct master *m);

#endif
