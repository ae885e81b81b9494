/* SPDX-License-Identifier: MIT */
/*
 * One poll() over a signalfd, the listening sockets, the control socket
 * and every worker's lease socket. Signals arrive as data, so there is
 * no async handler, no race with fork, and no accept() interrupted
 * halfway.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lease.h"
#include "log.h"
#include "master.h"
#include "peer.h"
#include "worker.h"

/* After EMFILE and friends, stop accepting this long: the backlog keeps
 * the clients waiting instead of a busy loop spinning. */
#define ACCEPT_BACKOFF_MS	200
/* While accept() keeps failing for want of resources, log this often. */
#define SHORTAGE_LOG_MS		5000

static const int master_sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

/* The poll set, rebuilt for each poll(): the signalfd, the listeners,
 * the control socket, then the lease socket of each worker. Only open
 * descriptors go in, since poll() refuses more entries than
 * RLIMIT_NOFILE allows descriptors (EINVAL). tags[i] says whose entry i
 * is: a listener's or control entry's index, or a worker's pid. */
enum poll_kind { POLL_SIGNAL, POLL_LISTENER, POLL_CONTROL, POLL_WORKER };

struct poll_tag {
	enum poll_kind kind;
	long id;
};

struct poll_set {
	struct pollfd *pfds;
	struct poll_tag *tags;
	size_t n, cap;
	struct pollfd control[CONTROL_NPOLL];	/* as control_pollfds() made them */
};

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

int64_t master_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reload_on_signal(struct master *m)
{
	char summary[1024], err[1024];

	if (master_reload(m, summary, sizeof(summary), err, sizeof(err)) < 0)
		log_error("SIGHUP: reload failed, nothing changed: %s", err);
	else
		log_info("SIGHUP: reloaded: %s", summary);
}

/* Drains the signalfd: false once SIGTERM or SIGINT arrived. */
static bool handle_signals(struct master *m)
{
	struct signalfd_siginfo si;
	bool go_on = true;

	while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			master_reap(m);
			break;
		case SIGHUP:
			reload_on_signal(m);
			break;
		default:
			log_info("%s: shutting down", strsignal(si.ssi_signo));
			go_on = false;
		}
	}
	return go_on;
}

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
}

/* The lease socket of the next worker is made before its connection is
 * accepted: out of descriptors, a client then waits in the backlog
 * instead of being accepted only to be dropped. */
static pid_t fork_worker(struct master *m, int fd, const char *peer, int *master_end)
{
	int sv[2] = { m->spare[0], m->spare[1] };
	pid_t pid;

	m->spare[0] = m->spare[1] = -1;
	pid = fork();
	if (pid == 0) {
		struct worker_setup setup = {
			.table = &m->exports,
			.drop = m->drop,
			.handshake_timeout = m->cfg.handshake_timeout,
			.lifeline = &m->life,
			.lease_fd = sv[1],
		};

		shed_master_fds(m, sv[0]);
		worker_run(fd, peer, &setup);	/* never returns */
	}
	close(sv[1]);
	if (pid < 0)
		close(sv[0]);
	*master_end = sv[0];
	return pid;
}

