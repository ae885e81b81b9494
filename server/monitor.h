/* SPDX-License-Identifier: MIT */
/*
 * The monitor socket: what a worker may ask of the master, and the
 * master's answers. One SOCK_SEQPACKET socketpair per worker, made at
 * accept; each message is one fixed-size struct, so the master reads a
 * bounded amount per message and never parses text (OpenSSH's monitor
 * is the model: the unprivileged side asks, the privileged side checks
 * and answers, and only ever hands over what the session needs).
 *
 * A worker starts knowing nothing of the exports. It asks:
 *   MON_FIND, MON_AT   what LIST and INFO show of an export (never its
 *                      storage);
 *   MON_LEASE          at GO or EXPORT_NAME: the master checks the
 *                      connection limit, the definition's generation and
 *                      TLS, and answers with the export's description
 *                      and its backend's pack (bytes, plus descriptors
 *                      by SCM_RIGHTS): that export and nothing else;
 *   MON_TLS_PUBLIC     the certificate chain and CA (no private key);
 *   MON_SIGN           one signature with the X.509 key, once per
 *                      connection, for the TLS handshake;
 *   MON_PSK            the key of the one PSK identity its client named,
 *                      once per connection;
 *   MON_HAND_OFF       after STARTTLS's ACK: the client's socket
 *                      (SCM_RIGHTS), to be served by a fresh worker that
 *                      starts with the TLS handshake. No answer: the
 *                      worker ends.
 * and the sandbox's SIGSYS handler sends a struct sandbox_report.
 *
 * Only a worker the master started with the TLS handshake first (after a
 * hand-off) may sign, learn a PSK, or lease a tls = require export: the
 * master knows which workers those are because it started them so, not
 * because a worker says so.
 */
#ifndef CNBD_SERVER_MONITOR_H
#define CNBD_SERVER_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include "cnbd/backend.h"
#include "cnbd/protocol.h"

#define MON_NAME_MAX		63	/* export names have at most 49 bytes */
#define MON_BACKEND_MAX		71
#define MON_WHY_MAX		255
#define MON_DATA_MAX		2048	/* signing input, a PSK identity */
#define MON_FDS_MAX		CNBD_PACK_MAX_FDS
#define MON_LEVELS_MAX		8	/* STACK_MAX_LEVELS */
/* An answer's payload: the largest of a pack and TLS's public part. */
#define MON_REPLY_DATA_MAX	65536
/* The master answers at once; this only bounds a master gone wrong. */
#define MON_TIMEOUT_MS		10000

enum mon_type {
	MON_FIND = 1,
	MON_AT,
	MON_LEASE,
	MON_TLS_PUBLIC,
	MON_SIGN,
	MON_PSK,
	MON_HAND_OFF,
	MON_SANDBOX,		/* flags: SANDBOX_NEEDS_*; the answer: the BPF
				 * program to load, compiled once by the master */
};

struct mon_request {
	uint32_t type;			/* enum mon_type */
	uint32_t index;			/* MON_AT */
	uint64_t generation;		/* MON_LEASE: of the description */
	char name[MON_NAME_MAX + 1];	/* MON_FIND, MON_LEASE */
	uint32_t algo;			/* MON_SIGN: gnutls_sign_algorithm_t */
	uint32_t flags;			/* MON_SIGN: 1 = data is a hash;
					 * MON_HAND_OFF: 1 = NO_ZEROES */
	uint32_t len;			/* of data */
	uint8_t data[MON_DATA_MAX];	/* MON_SIGN input; MON_PSK identity */
};

/* What LIST and INFO show of an export, and what GO serves it with. */
struct mon_export {
	uint8_t found;
	uint8_t readonly;
	uint8_t tls_required;
	uint8_t refused;		/* not for this client: name only */
	uint16_t flags;			/* cnbd_export_flags(), without DF */
	uint32_t min_block, pref_block, max_block;
	uint64_t size;
	uint64_t generation;
	char name[MON_NAME_MAX + 1];
	char backend[MON_BACKEND_MAX + 1];
	uint32_t backend_index;		/* among the worker's --backend list */
	/* A stack (MON_LEASE): its levels, top first, by the same index;
	 * 0 levels: backend_index alone. */
	uint32_t nlevels;
	uint32_t level_index[MON_LEVELS_MAX];
	uint32_t description_len;	/* 0: none */
	char description[NBD_MAX_STRING + 1];
};

struct mon_reply {
	uint32_t type;			/* the request's */
	int32_t status;			/* 0, or an errno */
	char why[MON_WHY_MAX + 1];	/* a refusal's reason, for the client */
	struct mon_export exp;		/* MON_FIND, MON_AT, MON_LEASE */
	uint32_t nfds;			/* MON_LEASE: descriptors that came along */
	uint32_t len;			/* of data */
	/* MON_LEASE: the pack's bytes; MON_SIGN: the signature; MON_PSK:
	 * the key; MON_TLS_PUBLIC: the public credentials. Only len of
	 * them are sent: an answer is the header and what it carries. */
	uint8_t data[MON_REPLY_DATA_MAX];
};

/* The bytes of r that go out. */
#define MON_REPLY_SIZE(r)	(offsetof(struct mon_reply, data) + (r)->len)

/* In the master, before fork: sv[0] for the master (non-blocking), sv[1]
 * for the worker. 0, or -1 with errno. */
int monitor_socketpair(int sv[2]);

/* Both sides: one message with up to nfds descriptors (SCM_RIGHTS).
 * 0, or -1 with errno. The master's end is non-blocking: a worker that
 * does not read its answers only loses them. */
int monitor_send(int fd, const void *msg, size_t len, const int *fds, size_t nfds);
/* One message of at most len bytes: its length, 0 when nothing waits
 * (non-blocking end), or -1 (closed: errno 0; or an error). Descriptors
 * that came along are stored in fds (up to *nfds, which is updated);
 * any beyond that are closed. */
ssize_t monitor_recv(int fd, void *msg, size_t len, int *fds, size_t *nfds);

/* In a worker: sends rq and waits for the answer (MON_TIMEOUT_MS). 0,
 * or -1 (no answer: the master is gone or wrong). */
int monitor_call(int fd, const struct mon_request *rq, struct mon_reply *r,
		 int *fds, size_t *nfds);

#endif
