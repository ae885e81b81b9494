/* SPDX-License-Identifier: MIT */
/*
 * The child side of fork. Order matters: first shed what belongs to the
 * master (the master closed its descriptors before calling us; signal
 * handling here), then drop privileges, and only then let the engine
 * read the first byte the client sent.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "lease.h"
#include "lifeline.h"
#include "log.h"
#include "serve.h"
#include "worker.h"

static const struct cnbd_export *hook_find(void *ctx, const char *name)
{
	const struct worker_setup *w = ctx;

	return export_list_find(w->table, name);
}

static const struct cnbd_export *hook_at(void *ctx, size_t index)
{
	const struct worker_setup *w = ctx;

	return export_list_at(w->table, index);
}

/* The master keeps the count (and logs refusals); it frees the lease
 * when it reaps us. */
static int hook_acquire(void *ctx, const struct cnbd_export *exp,
			char *why, size_t whylen)
{
	const struct worker_setup *w = ctx;

	return lease_ask(w->lease_fd, exp, why, whylen);
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
		.ctx = (void *)w,
		.find_export = hook_find,
		.export_at = hook_at,
		.acquire = hook_acquire,
	};
	struct cnbd_serve_options opts = {
		.handshake_timeout = w->handshake_timeout,
		.tls = w->tls,
		.tls_mode = w->tls_mode,
	};
	char prefix[128];

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
