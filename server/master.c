/* SPDX-License-Identifier: MIT */
/*
 * One poll() over the listening sockets and a signalfd. Signals arrive
 * as data, so there is no async handler, no race with fork, and no
 * accept() interrupted halfway.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "peer.h"

/* After EMFILE and friends, stop accepting this long: the backlog keeps
 * the clients waiting instead of a busy loop spinning. */
#define ACCEPT_BACKOFF_MS	200
/* At shutdown, how long workers get to finish after SIGTERM. */
#define SHUTDOWN_GRACE_MS	5000
/* While accept() keeps failing for want of resources, log this often. */
#define SHORTAGE_LOG_MS		5000

static const int master_sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

int master_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(master_sigs) / sizeof(master_sigs[0]); i++)
		sigaddset(&mask, master_sigs[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -1;
	return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int add_worker(struct master *m, pid_t pid)
{
	if (m->nworkers == m->capworkers) {
		size_t cap = m->capworkers ? 2 * m->capworkers : 16;
		pid_t *w = realloc(m->workers, cap * sizeof(*w));

		if (!w)
			return -1;
		m->workers = w;
		m->capworkers = cap;
	}
	m->workers[m->nworkers++] = pid;
	return 0;
}

static void remove_worker(struct master *m, pid_t pid)
{
	for (size_t i = 0; i < m->nworkers; i++) {
		if (m->workers[i] == pid) {
			m->workers[i] = m->workers[--m->nworkers];
			return;
		}
	}
}

static void log_exit(const struct master *m, pid_t pid, int status)
{
	/* At shutdown the master's own SIGTERM is the expected end. */
	if (m->stopping && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)
		log_debug("worker %d ended", (int)pid);
	else if (WIFSIGNALED(status))
		log_warn("worker %d killed by signal %d (%s)%s", (int)pid,
			 WTERMSIG(status), strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? ", core dumped" : "");
	else if (WIFEXITED(status) && WEXITSTATUS(status) > 1)
		log_info("worker %d exited with status %d", (int)pid, WEXITSTATUS(status));
	else	/* 0, or 1: the connection failed and the worker said why */
		log_debug("worker %d exited with status %d", (int)pid, WEXITSTATUS(status));
}

static void reap(struct master *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		log_exit(m, pid, status);
		remove_worker(m, pid);
	}
}

/* Drains the signalfd: false once SIGTERM or SIGINT arrived. */
static bool handle_signals(struct master *m)
{
	struct signalfd_siginfo si;
	bool go_on = true;

	while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(m);
			break;
		case SIGHUP:
			log_info("SIGHUP: reloading is not implemented yet; nothing changed");
			break;
		default:
			log_info("%s: shutting down", strsignal(si.ssi_signo));
			go_on = false;
		}
	}
	return go_on;
}

static void spawn(struct master *m, int fd, bool is_unix)
{
	char peer[PEER_NAME_MAX];
	int one = 1;
	pid_t pid;

	/* Requests and replies are small messages: no Nagle delay. */
	if (!is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	peer_name(fd, peer, sizeof(peer));
	pid = fork();
	if (pid < 0) {
		log_error("cannot fork a worker for %s: %s", peer, strerror(errno));
		close(fd);
		return;
	}
	if (pid == 0)
		worker_run(fd, peer, &m->setup);	/* never returns */
	close(fd);
	log_info("connection from %s: worker %d", peer, (int)pid);
	if (add_worker(m, pid) < 0)
		log_error("out of memory tracking worker %d", (int)pid);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A resource shortage lasts: say so once, then every few seconds with a
 * count, not five times a second. */
static void log_shortage(struct master *m, const struct listener *l, int err)
{
	int64_t now = now_ms();

	m->shortages++;
	if (m->shortage_logged_at && now - m->shortage_logged_at < SHORTAGE_LOG_MS)
		return;
	log_error("accept on %s: %s: pausing %d ms between tries (%u so far)",
		  l->name, strerror(err), ACCEPT_BACKOFF_MS, m->shortages);
	m->shortage_logged_at = now;
}

/* Accepts what is waiting on one listener. Returns the milliseconds to
 * stop accepting for (0: none). */
static int accept_ready(struct master *m, const struct listener *l)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			if (m->shortages)
				log_info("accepting again after %u refused tries", m->shortages);
			m->shortages = 0;
			m->shortage_logged_at = 0;
			spawn(m, fd, l->is_unix);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EAGAIN:
			return 0;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			log_shortage(m, l, errno);
			return ACCEPT_BACKOFF_MS;
		default:
			log_error("accept on %s: %s", l->name, strerror(errno));
			return ACCEPT_BACKOFF_MS;
		}
	}
	return 0;
}

