/* SPDX-License-Identifier: MIT */
/*
 * Accepting a connection and starting its worker (worker_spawn.c), with
 * a monitor socket made here.
 *
 * Out of descriptors (or memory), the master pauses accepting instead of
 * spinning: clients wait in the listen backlog. A connection accepted
 * when its monitor socket cannot be made, or at max-workers, waits too,
 * accepted, until it can: its client waits for the greeting as it would
 * in the backlog.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "master.h"
#include "common/peer.h"
#include "worker_spawn.h"

/* After EMFILE and friends, stop accepting this long. */
#define ACCEPT_BACKOFF_MS	200
/* While a shortage lasts, log it this often. */
#define SHORTAGE_LOG_MS		5000

/* Starts the worker for the client's fd, who is *id, with the monitor
 * socketpair sv (made by monitor_socketpair). Closes fd and sv[1]; sv[0]
 * and *id are the worker's record's from then on. 0, or -1 (logged; the
 * connection is dropped). */
static int start_with(struct master *m, int fd, struct acl_peer *id, const char *peer,
		      bool tls_first, bool no_zeroes, const int sv[2])
{
	struct worker_start ws = { .client_fd = fd, .peer = peer, .monitor_fd = sv[1],
				   .tls_first = tls_first, .no_zeroes = no_zeroes,
				   .stats_fd = -1 };
	/* Without a page (out of descriptors) the worker serves uncounted. */
	struct worker_stats *stats = m->cfg.statistics ? worker_stats_new(&ws.stats_fd) : NULL;
	struct worker *w;
	pid_t pid;

	pid = worker_spawn(m, &ws);
	close(fd);
	close(sv[1]);
	if (ws.stats_fd >= 0)
		close(ws.stats_fd);
	if (pid < 0) {
		log_error("cannot start a worker for %s: %s", peer, strerror(errno));
		goto fail;
	}
	log_info("connection from %s: worker %d%s", peer, (int)pid,
		 tls_first ? " (TLS)" : "");
	if (worker_list_add(&m->workers, pid, sv[0]) < 0) {
		/* Untracked, it could hold a lease nobody counts. */
		log_error("out of memory tracking worker %d: ending it", (int)pid);
		kill(pid, SIGKILL);
		goto fail;
	}
	w = worker_list_get(&m->workers, pid);
	w->tls_first = tls_first;
	w->stats = stats;
	w->peer = *id;
	memset(id, 0, sizeof(*id));
	snprintf(w->peer_name, sizeof(w->peer_name), "%s", peer);
	return 0;
fail:
	close(sv[0]);
	acl_peer_free(id);
	worker_stats_free(stats);
	return -1;
}

int master_start_worker(struct master *m, int fd, struct acl_peer *id, const char *peer,
			bool tls_first, bool no_zeroes)
{
	int sv[2];

	if (monitor_socketpair(sv) < 0) {
		log_error("cannot make a monitor socket for %s: %s: dropping the connection",
			  peer, strerror(errno));
		close(fd);
		acl_peer_free(id);
		return -1;
	}
	return start_with(m, fd, id, peer, tls_first, no_zeroes, sv);
}

static void spawn(struct master *m, int fd, bool is_unix, struct acl_peer *id,
		  const int sv[2])
{
	char peer[PEER_NAME_MAX];
	int one = 1;

	/* Requests and replies are small messages: no Nagle delay. */
	if (!is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	peer_name(fd, peer, sizeof(peer));
	start_with(m, fd, id, peer, false, false, sv);
}

/* [server] allow and deny, from the address alone: a refused client is
 * closed before any worker exists for it, and nothing it sent is read.
 * True when fd may go on (its identity in *id). */
static bool admitted(struct master *m, int fd, struct acl_peer *id)
{
	char peer[PEER_NAME_MAX];

	if (acl_peer_of(fd, id) < 0) {
		log_rated(&m->accept_log, LOG_WARNING,
			  "out of memory learning who a new connection is: dropping it");
		return false;
	}
	if (acl_admits(&m->cfg.acl, id))
		return true;
	peer_name(fd, peer, sizeof(peer));
	log_rated(&m->accept_log, LOG_INFO,
		  "refused a connection from %s: [server] allow/deny", peer);
	acl_peer_free(id);
	return false;
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

/* At max-workers, accepting stops until a worker ends: clients wait
 * in the listen backlog. Said once each time the limit is reached. */
bool master_at_max_workers(struct master *m)
{
	bool full = m->cfg.max_workers && m->workers.n >= (size_t)m->cfg.max_workers;

	if (full && !m->at_max_workers)
		log_warn("max-workers (%d) reached: new connections wait in the backlog",
			 m->cfg.max_workers);
	else if (!full && m->at_max_workers)
		log_info("below max-workers again: accepting");
	m->at_max_workers = full;
	return full;
}

int master_start_waiting(struct master *m)
{
	int sv[2];

	if (m->waiting_fd < 0)
		return 0;
	if (master_at_max_workers(m))
		return -1;
	/* A shortage pauses accepting instead of dropping the client. */
	if (monitor_socketpair(sv) < 0) {
		if (is_shortage(errno)) {
			pause_for_shortage(m, "a monitor socket for a new connection", errno);
			return -1;
		}
		log_error("cannot make a monitor socket: %s: dropping a connection",
			  strerror(errno));
		close(m->waiting_fd);
		acl_peer_free(&m->waiting_peer);
		m->waiting_fd = -1;
		return 0;
	}
	if (m->shortages)
		log_info("accepting again after %u refused tries", m->shortages);
	m->shortages = 0;
	m->shortage_logged_at = 0;
	spawn(m, m->waiting_fd, m->waiting_unix, &m->waiting_peer, sv);
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
		if (fd >= 0 && !admitted(m, fd, &m->waiting_peer)) {
			close(fd);
			continue;
		}
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
