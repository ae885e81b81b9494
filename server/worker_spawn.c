/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend_load.h"
#include "common/log.h"
#include "master.h"
#include "tls_kernel.h"
#include "worker_spawn.h"

#define MAX_ARGS	(24 + 2 * 64)
#define MAX_KEEP	(WORKER_FD_BACKENDS + 64)

extern char **environ;

/* The sanitizers' settings are all a worker takes from the environment:
 * nothing else the master was started with reaches it. GnuTLS is not
 * set up when the program starts (most workers never use it, and its
 * set-up was the largest part of a worker's start): a worker that does
 * TLS sets it up itself, before its sandbox closes. */
static void worker_environment(char **env, size_t max)
{
	static const char *const keep[] = { "ASAN_OPTIONS=", "UBSAN_OPTIONS=",
					    "LSAN_OPTIONS=", NULL };
	static char no_tls_init[] = "GNUTLS_NO_IMPLICIT_INIT=1";
	size_t n = 0;

	env[n++] = no_tls_init;
	for (char **e = environ; *e && n + 1 < max; e++)
		for (const char *const *k = keep; *k; k++)
			if (!strncmp(*e, *k, strlen(*k)))
				env[n++] = *e;
	env[n] = NULL;
}

static size_t worker_arguments(const struct master *m, const struct worker_start *ws,
			       char **argv, char *timeout, char *mode, size_t nbackends)
{
	size_t n = 0;

	argv[n++] = "nbd-serverd";
	argv[n++] = "--worker";
	argv[n++] = "--peer";
	argv[n++] = (char *)ws->peer;
	snprintf(timeout, 16, "%d", m->cfg.handshake_timeout);
	argv[n++] = "--handshake-timeout";
	argv[n++] = timeout;
	snprintf(mode, 16, "%d", m->tls ? (int)m->cfg.tls.mode : (int)CNBD_TLS_OFF);
	argv[n++] = "--tls-mode";
	argv[n++] = mode;
	if (ws->tls_first)
		argv[n++] = "--tls-first";
	if (ws->tls_first && tls_kernel_wanted(&m->cfg.tls))
		argv[n++] = "--tls-kernel";
	if (ws->no_zeroes)
		argv[n++] = "--no-zeroes";
	if (log_debug_enabled())
		argv[n++] = "--verbose";
	if (log_syslog_enabled())
		argv[n++] = "--syslog";
	if (log_journal_enabled())
		argv[n++] = "--journal";
	if (m->no_sandbox)
		argv[n++] = "--no-sandbox";
	if (ws->stats_fd >= 0)
		argv[n++] = "--stats";
	for (size_t i = 0; i < nbackends; i++) {
		const char *name;
		int fd;

		backend_loaded_at(i, &name, &fd);
		argv[n++] = "--backend";
		argv[n++] = (char *)name;
	}
	argv[n] = NULL;
	return n;
}

/* Puts keep[i] at descriptor i (for i >= 3) and closes everything else.
 * Each goes first above the range it is moved into, so that no move
 * overwrites a descriptor still to be moved. */
static int arrange_fds(int *keep, size_t n)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		return -1;
	for (size_t i = 3; i < n; i++)
		if (keep[i] < 0)	/* nothing to give there */
			keep[i] = null;
	for (size_t i = 3; i < n; i++) {
		keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, (int)n);
		if (keep[i] < 0)
			return -1;
	}
	for (size_t i = 3; i < n; i++)
		if (dup2(keep[i], (int)i) < 0)	/* the copy is not close-on-exec */
			return -1;
	return close_range((unsigned)n, ~0U, 0);
}

/* The child of fork: never returns. Until the exec it is the master's
 * copy, so it does nothing but arrange and drop. */
__attribute__((noreturn))
static void become_worker(const struct master *m, const struct worker_start *ws)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	char *argv[MAX_ARGS], *env[8], timeout[16], mode[16];
	size_t nbackends = backend_loaded_count();
	int keep[MAX_KEEP];
	sigset_t mask;

	if (nbackends > MAX_KEEP - WORKER_FD_BACKENDS - 1)
		nbackends = MAX_KEEP - WORKER_FD_BACKENDS - 1;
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		signal(sigs[i], SIG_DFL);
		sigaddset(&mask, sigs[i]);
	}
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	keep[WORKER_FD_CLIENT] = ws->client_fd;
	keep[WORKER_FD_MONITOR] = ws->monitor_fd;
	keep[WORKER_FD_LIFELINE] = m->life.rd;
	keep[WORKER_FD_STATS] = ws->stats_fd;
	for (size_t i = 0; i < nbackends; i++) {
		const char *name;

		backend_loaded_at(i, &name, &keep[WORKER_FD_BACKENDS + i]);
	}
	keep[WORKER_FD_BACKENDS + nbackends] = m->self_exe;
	worker_arguments(m, ws, argv, timeout, mode, nbackends);
	worker_environment(env, sizeof(env) / sizeof(env[0]));
	if (arrange_fds(keep, WORKER_FD_BACKENDS + nbackends + 1) < 0) {
		log_error("worker for %s: cannot arrange its descriptors: %s", ws->peer,
			  strerror(errno));
		_exit(2);
	}
	/* The program itself must not reach the worker as a descriptor. */
	fcntl(WORKER_FD_BACKENDS + (int)nbackends, F_SETFD, FD_CLOEXEC);
	if (privdrop_apply(m->drop) < 0) {
		log_error("not serving %s: privilege drop failed", ws->peer);
		_exit(2);
	}
	fexecve(WORKER_FD_BACKENDS + (int)nbackends, argv, env);
	log_error("worker for %s: cannot execute nbd-serverd: %s", ws->peer, strerror(errno));
	_exit(2);
}

pid_t worker_spawn(struct master *m, const struct worker_start *ws)
{
	pid_t pid = fork();

	if (pid == 0)
		become_worker(m, ws);
	return pid;
}
