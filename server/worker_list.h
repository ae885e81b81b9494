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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "acl.h"
#include "common/peer.h"
#include "stats.h"

struct worker {
	pid_t pid;
	int fd;			/* monitor socket; -1 once the worker closed it */
	char *lease;		/* export name it holds a lease on; NULL: none */
	/* Started with the TLS handshake first (after a hand-off), so it
	 * never read a plaintext option: only such a worker may sign, ask
	 * for a PSK and lease a tls = require export. */
	bool tls_first;
	bool signed_once;	/* MON_SIGN answered */
	bool psk_once;		/* MON_PSK answered */
	bool handed_off;	/* gave its client away: ending */
	bool waiting;		/* a lease request waits for room */
	int sandbox_syscall;	/* reported by its sandbox; -1: none */
	uint32_t sandbox_arch;
	/* Its client, as the master learnt it from the socket it accepted
	 * (a TLS worker inherits the one of the worker that handed off):
	 * what the exports' allow and deny lists are checked against. */
	struct acl_peer peer;
	char peer_name[PEER_NAME_MAX];
	uint64_t refusal_logged;	/* generation of the export last refused */
	struct worker_stats *stats;	/* its statistics page; NULL: none */
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
