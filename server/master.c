/* SPDX-License-Identifier: MIT */
/*
 * One poll() over a signalfd, the listening sockets, the control socket
 * and every worker's monitor socket. Signals arrive as data, so there is
 * no async handler, no race with fork, and no accept() interrupted
 * halfway.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "master.h"
#include "common/peer.h"
#include "common/service_notify.h"
#include "worker.h"

/* After a poll() failure, wait this long before the next try. */
#define POLL_RETRY_MS		200

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
			service_notify_stopping();
			go_on = false;
		}
	}
	return go_on;
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

static bool accept_paused(const struct master *m, int64_t now)
{
	return now < m->paused_until || m->waiting_fd >= 0;
}

/* status: when a STATUS= change held back is due (ms), or -1. */
static int poll_timeout(const struct master *m, int status)
{
	int64_t now = master_now_ms();
	int64_t paused_until = m->paused_until;
	int t = control_timeout(&m->control, now);
	int lease = master_lease_timeout(m, now);
	int stats = master_stats_file_timeout(m, now);

	if (lease >= 0 && (t < 0 || lease < t))
		t = lease;
	if (stats >= 0 && (t < 0 || stats < t))
		t = stats;
	if (status >= 0 && (t < 0 || status < t))
		t = status;
	/* At max-workers only a worker's end (SIGCHLD) makes room. */
	if (accept_paused(m, now) && !m->at_max_workers &&
	    (t < 0 || paused_until - now < t))
		t = paused_until > now ? (int)(paused_until - now) : 0;
	return t;
}

/* One round: false once the master should stop. Signals first, so that
 * a lease a dead worker held is free before the next request. */
static bool service(struct master *m, struct poll_set *ps)
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
			master_monitor_read(m, (pid_t)ps->tags[i].id);
	/* Also with no events: deadlines. */
	control_service(&m->control, ps->control, master_now_ms(),
			master_control_request, m);
	master_stats_file_tick(m);
	if (go_on && m->waiting_fd >= 0 && master_now_ms() >= m->paused_until)
		master_start_waiting(m);
	for (size_t i = 0; go_on && i < ps->n; i++)
		if (ps->tags[i].kind == POLL_LISTENER && (ps->pfds[i].revents & POLLIN))
			master_accept(m, &m->ls[ps->tags[i].id]);
	return go_on;
}

int master_run(struct master *m)
{
	struct poll_set ps = { 0 };
	int rc = -1, status;

	for (;;) {
		if (build_poll_set(m, &ps, accept_paused(m, master_now_ms())) < 0) {
			log_error("out of memory");
			goto out;
		}
		/* Whatever the last round changed, systemctl status shows. */
		status = master_status_update(m);
		if (poll(ps.pfds, ps.n, poll_timeout(m, status)) < 0 && errno != EINTR) {
			/* Say, a limit lowered below what is open: wait, retry. */
			log_error("poll: %s: retrying in %d ms", strerror(errno),
				  POLL_RETRY_MS);
			usleep(POLL_RETRY_MS * 1000);
			continue;
		}
		if (!service(m, &ps))
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
	if (m->waiting_fd >= 0)
		close(m->waiting_fd);
	m->waiting_fd = -1;
	acl_peer_free(&m->waiting_peer);
	master_end_workers(m);
	return rc;
}
