/* SPDX-License-Identifier: MIT */
/*
 * The master: accept, fork, reap, answer lease requests, serve the
 * control socket and reload the configuration. It never reads a byte a
 * client sent, and never blocks on a worker or a control client.
 */
#ifndef CNBD_SERVER_MASTER_H
#define CNBD_SERVER_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "control_socket.h"
#include "export_list.h"
#include "lifeline.h"
#include "common/listen.h"
#include "log_rate.h"
#include "monitor.h"
#include "privdrop.h"
#include "stats.h"
#include "common/service_notify.h"
#include "worker_list.h"

struct lease_wait;

struct master {
	/* What it serves */
	struct server_config cfg;	/* the settings in force; no exports */
	struct export_list exports;
	const char *config_path;	/* NULL: the built-in configuration */
	const char *backend_dir;	/* -B, overriding backend-dir; or NULL */
	bool root;
	const struct privdrop_target *drop;
	struct cnbd_tls *tls;		/* as cfg.tls says; NULL: tls = off */
	int self_exe;			/* this program, for workers to run */
	bool no_sandbox;		/* --no-sandbox: workers without seccomp */
	/* The workers' seccomp programs, compiled once at start: [0]
	 * serving only, [1] with SANDBOX_NEEDS_NETWORK. */
	unsigned char sandbox_prog[2][16384];
	size_t sandbox_len[2];

	/* Its descriptors, none of which a worker keeps */
	struct listener *ls;
	size_t nls;
	int activated;			/* sockets systemd passed (activation.h) */
	int sigfd;			/* signalfd for SIGCHLD, SIGTERM, SIGINT, SIGHUP */
	struct lifeline life;
	struct control control;		/* control.fd -1: none */
	int waiting_fd;			/* accepted, waiting for a lease socket */
	bool waiting_unix;
	struct acl_peer waiting_peer;	/* who waiting_fd is */
	int64_t paused_until;		/* ms: a shortage paused accepting */

	struct worker_list workers;
	struct lease_wait *waiting;	/* lease requests waiting for room */
	size_t nwaiting;
	bool stopping;			/* workers are being ended */
	unsigned shortages;		/* accept() refusals (EMFILE...) in a row */
	int64_t shortage_logged_at;	/* ms, CLOCK_MONOTONIC; 0: not yet */
	bool at_max_workers;		/* said once per episode */
	struct log_rate worker_log;	/* lines a worker's requests cause */
	struct log_rate refusal_log;	/* exports' allow/deny lists refusing */
	struct log_rate accept_log;	/* [server] allow/deny refusing at accept */
	struct stats_table stats;	/* per export, by name */
	int64_t stats_written_at;	/* ms: statistics-file last written */
	int stats_dir;			/* its directory; -1: not open */
	char *stats_dir_for;		/* the statistics-file it was opened for */
	struct service_status status;	/* the STATUS= line systemd has */
};

/* Blocks the signals the master handles and returns a signalfd for them
 * (-1 on error). Call before any fork. */
int master_signals(void);

/* Runs until SIGTERM or SIGINT; then ends the workers. 0 on a clean
 * shutdown. */
int master_run(struct master *m);

int64_t master_now_ms(void);

/* master_accept.c */
/* Starts a worker for the client's fd (closed here), who is *id (moved
 * into the worker's record, or freed); see worker_spawn.h. */
int master_start_worker(struct master *m, int fd, struct acl_peer *id, const char *peer,
			bool tls_first, bool no_zeroes);
/* True (and said once) while max-workers are running. */
bool master_at_max_workers(struct master *m);
/* Accepts what waits on l and starts a worker for each connection. */
void master_accept(struct master *m, const struct listener *l);
/* Starts the worker of the connection waiting for a lease socket, if
 * one can be made now; -1 (and accepting paused) if not. */
int master_start_waiting(struct master *m);

/* master_workers.c */
/* Reaps every worker that has ended, ending its lease. */
void master_reap(struct master *m);
/* Sends sig to every worker holding a lease on the export called name
 * (every worker when name is NULL); returns how many were sent it. */
size_t master_signal_workers(struct master *m, const char *name, int sig);
/* At shutdown: SIGTERM, a grace period, then SIGKILL. */
void master_end_workers(struct master *m);

/* master_monitor.c: answers one message from the worker's monitor
 * socket (monitor.h). */
void master_monitor_read(struct master *m, pid_t pid);
/* Reads what an ended worker left: a hand-off, its sandbox's report. */
void master_monitor_last_words(struct master *m, struct worker *w);
/* The one answer being built (the master answers one request at a
 * time, and each answer is sent before the next is begun): its header
 * cleared, its type set. Large: 64 KiB of payload room. */
struct mon_reply *master_reply(uint32_t type);
/* Sends r and the descriptors to w; a worker that does not read only
 * loses its answer. */
void master_monitor_answer(struct master *m, struct worker *w,
			   const struct mon_reply *r, const int *fds, size_t nfds);
/* Whether exp's allow and deny lists admit w's client. */
bool master_admits(const struct worker *w, const struct cnbd_export *exp);
/* What LIST and INFO may show of exp to worker w. */
void master_describe(const struct master *m, const struct worker *w,
		     const struct cnbd_export *exp, struct mon_export *out);

/* master_tls.c: MON_TLS_PUBLIC, MON_SIGN and MON_PSK. */
void master_tls_request(struct master *m, struct worker *w, const struct mon_request *rq);

/* master_lease.c: a MON_LEASE request. */
void master_lease_request(struct master *m, struct worker *w,
			  const struct mon_request *rq);
/* Answers waiting requests that now fit, or whose wait is over. */
void master_lease_retry(struct master *m);
/* Milliseconds until the first waiting request times out; -1: none. */
int master_lease_timeout(const struct master *m, int64_t now);

/* master_stats.c (stats.h): the counting. */
struct stats_entry *stats_table_get(struct stats_table *t, const char *name);
void stats_table_free(struct stats_table *t);
/* w was granted its lease: its counting starts. */
void master_stats_leased(struct master *m, struct worker *w);
/* Adds what w's page says it did since the last fold to its export. */
void master_stats_fold(struct master *m, struct worker *w);
/* Every worker folded, an entry for every export, none for the gone. */
void master_stats_fold_all(struct master *m);
/* What w's connection did since its lease (as last folded); false when
 * it is not counted. */
bool master_stats_connection(const struct worker *w, struct stats_counters *out);

/* stats_prom.c: the Prometheus text exposition of the export totals
 * (folded first), as a NUL-terminated buffer to free; NULL when out of
 * memory. */
char *master_stats_prometheus(struct master *m);
/* statistics-file: the ms until it is due (0: now; -1: no file), and
 * writing it when it is. */
int master_stats_file_timeout(const struct master *m, int64_t now);
void master_stats_file_tick(struct master *m);
/* master_status.c: the STATUS= line (exports, connections) sent if it
 * changed; returns the ms until a change held back is due, or -1. */
int master_status_update(struct master *m);

/* reload.c: re-reads the files. 0, or -1 with "file:line: reason" in
 * err and nothing changed. summary tells what changed. */
int master_reload(struct master *m, char *summary, size_t slen,
		  char *err, size_t errlen);

/* control_stats.c: "stats [NAME | --prometheus]" (words[0] is "stats"). */
void master_control_stats(struct master *m, char **words, size_t n,
			  struct control_reply *r);

/* control_verbs.c: the control socket's requests. */
void master_control_request(void *master, char *line, struct control_reply *r);

#endif
