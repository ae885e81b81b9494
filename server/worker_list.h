/* SPDX-License-Identifier: MIT */
/*
 * The master's record of its workers: each one's pid, the master's end
 * of its lease socket, and the export it holds a lease on. A lease lives
 * exactly as long as this record, which only waitpid() ends: however a
 * worker ends (a clean disconnect, a client that vanished, SIGKILL), its
 * lease ends with it and is never counted twice.
 */
#ifndef CNBD_SERVER_WORKER_LIST_H
#define CNBD_SERVER_WORKER_LIST_H

#include <stddef.h>
#include <sys/types.h>

struct worker {
	pid_t pid;
	int fd;			/* lease socket; -1 once the worker closed it */
	char *lease;		/* export name it holds a lease on; NULL: none */
};

struct worker_list {
	struct worker *v;
	size_t n, cap;
};

/* 0, or -1 when out of memory. */
int worker_list_add(struct worker_list *l, pid_t pid, int fd);
struct worker *worker_list_get(const struct worker_list *l, pid_t pid);
/* Forgets the worker: closes its lease socket and frees its lease. */
void worker_list_remove(struct worker_list *l, pid_t pid);
/* Leases held on the export called name, whatever its definition. */
unsigned worker_list_leases(const struct worker_list *l, const char *name);
void worker_list_free(struct worker_list *l);

#endif
