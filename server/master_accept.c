/* SPDX-License-Identifier: MIT */
/*
 * Accepting a connection and starting its worker. A worker needs two
 * things from the master besides its connection: a lease socket, made
 * here, and a clean slate of descriptors, which it gets by closing every
 * descriptor of the master's right after fork.
 *
 * Out of descriptors (or memory), the master pauses accepting instead of
 * spinning: clients wait in the listen backlog. A connection accepted
 * when its lease socket cannot be made waits too, accepted, until one
 * can: its client waits for the greeting as it would in the backlog.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_load.h"
#include "lease.h"
#include "log.h"
#include "master.h"
#include "peer.h"
#include "worker.h"

/* After EMFILE and friends, stop accepting this long. */
#define ACCEPT_BACKOFF_MS	200
/* While a shortage lasts, log it this often. */
#define SHORTAGE_LOG_MS		5000

/* In a new worker: close every descriptor that is the master's, so that
 * none reaches the code that talks to the client. */
static void shed_master_fds(struct master *m, int master_end)
{
	for (size_t i = 0; i < m->nls; i++)
		close(m->ls[i].fd);
	close(m->sigfd);
	close(m->life.wr);
	control_close(&m->control, false);
	for (size_t i = 0; i < m->workers.n; i++)
		if (m->workers.v[i].fd >= 0)
			close(m->workers.v[i].fd);
	close(master_end);
	backend_close_fds();	/* the loaded code stays mapped */
}

static pid_t fork_worker(struct master *m, int fd, const char *peer, const int sv[2])
{
	pid_t pid = fork();

	if (pid == 0) {
		struct worker_setup setup = {
			.table = &m->exports,
			.drop = m->drop,
			.handshake_timeout = m->cfg.handshake_timeout,
			.lifeline = &m->life,
			.lease_fd = sv[1],
			.tls = m->tls,
			.tls_mode = m->cfg.tls.mode,
		};

		shed_master_fds(m, sv[0]);
		worker_run(fd, peer, &setup);	/* never returns */
	}
	return pid;
}

static void spawn(struct master *m, int fd, bool is_unix, const int sv[2])
{
	char peer[PEER_NAME_MAX];
	int one = 1;
	pid_t pid;

	/* Requests and replies are small messages: no Nagle delay. */
	if (!is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	peer_name(fd, peer, sizeof(peer));
	pid = fork_worker(m, fd, peer, sv);
	close(fd);
	close(sv[1]);
	if (pid < 0) {
		log_error("cannot start a worker for %s: %s", peer, strerror(errno));
		close(sv[0]);
		return;
	}
	log_info("connection from %s: worker %d", peer, (int)pid);
	if (worker_list_add(&m->workers, pid, sv[0]) < 0) {
		/* Untracked, it could hold a lease nobody counts. */
		log_error("out of memory tracking worker %d: ending it", (int)pid);
		kill(pid, SIGKILL);
		close(sv[0]);
	}
}

static bool is_shortage(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* A shortage lasts: say so once, then every few seconds with a count,
 * not five times a second. */
static void pause_for_shortage(struct master *m, const char *what, int err)
{
	int64_t now = master_now_ms();

	m->paused_until = now + ACCEPT_BACKOFF_MS;
	m->shortages++;
	if (m->shortage_logged_at && now - m->shortage_logged_at < SHORTAGE_LOG_MS)
		return;
	log_error("%s: %s: pausing %d ms between tries (%u so far)",
		  what, strerror(err), ACCEPT_BACKOFF_MS, m->shortages);
	m->shortage_logged_at = now;
}

int master_start_waiting(struct master *m)
{
	int sv[2];

	if (m->waiting_fd < 0)
		return 0;
	if (lease_socketpair(sv) < 0) {
		if (is_shortage(errno)) {
			pause_for_shortage(m, "a lease socket for a new connection", errno);
			return -1;
		}
		log_error("cannot make a lease socket: %s: dropping a connection",
			  strerror(errno));
		close(m->waiting_fd);
		m->waiting_fd = -1;
		return 0;
	}
	if (m->shortages)
		log_info("accepting again after %u refused tries", m->shortages);
	m->shortages = 0;
	m->shortage_logged_at = 0;
	spawn(m, m->waiting_fd, m->waiting_unix, sv);
	m->waiting_fd = -1;
	return 0;
}

void master_accept(struct master *m, const struct listener *l)
{
	char what[sizeof(l->name) + 16];

	for (int i = 0; i < 64; i++) {
		int fd;

		if (master_start_waiting(m) < 0)
			return;
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			m->waiting_fd = fd;
			m->waiting_unix = l->is_unix;
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EAGAIN)
			break;
		snprintf(what, sizeof(what), "accept on %s", l->name);
		if (is_shortage(errno)) {
			pause_for_shortage(m, what, errno);
		} else {
			log_error("%s: %s", what, strerror(errno));
			m->paused_until = master_now_ms() + ACCEPT_BACKOFF_MS;
		}
		break;
	}
	master_start_waiting(m);
}
