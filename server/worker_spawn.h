/* SPDX-License-Identifier: MIT */
/*
 * Starting a worker: fork, drop privileges, and execute this program
 * afresh (nbd-serverd --worker), so that the code that reads what a
 * client sends runs in a new address space holding nothing of the
 * master's: no export, no key, no layout to learn from. What it gets is
 * a fixed set of descriptors:
 *
 *   0, 1       /dev/null
 *   2          the master's stderr (its log, unless it logs to syslog)
 *   3          the client's socket
 *   4          its end of the monitor socket (monitor.h)
 *   5          the lifeline (lifeline.h)
 *   6          its statistics page (stats.h; /dev/null when it has none)
 *   7...       the backend .so files the master loaded, in the order of
 *              the --backend arguments, for the worker to dlopen before
 *              it enters its sandbox: code, never an export's state
 */
#ifndef CNBD_SERVER_WORKER_SPAWN_H
#define CNBD_SERVER_WORKER_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#define WORKER_FD_CLIENT	3
#define WORKER_FD_MONITOR	4
#define WORKER_FD_LIFELINE	5
#define WORKER_FD_STATS		6
#define WORKER_FD_BACKENDS	7

struct master;

/* What a worker starts from besides its descriptors. */
struct worker_start {
	int client_fd;
	int monitor_fd;		/* the worker's end */
	int stats_fd;		/* its statistics page; -1: none */
	const char *peer;
	bool tls_first;		/* resume after STARTTLS's ACK (a hand-off) */
	bool no_zeroes;		/* with tls_first: what the client's flags said */
};

/* In the master: the new worker's pid, or -1 with errno. The caller
 * closes its copies of client_fd and monitor_fd. */
pid_t worker_spawn(struct master *m, const struct worker_start *ws);

#endif
