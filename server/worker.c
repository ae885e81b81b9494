/* SPDX-License-Identifier: MIT */
/*
 * The child side of fork. Order matters: first shed what belongs to the
 * master (signal handling, listening sockets), then drop privileges, and
 * only then let the engine read the first byte the client sent.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "lifeline.h"
#include "log.h"
#include "serve.h"
#include "worker.h"

static const struct cnbd_export *hook_find(void *ctx, const char *name)
{
	return export_list_find(ctx, name);
}

static const struct cnbd_export *hook_at(void *ctx, size_t index)
{
	return export_list_at(ctx, index);
}

/* The master blocks these for its signalfd; a worker wants the default
 * actions back, so that the master's SIGTERM ends it. SIGPIPE stays
 * ignored: a vanished client is an error return, not a death. */
static void reset_signals(void)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		signal(sigs[i], SIG_DFL);
		sigaddset(&mask, sigs[i]);
	}
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
}

void worker_run(int fd, const char *peer, const struct worker_setup *w)
{
	struct cnbd_serve_hooks hooks = {
		.ctx = (void *)w->table,
		.find_export = hook_find,
		.export_at = hook_at,
	};
	struct cnbd_serve_options opts = {
		.handshake_timeout = w->handshake_timeout,
	};
	char prefix[128];

	for (size_t i = 0; i < w->nmaster_fds; i++)
		close(w->master_fds[i]);
	reset_signals();
	snprintf(prefix, sizeof(prefix), "worker %d %s", (int)getpid(), peer);
	log_set_prefix(prefix);
	if (privdrop_apply(w->drop) < 0) {
		log_error("not serving this connection: privilege drop failed");
		close(fd);
		_exit(2);
	}
	/* A worker outliving its master would serve outside anything the
	 * next master knows (leases, removed exports). */
	if (lifeline_watch(w->lifeline) < 0) {
		close(fd);
		_exit(1);
	}
	_exit(cnbd_serve_connection(fd, &hooks, &opts) == 0 ? 0 : 1);
}
