/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/conn_io.h"
#include "common/ktls.h"
#include "common/log.h"
#include "common/wire.h"

/* The GnuTLS code behind the last EPROTO, for a message that names it. */
static __thread int last_tls_error;

int conn_last_tls_error(void)
{
	return last_tls_error;
}

/* GnuTLS speaks its own error codes; the engine speaks errno. */
static int tls_errno(ssize_t rc)
{
	last_tls_error = (int)rc;
	switch (rc) {
	case GNUTLS_E_INTERRUPTED:
	case GNUTLS_E_AGAIN:
		return EINTR;
	case GNUTLS_E_PREMATURE_TERMINATION:
		return ECONNRESET;
	default:
		return EPROTO;
	}
}

bool conn_tls(const struct conn_io *io)
{
	return io->tls || io->ktls;
}

int conn_kernel_tls(struct conn_io *io, char *why, size_t whylen)
{
	bool touched;

	if (ktls_install(io->tls, io->fd, &touched, why, whylen) < 0)
		return touched ? -1 : 1;
	/* No close_notify: the session goes on, in the kernel. */
	gnutls_deinit(io->tls);
	io->tls = NULL;
	io->ktls = true;
	return 0;
}

/* The kernel met a record that is not data (EIO): which one? */
static ssize_t kernel_tls_control(struct conn_io *io)
{
	char what[160];

	if (ktls_read_control(io->fd, what, sizeof(what)) == 0)
		return 0;
	log_info("kernel TLS: the peer sent %s: the connection ends", what);
	return -1;
}

ssize_t conn_read_some(struct conn_io *io, void *buf, size_t len)
{
	ssize_t n;

	if (!io->tls) {
		n = read(io->fd, buf, len);
		if (n < 0 && io->ktls && (errno == EIO || errno == EKEYEXPIRED))
			return kernel_tls_control(io);
		return n;
	}
	do {
		n = gnutls_record_recv(io->tls, buf, len);
	} while (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN);
	if (n < 0) {
		errno = tls_errno(n);
		return -1;
	}
	return n;
}

bool conn_has_pending(const struct conn_io *io)
{
	return io->tls && gnutls_record_check_pending(io->tls) > 0;
}

int conn_ms_until(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	if (!deadline)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* Waits for bytes until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_readable(struct conn_io *io, const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = io->fd, .events = POLLIN };
	int rc;

	/* Bytes TLS already decrypted would not wake poll(). */
	if (!deadline || conn_has_pending(io))
		return 1;
	do {
		rc = poll(&pfd, 1, conn_ms_until(deadline));
	} while (rc < 0 && errno == EINTR);
	return rc;
}

int conn_read_full(struct conn_io *io, void *buf, size_t len)
{
	return conn_read_full_until(io, buf, len, NULL);
}

int conn_read_full_until(struct conn_io *io, void *buf, size_t len,
			 const struct timespec *deadline)
{
	uint8_t *p = buf;

	while (len > 0) {
		int ready = wait_readable(io, deadline);
		if (ready < 0)
			return -1;
		if (ready == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t n = conn_read_some(io, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int tls_send_all(gnutls_session_t tls, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = gnutls_record_send(tls, p, len);
		if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
			continue;
		if (n < 0) {
			errno = tls_errno(n);
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int conn_writev(struct conn_io *io, struct iovec *iov, int iovcnt, bool more)
{
	if (!io->tls)
		return writev_full_flags(io->fd, iov, iovcnt, more ? MSG_MORE : 0);
	/* Corked, the pieces of one reply (and of a burst) share records. */
	gnutls_record_cork(io->tls);
	for (int i = 0; i < iovcnt; i++)
		if (tls_send_all(io->tls, iov[i].iov_base, iov[i].iov_len) < 0)
			return -1;
	if (more)
		return 0;
	for (;;) {
		int rc = gnutls_record_uncork(io->tls, GNUTLS_RECORD_WAIT);
		if (rc >= 0)
			return 0;
		if (rc != GNUTLS_E_INTERRUPTED && rc != GNUTLS_E_AGAIN) {
			errno = tls_errno(rc);
			return -1;
		}
	}
}

/* sendfile(2) has no MSG_NOSIGNAL: a peer that has gone raises SIGPIPE
 * at this thread. Blocked here, it stays pending on the thread, and is
 * taken back before the mask is restored, so a program embedding the
 * engine never sees it. */
static ssize_t sendfile_nosignal(int out_fd, int in_fd, off_t *offset, size_t len)
{
	static const struct timespec no_wait = { 0, 0 };
	sigset_t pipe_set, old;
	ssize_t n;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = sendfile(out_fd, in_fd, offset, len);
	saved = errno;
	if (n < 0 && saved == EPIPE && !sigismember(&old, SIGPIPE))
		while (sigtimedwait(&pipe_set, NULL, &no_wait) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

int conn_sendfile(struct conn_io *io, int in_fd, uint64_t offset, size_t len)
{
	off_t off = (off_t)offset;

	if (io->tls) {
		errno = EINVAL;
		return -1;
	}
	while (len > 0) {
		ssize_t n = sendfile_nosignal(io->fd, in_fd, &off, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {	/* the source ended before the range did */
			errno = EIO;
			return -1;
		}
		len -= n;
	}
	return 0;
}

void conn_close(struct conn_io *io)
{
	if (io->ktls) {
		ktls_send_alert(io->fd, GNUTLS_AL_WARNING, GNUTLS_A_CLOSE_NOTIFY);
		io->ktls = false;
	}
	if (io->tls) {
		gnutls_bye(io->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(io->tls);
		io->tls = NULL;
	}
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}