static void signal_workers(struct master *m, int sig)
{
	for (size_t i = 0; i < m->nworkers; i++)
		if (kill(m->workers[i], sig) < 0 && errno != ESRCH)
			log_error("cannot send SIG%s to worker %d: %s", sigabbrev_np(sig),
				  (int)m->workers[i], strerror(errno));
}

/* Reaps workers for up to ms milliseconds, or until none is left. */
static void wait_workers(struct master *m, int ms)
{
	int64_t deadline = now_ms() + ms;
	struct pollfd pfd = { .fd = m->sigfd, .events = POLLIN };
	int64_t left;

	while (m->nworkers && (left = deadline - now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) > 0)
			handle_signals(m);
		reap(m);
	}
}

/* SIGTERM to every worker, a grace period, then SIGKILL. The master never
 * blocks here for good: a worker it cannot signal (a master without
 * CAP_KILL) still ends with the master, through the lifeline. */
static void end_workers(struct master *m)
{
	if (!m->nworkers)
		return;
	m->stopping = true;
	log_info("ending %zu worker%s", m->nworkers, m->nworkers == 1 ? "" : "s");
	signal_workers(m, SIGTERM);
	wait_workers(m, SHUTDOWN_GRACE_MS);
	if (!m->nworkers)
		return;
	for (size_t i = 0; i < m->nworkers; i++)
		log_warn("worker %d did not end: SIGKILL", (int)m->workers[i]);
	signal_workers(m, SIGKILL);
	wait_workers(m, 1000);
	if (m->nworkers)
		log_warn("%zu worker%s left to end with the master", m->nworkers,
			 m->nworkers == 1 ? "" : "s");
}

/* pfds[0] is the signalfd, pfds[1 + i] listener i. While accepting is
 * paused the listeners are left out of the poll. */
static int wait_events(struct master *m, struct pollfd *pfds, int64_t paused_until)
{
	int64_t now = now_ms();
	bool paused = now < paused_until;
	int rc;

	pfds[0] = (struct pollfd){ .fd = m->sigfd, .events = POLLIN };
	for (size_t i = 0; i < m->nls; i++)
		pfds[1 + i] = (struct pollfd){ .fd = paused ? -1 : m->ls[i].fd,
					       .events = POLLIN };
	rc = poll(pfds, 1 + m->nls, paused ? (int)(paused_until - now) : -1);
	if (rc < 0 && errno != EINTR) {
		log_error("poll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int master_run(struct master *m)
{
	struct pollfd *pfds = calloc(1 + m->nls, sizeof(*pfds));
	int64_t paused_until = 0;
	int rc = -1;

	if (!pfds) {
		log_error("out of memory");
		return -1;
	}
	for (;;) {
		if (wait_events(m, pfds, paused_until) < 0)
			goto out;
		if ((pfds[0].revents & POLLIN) && !handle_signals(m))
			break;
		for (size_t i = 0; i < m->nls; i++) {
			int pause_ms;

			if (!(pfds[1 + i].revents & POLLIN))
				continue;
			pause_ms = accept_ready(m, &m->ls[i]);
			if (pause_ms)
				paused_until = now_ms() + pause_ms;
		}
	}
	rc = 0;
out:
	free(pfds);
	/* New clients are refused from here on, before workers are ended. */
	listen_close_all(m->ls, m->nls, true);
	end_workers(m);
	return rc;
}
