/* SPDX-License-Identifier: MIT */
/*
 * Inside the public client (<cnbd/client.h>): the handle, its commands,
 * and the state of the reply being read. A command lives on one list at a
 * time: in_flight from submission until its reply is complete, then done
 * until the caller retires it. Commands with bytes still to send are also
 * on the send queue (in submission order).
 */
#ifndef CNBD_CLIENTAPI_API_H
#define CNBD_CLIENTAPI_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnbd/client.h"
#include "clientlib/client.h"
#include "proto/messages.h"

#define API_MSG_MAX	512

struct cmd {
	struct cmd *next;		/* in_flight or done */
	struct cmd *send_next;		/* the send queue */
	uint64_t cookie;
	uint16_t type;
	uint16_t flags;
	uint64_t offset;
	uint32_t count;
	void *rbuf;			/* READ: where the data goes */
	const void *wbuf;		/* WRITE: the payload, the caller's */
	uint8_t hdr[NBD_REQUEST_SIZE];	/* the request as sent */
	size_t sent;			/* bytes of hdr, then of wbuf, gone */
	cnbd_client_extent_fn extent_fn;
	void *extent_opaque;
	uint64_t covered;		/* READ: bytes of data and holes seen */
	bool got_extents;
	int err;			/* the first failure; 0: none */
	char msg[API_MSG_MAX];
};

/* The bytes cmd puts on the wire: its header and any payload. */
static inline size_t api_cmd_total(const struct cmd *cmd)
{
	return sizeof(cmd->hdr) + (cmd->wbuf ? cmd->count : 0);
}

enum api_state {
	API_CREATED,			/* not connected */
	API_READY,			/* in transmission */
	API_DEAD,			/* the connection failed or timed out */
};

enum rx_stage {
	RX_HEADER,			/* a reply's header, 16 or 20 bytes */
	RX_DATA,			/* READ data into the caller's buffer */
	RX_PAYLOAD,			/* a chunk's other payload into rx.buf */
	RX_OFFSET,			/* OFFSET_DATA: its 8-byte offset */
};

/* The reply being read. */
struct rx {
	enum rx_stage stage;
	uint8_t hdr[NBD_CHUNK_HEADER_SIZE];
	size_t have;			/* of the current stage */
	size_t need;
	uint8_t *dst;			/* RX_DATA: where the bytes go */
	struct cmd *cmd;		/* the command it answers */
	bool structured;		/* a chunk, not a simple reply */
	struct proto_chunk chunk;	/* its header */
	uint8_t *buf;			/* RX_PAYLOAD and RX_OFFSET */
	size_t cap;
};

struct cnbd_client {
	struct nbd_client c;		/* the connection (clientlib) */
	enum api_state state;
	unsigned timeout;
	bool want_structured;
	bool strict;
	struct cmd *in_flight;
	struct cmd *done_head, *done_tail;
	struct cmd *sendq_head, *sendq_tail;
	unsigned n_in_flight;
	uint64_t next_cookie;
	struct rx rx;
	int err;
	char error[API_MSG_MAX];
};

/* handle.c: sets the handle's error and errno; returns -1. */
int api_fail(struct cnbd_client *h, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same from the connection's own sentence (c.error) and errno. */
int api_fail_conn(struct cnbd_client *h);
/* The connection cannot go on: it is shut, every command in flight
 * fails with this error, the handle says it. Returns -1. */
int api_lost(struct cnbd_client *h, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* -1 (ENOTCONN, EPIPE after a failure) unless the handle is in
 * transmission. */
int api_need_ready(struct cnbd_client *h);

/* submit.c */
void api_cmd_free(struct cmd *cmd);
/* A command's completion: off in_flight, onto done. */
void api_complete(struct cnbd_client *h, struct cmd *cmd);
/* Sets cmd's error unless it already has one. */
void api_cmd_fail(struct cmd *cmd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "READ of 4096 bytes at offset 0", for messages. */
void api_cmd_describe(const struct cmd *cmd, char *out, size_t len);

/* transport.c: 0 (sent what the socket took), or api_lost's -1. */
int api_send_progress(struct cnbd_client *h);
/* Some bytes into buf: n > 0, 0 for "nothing now" (EAGAIN), or api_lost's
 * -1 (the server closing included). */
ssize_t api_recv_some(struct cnbd_client *h, void *buf, size_t len);

/* reply.c: reads what has come, to EAGAIN: 0, or api_lost's -1. */
int api_recv_progress(struct cnbd_client *h);
/* The command in flight a reply's cookie names, sent in full; NULL after
 * api_lost when there is none. */
struct cmd *api_answered(struct cnbd_client *h, uint64_t cookie);
/* Ready for the next reply's header. */
void api_rx_reset(struct cnbd_client *h);
/* chunk.c: what a structured chunk's header asks for next, and what its
 * payload means once read; 0 or api_lost's -1. */
int api_chunk_begin(struct cnbd_client *h);
int api_chunk_end(struct cnbd_client *h);

/* wait.c: runs the connection until cookie's command completes (or the
 * handle's timeout passes: ETIMEDOUT, the connection dead), then retires
 * it: 0, or -1 with its error. */
int api_wait(struct cnbd_client *h, int64_t cookie);

#endif