static void spawn(struct master *m, int fd, bool is_unix)
{
	char peer[PEER_NAME_MAX];
	int one = 1, master_end;
	pid_t pid;

	/* Requests and replies are small messages: no Nagle delay. */
	if (!is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	peer_name(fd, peer, sizeof(peer));
	pid = fork_worker(m, fd, peer, &master_end);
	close(fd);
	if (pid < 0) {
		log_error("cannot start a worker for %s: %s", peer, strerror(errno));
		return;
	}
	log_info("connection from %s: worker %d", peer, (int)pid);
	if (worker_list_add(&m->workers, pid, master_end) < 0) {
		/* Untracked, it could hold a lease nobody counts. */
		log_error("out of memory tracking worker %d: ending it", (int)pid);
		kill(pid, SIGKILL);
		close(master_end);
	}
}

/* A resource shortage lasts: say so once, then every few seconds with a
 * count, not five times a second. */
static void log_shortage(struct master *m, const struct listener *l, int err)
{
	int64_t now = master_now_ms();

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
		int fd = -1;

		if (m->spare[0] < 0 && lease_socketpair(m->spare) < 0)
			m->spare[0] = m->spare[1] = -1;
		else
			fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

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

static int grow(struct poll_set *ps, size_t n)
{
	struct pollfd *pfds;
	struct poll_tag *tags;

	if (n <= ps->cap)
		return 0;
	pfds = realloc(ps->pfds, n * sizeof(*pfds));
	if (pfds)
		ps->pfds = pfds;
	tags = realloc(ps->tags, n * sizeof(*tags));
	if (tags)
		ps->tags = tags;
	if (!pfds || !tags)
		return -1;
	ps->cap = n;
	return 0;
}

static void add(struct poll_set *ps, int fd, short events, enum poll_kind kind, long id)
{
	ps->pfds[ps->n] = (struct pollfd){ .fd = fd, .events = events };
	ps->tags[ps->n++] = (struct poll_tag){ .kind = kind, .id = id };
}

/* While accepting is paused the listeners stay in, with fd -1. */
static int build_poll_set(struct master *m, struct poll_set *ps, bool paused)
{
	if (grow(ps, 1 + m->nls + CONTROL_NPOLL + m->workers.n) < 0)
		return -1;
	ps->n = 0;
	add(ps, m->sigfd, POLLIN, POLL_SIGNAL, 0);
	for (size_t i = 0; i < m->nls; i++)
		add(ps, paused ? -1 : m->ls[i].fd, POLLIN, POLL_LISTENER, i);
	control_pollfds(&m->control, ps->control, master_now_ms());
	for (size_t i = 0; i < CONTROL_NPOLL; i++)
		if (ps->control[i].fd >= 0)
			add(ps, ps->control[i].fd, ps->control[i].events, POLL_CONTROL, i);
	for (size_t i = 0; i < m->workers.n; i++)
		if (m->workers.v[i].fd >= 0)
			add(ps, m->workers.v[i].fd, POLLIN, POLL_WORKER, m->workers.v[i].pid);
	return 0;
}

static int poll_timeout(const struct master *m, int64_t paused_until)
{
	int64_t now = master_now_ms();
	int t = control_timeout(&m->control, now);
	int lease = master_lease_timeout(m, now);

	if (lease >= 0 && (t < 0 || lease < t))
		t = lease;
	if (now < paused_until && (t < 0 || paused_until - now < t))
		t = (int)(paused_until - now);
	return t;
}

static void service_accept(struct master *m, size_t i, int64_t *paused_until)
{
	int pause_ms = accept_ready(m, &m->ls[i]);

	if (pause_ms)
		*paused_until = master_now_ms() + pause_ms;
}

/* One round: false once the master should stop. Signals first, so that
 * a lease a dead worker held is free before the next request. */
static bool service(struct master *m, struct poll_set *ps, int64_t *paused_until)
{
	bool go_on = true;

	for (size_t i = 0; i < CONTROL_NPOLL; i++)
		ps->control[i].revents = 0;
	for (size_t i = 0; i < ps->n; i++) {
		const struct poll_tag *t = &ps->tags[i];

		if (t->kind == POLL_SIGNAL && (ps->pfds[i].revents & POLLIN))
			go_on = handle_signals(m);
		else if (t->kind == POLL_CONTROL)
			ps->control[t->id].revents = ps->pfds[i].revents;
	}
	master_lease_retry(m);
	for (size_t i = 0; i < ps->n; i++)
		if (ps->tags[i].kind == POLL_WORKER && ps->pfds[i].revents)
			master_lease_request(m, (pid_t)ps->tags[i].id);
	/* Also with no events: deadlines. */
	control_service(&m->control, ps->control, master_now_ms(),
			master_control_request, m);
	for (size_t i = 0; go_on && i < ps->n; i++)
		if (ps->tags[i].kind == POLL_LISTENER && (ps->pfds[i].revents & POLLIN))
			service_accept(m, ps->tags[i].id, paused_until);
	return go_on;
}

int master_run(struct master *m)
{
	struct poll_set ps = { 0 };
	int64_t paused_until = 0;
	int rc = -1;

	for (;;) {
		if (build_poll_set(m, &ps, master_now_ms() < paused_until) < 0) {
			log_error("out of memory");
			goto out;
		}
		if (poll(ps.pfds, ps.n, poll_timeout(m, paused_until)) < 0 && errno != EINTR) {
			/* Say, a limit lowered below what is open: wait, retry. */
			log_error("poll: %s: retrying in %d ms", strerror(errno),
				  ACCEPT_BACKOFF_MS);
			usleep(ACCEPT_BACKOFF_MS * 1000);
			continue;
		}
		if (!service(m, &ps, &paused_until))
			break;
	}
	rc = 0;
out:
	free(ps.pfds);
	free(ps.tags);
	free(m->waiting);
	m->waiting = NULL;
	m->nwaiting = 0;
	/* New clients are refused from here on, before workers are ended. */
	listen_close_all(m->ls, m->nls, true);
	control_close(&m->control, true);
	for (int i = 0; i < 2; i++)
		if (m->spare[i] >= 0)
			close(m->spare[i]);
	m->spare[0] = m->spare[1] = -1;
	master_end_workers(m);
	return rc;
}
