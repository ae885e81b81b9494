/* SPDX-License-Identifier: MIT */
/* The engine's private state for one connection, shared by the
 * handshake, the request loop and the reply writer. */
#ifndef CNBD_SERVE_SESSION_H
#define CNBD_SERVE_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/conn_io.h"
#include "cnbd/serve.h"

struct reply_batch;

#define META_CONTEXT_BASE_ALLOCATION	1	/* our id for base:allocation */
/* The largest READ or WRITE served to a client that never asked for
 * block sizes, whatever the export advertises (nbdkit's limit too): such
 * a client does not know the advertised maximum, and the kernel, qemu
 * and nbd-server's users send up to 32 MiB or more without asking. */
#define SERVE_UNNEGOTIATED_MAX_PAYLOAD	(64U * 1024 * 1024)

struct session {
	struct conn_io io;
	const struct cnbd_serve_hooks *hooks;
	const struct cnbd_tls *tls;
	enum cnbd_tls_mode tls_mode;
	bool tls_resumed;		/* start with the TLS handshake */
	bool tls_kernel;		/* then hand the session to the kernel */
	const char *peer;
	struct timespec deadline;	/* of the handshake; tv_sec 0: none */

	/* Negotiated in the handshake */
	bool no_zeroes;
	bool structured;
	char *meta_export;		/* the export SET_META_CONTEXT named */
	bool meta_base_allocation;
	bool block_size_asked;		/* GO asked for NBD_INFO_BLOCK_SIZE */

	/* Chosen by GO or EXPORT_NAME */
	const struct cnbd_export *exp;
	bool leased;			/* acquire granted: release at the end */
	const struct cnbd_backend *be;
	void *conn;
	uint64_t size;
	uint16_t tflags;
	uint32_t max_payload;
	bool emulate_fua;

	/* Transmission */
	pthread_mutex_t send_lock;	/* one reply on the wire at a time */
	bool send_failed;
	/* Inline mode only: more requests are already read, so replies may
	 * wait in the kernel for the next one (MSG_MORE). */
	bool more_follows;
	/* Inline mode only: the burst's replies, sent in one writev. */
	struct reply_batch *batch;
};

/* What negotiating did: one option (serve_handshake.c's handlers), or
 * the whole handshake (serve_handshake, which never says NEXT). */
enum handshake_result {
	HANDSHAKE_NEXT,		/* answered: read the next option */
	HANDSHAKE_TRANSMISSION,	/* GO or EXPORT_NAME chose an export: serve it */
	/* The client sent ABORT, or the owner took the connection over
	 * (hand_off_tls): the end of this session, but no error. */
	HANDSHAKE_ENDED,
	/* Close the connection: it broke, the client broke the protocol,
	 * or a refusal that has no error reply (EXPORT_NAME). */
	HANDSHAKE_FAILED,
};

/* How transmission ended. */
enum transmission_end {
	TRANSMISSION_DISCONNECTED,	/* the client sent NBD_CMD_DISC */
	TRANSMISSION_FAILED,		/* the connection broke or was closed */
};

enum handshake_result serve_handshake(struct session *s);
/* Closes the backend connection the handshake opened, if any. */
void serve_close_export(struct session *s);
/* serve_transmission.c: serve requests until DISC or the end of the
 * connection. */
enum transmission_end serve_transmission(struct session *s, int threads);

#endif
