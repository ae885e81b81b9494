/* SPDX-License-Identifier: MIT */
/*
 * An NBD client for your own program: connect to an export by URI, read
 * and write it, with as many requests in flight as you like. Shaped
 * after libnbd (nbd_create, nbd_connect_uri, nbd_pread, nbd_aio_pread,
 * nbd_aio_command_completed, ...): a program written for one reads
 * naturally with the other. See cnbd_client(3).
 *
 *   struct cnbd_client *h = cnbd_client_create();
 *   if (cnbd_client_connect_uri(h, "nbd://server/disk") < 0 ||
 *       cnbd_client_pread(h, buf, 4096, 0, 0) < 0)
 *           fprintf(stderr, "%s\n", cnbd_client_get_error(h));
 *   cnbd_client_close(h);
 *
 * Errors: a call that fails returns -1 (NULL for pointers), sets errno
 * and leaves a sentence naming the thing and the reason in the handle
 * (cnbd_client_get_error, cnbd_client_get_errno), kept until the next
 * failure. Threads: a handle is not locked; use it from one thread at a
 * time. Handles are independent (nothing is global), so a thread per
 * handle is fine; for several requests at once on one connection use the
 * cnbd_client_aio_* calls.
 */
#ifndef CNBD_CLIENT_PUBLIC_H
#define CNBD_CLIENT_PUBLIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cnbd/protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cnbd_client;

/* A handle, not connected yet; NULL with errno ENOMEM. */
struct cnbd_client *cnbd_client_create(void);
/* Sends NBD_CMD_DISC when connected, closes the connection and frees the
 * handle. Commands still in flight are abandoned: their buffers are
 * not touched after this returns. NULL is fine. */
void cnbd_client_close(struct cnbd_client *h);

/* The last failure's sentence ("" if none) and errno (0 if none). */
const char *cnbd_client_get_error(const struct cnbd_client *h);
int cnbd_client_get_errno(const struct cnbd_client *h);

/* Seconds for connecting and negotiating in all, and for each
 * synchronous call to get its reply; 0 (the default): no bound. A
 * synchronous call that runs out of time fails with ETIMEDOUT and
 * leaves the connection unusable (its reply could still come). */
int cnbd_client_set_timeout(struct cnbd_client *h, unsigned seconds);
/* Ask for structured replies (the default, needed for block status);
 * false: simple replies only. Before connecting. */
int cnbd_client_set_request_structured_replies(struct cnbd_client *h, bool request);
/* Check each request before sending it (the default): ranges past the
 * end, misalignment, flags and commands the server did not offer, writes
 * to a read-only export fail here, without a round trip. false: send
 * them, and the server's own answer is the result. */
int cnbd_client_set_strict_mode(struct cnbd_client *h, bool strict);

/*
 * Connects and negotiates: nbd://host[:port][/export],
 * nbd+unix:///export?socket=PATH, and over TLS nbds:// and nbds+unix://
 * with tls-certificates=DIR (ca-cert.pem, and client-cert.pem and
 * client-key.pem when present), tls-psk-file=FILE, tls-username=USER (or
 * nbds://USER@host; the PSK identity) and tls-verify-peer=false. Asks
 * for structured replies and the base:allocation meta context, then GO
 * (EXPORT_NAME if the server does not know GO).
 */
int cnbd_client_connect_uri(struct cnbd_client *h, const char *uri);

/* The exports of the server uri names (its export part is ignored), one
 * call of fn each; a nonzero return from fn stops the list and is
 * returned. The handle must not be connected, and is not afterwards. */
typedef int (*cnbd_client_list_fn)(void *opaque, const char *name,
				   const char *description);
int cnbd_client_list_exports(struct cnbd_client *h, const char *uri,
			     cnbd_client_list_fn fn, void *opaque);

/* What the server said of the export (connected handles only; -1 or
 * NULL otherwise). */
int64_t cnbd_client_get_size(struct cnbd_client *h);
const char *cnbd_client_get_export_name(struct cnbd_client *h);
const char *cnbd_client_get_export_description(struct cnbd_client *h);	/* "" if none */
/* The transmission flags (NBD_FLAG_* of <cnbd/protocol.h>); each of
 * the calls after it reads one as 1 or 0. */
int cnbd_client_get_flags(struct cnbd_client *h);
int cnbd_client_is_read_only(struct cnbd_client *h);
int cnbd_client_is_rotational(struct cnbd_client *h);
int cnbd_client_can_flush(struct cnbd_client *h);
int cnbd_client_can_fua(struct cnbd_client *h);
int cnbd_client_can_trim(struct cnbd_client *h);
int cnbd_client_can_zero(struct cnbd_client *h);
int cnbd_client_can_fast_zero(struct cnbd_client *h);
int cnbd_client_can_cache(struct cnbd_client *h);
int cnbd_client_can_multi_conn(struct cnbd_client *h);
/* 1 when the server granted this meta context ("base:allocation"). */
int cnbd_client_can_meta_context(struct cnbd_client *h, const char *name);
int cnbd_client_get_structured_replies_negotiated(struct cnbd_client *h);

