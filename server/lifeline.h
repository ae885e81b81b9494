/* SPDX-License-Identifier: MIT */
/*
 * Workers never outlive the master. The master holds the write end of a
 * pipe that nothing ever writes; when the master is gone, however it went
 * (exit, SIGKILL, crash), the kernel closes it and each worker's watcher
 * thread reads EOF and ends the worker. A signal could not do this: the
 * parent-death signal and kill() both need the master to have the right
 * to signal a process of another user (CAP_KILL), and a master started
 * with fewer capabilities would leave workers serving on their own.
 */
#ifndef CNBD_SERVER_LIFELINE_H
#define CNBD_SERVER_LIFELINE_H

struct lifeline {
	int rd;		/* inherited by workers */
	int wr;		/* the master's alone: workers close it */
};

/* In the master, before any worker: 0, or -1 (logged). */
int lifeline_create(struct lifeline *l);

/* In a worker, once its copy of l->wr is closed: starts the watcher.
 * 0, or -1 (logged): the worker must then not serve. */
int lifeline_watch(const struct lifeline *l);

#endif
