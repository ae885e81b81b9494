/* SPDX-License-Identifier: MIT */
/*
 * nbd-serverd --worker: one connection. Order matters, and each step
 * takes away something the next ones could misuse:
 *   1. the backends' code is loaded from the descriptors the master gave;
 *   2. the lifeline starts, so the worker never outlives the master;
 *   3. the sandbox closes: from here on the worker cannot open, execute,
 *      fork or signal anything (sandbox.h);
 *   4. only then is the first byte the client sent read.
 * Privileges were dropped before this program started (worker_spawn.c).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lifeline.h"
#include "common/log.h"
#include "monitor.h"
#include "sandbox.h"
#include "cnbd/serve.h"
#include "worker.h"
#include "worker_backends.h"
#include "worker_exports.h"
#include "worker_spawn.h"
#include "worker_stats.h"
#include "worker_tls.h"

#define MAX_BACKENDS	64

struct worker_args {
	const char *peer;
	int handshake_timeout;
	enum cnbd_tls_mode tls_mode;
	bool tls_first;
	bool tls_kernel;
	bool no_zeroes;
	bool verbose;
	bool syslog;
	bool journal;		/* the master's stderr is the journal */
	bool no_sandbox;
	bool stats;
	char *backends[MAX_BACKENDS];
	size_t nbackends;
};

static int parse_worker_args(int argc, char **argv, struct worker_args *a)
{
	static const struct option longopts[] = {
		{ "worker", no_argument, NULL, 'w' },
		{ "peer", required_argument, NULL, 'p' },
		{ "handshake-timeout", required_argument, NULL, 't' },
		{ "tls-mode", required_argument, NULL, 'm' },
		{ "tls-first", no_argument, NULL, 'F' },
		{ "tls-kernel", no_argument, NULL, 'K' },
		{ "no-zeroes", no_argument, NULL, 'z' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "syslog", no_argument, NULL, 's' },
		{ "journal", no_argument, NULL, 'j' },
		{ "no-sandbox", no_argument, NULL, 'S' },
		{ "stats", no_argument, NULL, 'C' },
		{ "backend", required_argument, NULL, 'b' },
		{ 0 }
	};
	int c;

	a->peer = "?";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'w': break;
		case 'p': a->peer = optarg; break;
		case 't': a->handshake_timeout = atoi(optarg); break;
		case 'm': a->tls_mode = (enum cnbd_tls_mode)atoi(optarg); break;
		case 'F': a->tls_first = true; break;
		case 'K': a->tls_kernel = true; break;
		case 'z': a->no_zeroes = true; break;
		case 'v': a->verbose = true; break;
		case 's': a->syslog = true; break;
		case 'j': a->journal = true; break;
		case 'S': a->no_sandbox = true; break;
		case 'C': a->stats = true; break;
		case 'b':
			if (a->nbackends == MAX_BACKENDS)
				return -1;
			a->backends[a->nbackends++] = optarg;
			break;
		default: return -1;
		}
	}
	return 0;
}

/* The connection after STARTTLS's ACK goes back to the master, which
 * starts a worker that begins with the TLS handshake; this one ends. */
static void hand_off_tls(void *ctx, int fd, bool no_zeroes)
{
	struct mon_request rq = { .type = MON_HAND_OFF, .flags = no_zeroes };
	int monitor = *(int *)ctx;

	if (monitor_send(monitor, &rq, sizeof(rq), &fd, 1) < 0)
		log_error("cannot hand the connection over for TLS: %m");
}

/* Every thread this worker will have runs now: from here on the kernel
 * refuses it any new task, thread or process. A backend that talks to
 * the network (librados) makes threads as it goes, so it is spared. */
static void serving(void *ctx)
{
	(void)ctx;
	if (worker_backends_flags() & CNBD_BACKEND_NEEDS_NETWORK)
		return;
	if (sandbox_limit_processes() < 0)
		log_warn("cannot set RLIMIT_NPROC to 0: %m");
}

static int serve(const struct worker_args *a)
{
	static int monitor = WORKER_FD_MONITOR;
	struct cnbd_serve_hooks hooks = { .ctx = &monitor, .serving = serving };
	struct cnbd_serve_options opts = {
		.handshake_timeout = a->handshake_timeout,
		.tls_mode = a->tls_mode,
		.tls_resumed = a->tls_first,
		.tls_kernel = a->tls_kernel,
		.no_zeroes = a->no_zeroes,
	};

	worker_exports_hooks(&hooks, WORKER_FD_MONITOR);
	worker_stats_hooks(&hooks);
	if (a->tls_mode != CNBD_TLS_OFF && !a->tls_first)
		hooks.hand_off_tls = hand_off_tls;
	if (a->tls_first) {
		opts.tls = worker_tls_new(WORKER_FD_MONITOR);
		if (!opts.tls)
			return -1;
	}
	return cnbd_serve_connection(WORKER_FD_CLIENT, &hooks, &opts);
}

/* The filter comes compiled from the master (compiling it here was a
 * fifth of a worker's start); loaded before the first client byte. */
static int enter_sandbox(void)
{
	static struct mon_request rq = { .type = MON_SANDBOX };
	static struct mon_reply r;

	rq.flags = worker_backends_flags() & CNBD_BACKEND_NEEDS_NETWORK ?
		   SANDBOX_NEEDS_NETWORK : 0;
	if (monitor_call(WORKER_FD_MONITOR, &rq, &r, NULL, NULL) < 0 || r.status) {
		log_error("the master gave no sandbox");
		return -1;
	}
	return sandbox_enter_program(r.data, r.len, WORKER_FD_MONITOR);
}

int worker_main(int argc, char **argv)
{
	struct worker_args a = { 0 };
	struct lifeline life = { .rd = WORKER_FD_LIFELINE, .wr = -1 };
	char prefix[128];

	signal(SIGPIPE, SIG_IGN);
	if (parse_worker_args(argc, argv, &a) < 0) {
		fprintf(stderr, "nbd-serverd --worker is started by nbd-serverd itself, not by hand\n");
		return 2;
	}
	prctl(PR_SET_NAME, "nbd-worker");
	log_init("nbd-serverd", a.syslog, a.verbose);
	/* Its environment is not the master's: it cannot see for itself. */
	log_set_journal(a.journal);
	snprintf(prefix, sizeof(prefix), "worker %d %s", (int)getpid(), a.peer);
	log_set_prefix(prefix);
	if (worker_backends_load(a.backends, a.nbackends, WORKER_FD_BACKENDS) < 0)
		return 2;
	if (lifeline_watch(&life) < 0)
		return 2;
	/* Uncounted rather than not served: the page is the master's
	 * business, the connection the client's. */
	if (a.stats && worker_stats_attach(WORKER_FD_STATS) < 0)
		log_warn("cannot map the statistics page: %m: this connection is not counted");
	if (a.tls_first && worker_tls_init() < 0)
		return 2;
	if (!a.no_sandbox && enter_sandbox() < 0) {
		log_error("not serving this connection: cannot enter the sandbox");
		return 2;
	}
	_exit(serve(&a) == 0 ? 0 : 1);
}