enum cnbd_client_size {
	CNBD_SIZE_MINIMUM,	/* requests are multiples of it */
	CNBD_SIZE_PREFERRED,
	CNBD_SIZE_MAXIMUM,	/* the largest READ or WRITE payload */
};
/* What NBD_INFO_BLOCK_SIZE said; 0 when the server did not send it (the
 * client then assumes 1, 4096 and 32 MiB). */
int64_t cnbd_client_get_block_size(struct cnbd_client *h, enum cnbd_client_size which);

/*
 * Synchronous I/O: 0 when the server did it, -1 otherwise. flags are
 * NBD_CMD_FLAG_* of <cnbd/protocol.h>: FUA (pwrite, trim, zero), NO_HOLE
 * and FAST_ZERO (zero), REQ_ONE (block_status). One call is one request:
 * count up to the server's maximum (cnbd_client_get_block_size) for
 * pread and pwrite, up to 4 GiB - 1 for the others.
 */
int cnbd_client_pread(struct cnbd_client *h, void *buf, size_t count,
		      uint64_t offset, uint32_t flags);
int cnbd_client_pwrite(struct cnbd_client *h, const void *buf, size_t count,
		       uint64_t offset, uint32_t flags);
int cnbd_client_flush(struct cnbd_client *h, uint32_t flags);
int cnbd_client_trim(struct cnbd_client *h, uint64_t count, uint64_t offset,
		     uint32_t flags);
int cnbd_client_zero(struct cnbd_client *h, uint64_t count, uint64_t offset,
		     uint32_t flags);
int cnbd_client_cache(struct cnbd_client *h, uint64_t count, uint64_t offset,
		      uint32_t flags);

/* One extent of base:allocation: flags NBD_STATE_HOLE, NBD_STATE_ZERO. */
struct cnbd_client_extent {
	uint64_t offset;
	uint64_t length;
	uint32_t flags;
};
/* Called with each BLOCK_STATUS chunk's extents, in order from the
 * request's offset (the last may reach past its end). Return 0, or an
 * errno value to fail the command with. */
typedef int (*cnbd_client_extent_fn)(void *opaque, const char *metacontext,
				     const struct cnbd_client_extent *extents,
				     size_t n);
int cnbd_client_block_status(struct cnbd_client *h, uint64_t count, uint64_t offset,
			     cnbd_client_extent_fn fn, void *opaque, uint32_t flags);

/*
 * Asynchronous I/O: each call queues one request and returns its cookie
 * (>= 1), or -1. The buffer must stay valid until the command completes.
 * Progress is made by cnbd_client_poll(), or by your own event loop:
 * poll cnbd_client_aio_get_fd() for what cnbd_client_aio_get_direction()
 * says, then call cnbd_client_aio_notify_read/_write().
 */
int64_t cnbd_client_aio_pread(struct cnbd_client *h, void *buf, size_t count,
			      uint64_t offset, uint32_t flags);
int64_t cnbd_client_aio_pwrite(struct cnbd_client *h, const void *buf, size_t count,
			       uint64_t offset, uint32_t flags);
int64_t cnbd_client_aio_flush(struct cnbd_client *h, uint32_t flags);
int64_t cnbd_client_aio_trim(struct cnbd_client *h, uint64_t count, uint64_t offset,
			     uint32_t flags);
int64_t cnbd_client_aio_zero(struct cnbd_client *h, uint64_t count, uint64_t offset,
			     uint32_t flags);
int64_t cnbd_client_aio_cache(struct cnbd_client *h, uint64_t count, uint64_t offset,
			      uint32_t flags);
/* fn is called from cnbd_client_poll() or a notify call as chunks come. */
int64_t cnbd_client_aio_block_status(struct cnbd_client *h, uint64_t count,
				     uint64_t offset, cnbd_client_extent_fn fn,
				     void *opaque, uint32_t flags);

/* 1: the command succeeded; 0: still in flight; -1: it failed (the
 * handle's error is its error). On 1 and -1 the cookie is retired. */
int cnbd_client_aio_command_completed(struct cnbd_client *h, uint64_t cookie);
/* The cookie of a completed command not yet retired, 0 when commands
 * are in flight but none has completed, -1 (EINVAL) when there are none. */
int64_t cnbd_client_aio_peek_command_completed(struct cnbd_client *h);
/* Commands sent or queued and not yet completed. */
int cnbd_client_aio_in_flight(struct cnbd_client *h);

#define CNBD_AIO_DIRECTION_READ		1U
#define CNBD_AIO_DIRECTION_WRITE	2U
int cnbd_client_aio_get_fd(struct cnbd_client *h);
unsigned cnbd_client_aio_get_direction(struct cnbd_client *h);
/* Never block: they do what the socket allows and return 0, or -1 when
 * the connection failed (every command in flight then fails too). */
int cnbd_client_aio_notify_read(struct cnbd_client *h);
int cnbd_client_aio_notify_write(struct cnbd_client *h);
/* Waits up to timeout_ms (-1: without end) for the connection, and makes
 * what progress it can: 1 when it did, 0 on timeout, -1 on failure. */
int cnbd_client_poll(struct cnbd_client *h, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
