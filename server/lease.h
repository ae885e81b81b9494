/* SPDX-License-Identifier: MIT */
/*
 * Connection leases, the messages. At fork the master makes a
 * SOCK_SEQPACKET socketpair per worker; when the client sends GO or
 * EXPORT_NAME (never INFO or LIST) the worker sends the export's name and
 * the generation of the definition it holds, and waits for the master's
 * answer: granted, or refused with a reason for the client. There is no
 * release message: the master ends a lease when it reaps the worker.
 */
#ifndef CNBD_SERVER_LEASE_H
#define CNBD_SERVER_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"

#define LEASE_NAME_MAX		63	/* export names have at most 49 */
#define LEASE_WHY_MAX		255
/* The master answers at once; this only bounds a master gone wrong. */
#define LEASE_TIMEOUT_MS	10000

struct lease_request {
	uint64_t generation;
	char name[LEASE_NAME_MAX + 1];
};

struct lease_reply {
	uint32_t granted;
	char why[LEASE_WHY_MAX + 1];
};

/* In the master, before fork: sv[0] for the master (non-blocking), sv[1]
 * for the worker. 0, or -1 with errno. */
int lease_socketpair(int sv[2]);

/* In a worker: asks for a lease on exp. 0 granted; -1 refused (or no
 * answer), with the reason in why. */
int lease_ask(int fd, const struct cnbd_export *exp, char *why, size_t whylen);

/* In the master: 1 with a request in rq; 0 nothing (yet); -1 the worker
 * closed its end or sent something that is not a request. */
int lease_receive(int fd, struct lease_request *rq);
/* In the master: never blocks (the worker waits with an empty queue). */
int lease_answer(int fd, bool granted, const char *why);

#endif
