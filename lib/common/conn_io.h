/* SPDX-License-Identifier: MIT */
/* A connection's bytes, in the clear or through TLS once STARTTLS has
 * succeeded: the engine reads and writes only through these. */
#ifndef CNBD_CONN_IO_H
#define CNBD_CONN_IO_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

struct conn_io {
	int fd;
	gnutls_session_t tls;		/* NULL: no TLS in userspace */
	bool ktls;			/* TLS in the kernel (ktls.h): fd reads
					 * and writes plaintext, tls is NULL */
};

/* Is the connection encrypted, by GnuTLS or by the kernel? */
bool conn_tls(const struct conn_io *io);
/* Hands the GnuTLS session to kernel TLS (ktls.h). 0: done, io goes on
 * with plain calls on the socket; 1: the kernel cannot take it (why
 * says so), GnuTLS goes on; -1: the socket was half changed, the
 * connection is lost. */
int conn_kernel_tls(struct conn_io *io, char *why, size_t whylen);

/* The GnuTLS error behind this thread's last TLS failure (errno EPROTO
 * or ECONNRESET from the calls below): for messages. */
int conn_last_tls_error(void);

/* Like read(2): some bytes, 0 at end of stream, -1 with errno. Under
 * kernel TLS, a record that is not data ends the stream: the peer's
 * close_notify as EOF, anything else (an alert, a KeyUpdate) logged
 * and -1. */
ssize_t conn_read_some(struct conn_io *io, void *buf, size_t len);
/* Are bytes already decrypted and waiting (so poll() would lie)? */
bool conn_has_pending(const struct conn_io *io);
/* Every byte of iov, or -1 with errno. With more, the bytes may wait
 * for what follows (MSG_MORE, or a corked TLS record). */
int conn_writev(struct conn_io *io, struct iovec *iov, int iovcnt, bool more);
/* len bytes of in_fd from offset, straight to the socket (sendfile),
 * or -1 with errno (EIO if in_fd ends first). Plaintext or kernel TLS
 * only: with GnuTLS the bytes must pass through it, so EINVAL. */
int conn_sendfile(struct conn_io *io, int in_fd, uint64_t offset, size_t len);
/* Exactly len bytes, or -1 (ECONNRESET at end of stream). */
int conn_read_full(struct conn_io *io, void *buf, size_t len);
/* The same, failing with ETIMEDOUT once the CLOCK_MONOTONIC deadline
 * passes (NULL: no deadline), however slowly the bytes trickle in. */
int conn_read_full_until(struct conn_io *io, void *buf, size_t len,
			 const struct timespec *deadline);
/* Milliseconds until deadline (0 once passed), or -1 for no deadline:
 * what poll() and the TLS handshake take. */
int conn_ms_until(const struct timespec *deadline);
/* Ends TLS politely, if any, and closes the socket. */
void conn_close(struct conn_io *io);

#endif
