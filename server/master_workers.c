/* SPDX-License-Identifier: MIT */
/* The master's side of its workers' lives: reaping (which ends their
 * leases), signalling, and ending them all at shutdown. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "master.h"
#include "sandbox.h"

/* At shutdown, how long workers get to finish after SIGTERM. */
#define SHUTDOWN_GRACE_MS	5000

static void log_exit(const struct master *m, const struct worker *w, pid_t pid, int status)
{
	char *name;

	if (w && w->sandbox_syscall >= 0) {
		name = sandbox_syscall_name(w->sandbox_arch, w->sandbox_syscall);
		log_warn("worker %d ended by its sandbox: it called %s", (int)pid,
			 name ? name : "a forbidden system call");
		free(name);
		return;
	}
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

void master_reap(struct master *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct worker *w = worker_list_get(&m->workers, pid);

		if (w) {
			master_monitor_last_words(m, w);
			w = worker_list_get(&m->workers, pid);
		}
		if (w)	/* its last counts, before its page goes */
			master_stats_fold(m, w);
		log_exit(m, w, pid, status);
		if (w && w->lease)
			log_debug("worker %d: lease on '%s' ended", (int)pid, w->lease);
		worker_list_remove(&m->workers, pid);
	}
}

size_t master_signal_workers(struct master *m, const char *name, int sig)
{
	size_t sent = 0;

	for (size_t i = 0; i < m->workers.n; i++) {
		const struct worker *w = &m->workers.v[i];

		if (name && (!w->lease || strcmp(w->lease, name)))
			continue;
		if (kill(w->pid, sig) == 0)
			sent++;
		else if (errno != ESRCH)
			log_error("cannot send SIG%s to worker %d: %s", sigabbrev_np(sig),
				  (int)w->pid, strerror(errno));
	}
	return sent;
}

/* Reaps workers for up to ms milliseconds, or until none is left. */
static void wait_workers(struct master *m, int ms)
{
	int64_t deadline = master_now_ms() + ms;
	struct pollfd pfd = { .fd = m->sigfd, .events = POLLIN };
	struct signalfd_siginfo si;
	int64_t left;

	while (m->workers.n && (left = deadline - master_now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) > 0)
			while (read(m->sigfd, &si, sizeof(si)) == sizeof(si))
				;
		master_reap(m);
	}
}

/* The master never blocks here for good: a worker it cannot signal (a
 * master without CAP_KILL) still ends with the master, through the
 * lifeline. */
void master_end_workers(struct master *m)
{
	size_t n = m->workers.n;

	if (!n)
		return;
	m->stopping = true;
	log_info("ending %zu worker%s", n, n == 1 ? "" : "s");
	master_signal_workers(m, NULL, SIGTERM);
	wait_workers(m, SHUTDOWN_GRACE_MS);
	if (!m->workers.n)
		return;
	for (size_t i = 0; i < m->workers.n; i++)
		log_warn("worker %d did not end: SIGKILL", (int)m->workers.v[i].pid);
	master_signal_workers(m, NULL, SIGKILL);
	wait_workers(m, 1000);
	n = m->workers.n;
	if (n)
		log_warn("%zu worker%s left to end with the master", n, n == 1 ? "" : "s");
}
