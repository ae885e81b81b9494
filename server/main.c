/* SPDX-License-Identifier: MIT */
/*
 * nbd-serverd: read the configuration, open every export and listening
 * socket while privileged, then hand over to the master loop. Anything
 * wrong with the configuration stops the server here, with exit status 1,
 * before it listens.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "config.h"
#include "daemon.h"
#include "export_list.h"
#include "export_open.h"
#include "lifeline.h"
#include "common/listen.h"
#include "common/log.h"
#include "master.h"
#include "privdrop.h"
#include "sandbox.h"
#include "common/service_notify.h"
#include "tls_kernel.h"
#include "tls_load.h"
#include "worker.h"

#define DEFAULT_CONFIG	CNBD_SYSCONFDIR "/cnbd/nbd-serverd.conf"

struct serverd_options {
	bool foreground;
	const char *config;
	const char *backend_dir;	/* overrides [server] backend-dir */
	int verbose;
	bool journal;			/* "<N>" priority prefixes on stderr */
	bool no_sandbox;		/* debugging under valgrind only */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: nbd-serverd [OPTION]...\n"
		"Serve block devices over the NBD protocol.\n\n"
		"  -f, --foreground       stay in the foreground and log to stderr\n"
		"  -c, --config FILE      configuration file (default %s)\n"
		"  -B, --backend-dir DIR  load backends from DIR (default %s)\n"
		"  -v, --verbose          log debug messages too\n"
		"      --journal          prefix log lines with their priority, as\n"
		"                         journald reads them (the default when stderr\n"
		"                         is the journal)\n"
		"      --no-sandbox       run workers without their seccomp filter, for\n"
		"                         valgrind, which cannot run under one; never\n"
		"                         in production\n"
		"      --help             show this help and exit\n"
		"      --version          show the version and exit\n\n"
		"Without a configuration file it serves a 1 GiB memory export named\n"
		"'default' on 127.0.0.1:10809. See nbd-serverd(8).\n",
		DEFAULT_CONFIG, CNBD_BACKENDDIR);
}

static int parse_args(int argc, char **argv, struct serverd_options *o)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "backend-dir", required_argument, NULL, 'B' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "journal", no_argument, NULL, 'J' },
		{ "no-sandbox", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "fc:B:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->foreground = true; break;
		case 'c': o->config = optarg; break;
		case 'B': o->backend_dir = optarg; break;
		case 'v': o->verbose++; break;
		case 'J': o->journal = true; break;
		case 'S': o->no_sandbox = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("nbd-serverd (cnbd) %s\n", CNBD_VERSION); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nbd-serverd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The file reloads re-read: absolute, since a daemon works from "/". */
static int config_path(const struct serverd_options *o, char **path)
{
	const char *given = o->config;

	*path = NULL;
	if (!given && access(DEFAULT_CONFIG, F_OK) < 0)
		return 0;	/* the built-in configuration */
	if (!given)
		given = DEFAULT_CONFIG;
	*path = realpath(given, NULL);
	if (!*path) {
		log_error("%s: %s", given, strerror(errno));
		return -1;
	}
	return 0;
}

static int load_config(const struct serverd_options *o, const char *path,
		       struct server_config *cfg)
{
	char err[1024];
	int rc;

	if (path) {
		rc = config_parse_file(path, cfg, err, sizeof(err));
	} else {
		log_info("no configuration file %s: serving a 1 GiB memory export 'default' on %s",
			 DEFAULT_CONFIG, CONFIG_DEFAULT_LISTEN);
		rc = config_builtin(cfg, err, sizeof(err));
	}
	if (rc < 0) {
		log_error("%s", err);
		return -1;
	}
	if (o->backend_dir) {
		free(cfg->backend_dir);
		cfg->backend_dir = strdup(o->backend_dir);
		if (!cfg->backend_dir) {
			log_error("out of memory");
			return -1;
		}
	}
	return 0;
}

/* Sockets systemd passed stand for the listen lines (activation.h). */
static int adopt_listeners(struct master *m)
{
	char err[512];

	if (m->activated < 0) {
		log_error("socket activation: LISTEN_FDS is not a number of descriptors");
		return -1;
	}
	if (activation_adopt(m->activated, &m->ls, &m->nls, err, sizeof(err)) < 0) {
		log_error("socket activation: %s", err);
		return -1;
	}
	log_info("socket activation: serving the %d socket%s systemd passed; the configuration's listen lines are not opened",
		 m->activated, m->activated == 1 ? "" : "s");
	for (size_t i = 0; i < m->nls; i++)
		log_info("listening on %s (from systemd)", m->ls[i].name);
	return 0;
}

static int open_listeners(const struct server_config *cfg, struct master *m)
{
	char err[512];

	if (m->activated)
		return adopt_listeners(m);
	for (size_t i = 0; i < cfg->nlisten; i++) {
		if (listen_open(cfg->listen[i], cfg->unix_mode, &m->ls, &m->nls,
				err, sizeof(err)) < 0) {
			log_error("%s", err);
			listen_close_all(m->ls, m->nls, true);
			return -1;
		}
	}
	for (size_t i = 0; i < m->nls; i++)
		log_info("listening on %s", m->ls[i].name);
	return 0;
}

/* A control socket the configuration names must open. The default one
 * is a convenience for root: without it the server still serves. */
static int open_control(struct master *m)
{
	const struct server_config *cfg = &m->cfg;
	char err[512];

	if (!cfg->control || (!cfg->control_given && !m->root))
		return 0;
	if (control_open(&m->control, cfg->control, err, sizeof(err)) == 0) {
		log_info("control socket on %s", cfg->control);
		return 0;
	}
	if (cfg->control_given) {
		log_error("%s", err);
		return -1;
	}
	log_warn("%s: running without a control socket (set control = PATH or off)", err);
	return 0;
}

static int prepare(const struct serverd_options *o, struct master *m,
		   struct privdrop_target *drop)
{
	struct server_config *cfg = &m->cfg;
	char err[1024];

	m->root = geteuid() == 0;
	if (load_config(o, m->config_path, cfg) < 0)
		return -1;
	if (!m->root)
		log_warn("not running as root: workers keep this user's privileges (no privilege drop)");
	if (privdrop_resolve(cfg->user, cfg->user_given, CONFIG_FALLBACK_USER,
			     drop, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	/* As root and before any fork: the key may be readable by root only. */
	if (tls_load(cfg, &m->tls, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (cfg->tls.mode != CNBD_TLS_OFF) {
		tls_describe(&cfg->tls, err, sizeof(err));
		log_info("%s", err);
		tls_kernel_wanted(&cfg->tls);	/* with auto: asked (and said) now, as root */
	}
	if (export_open_all(cfg, m->root, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	/* From here on the table owns the exports; cfg keeps the rest. */
	if (export_list_adopt(&m->exports, cfg) < 0) {
		log_error("out of memory");
		export_close_all(cfg);
		return -1;
	}
	return 0;
}

/* The workers' filters, once for every worker to come. */
static int compile_sandboxes(struct master *m)
{
	static const unsigned needs[2] = { 0, SANDBOX_NEEDS_NETWORK };

	for (int i = 0; i < 2; i++) {
		if (sandbox_program(needs[i], m->sandbox_prog[i], sizeof(m->sandbox_prog[i]),
				    &m->sandbox_len[i]) < 0) {
			log_error("cannot compile the workers' seccomp filter: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void cleanup(struct master *m)
{
	listen_close_all(m->ls, m->nls, true);
	control_close(&m->control, true);
	export_close_list(&m->exports);
	export_list_free(&m->exports);
	config_free(&m->cfg);
	cnbd_tls_free(m->tls);
	worker_list_free(&m->workers);
	stats_table_free(&m->stats);
	if (m->stats_dir >= 0)
		close(m->stats_dir);
	free(m->stats_dir_for);
	listen_free(m->ls, m->nls);
	if (m->self_exe >= 0)
		close(m->self_exe);
}

int main(int argc, char **argv)
{
	struct serverd_options o = { 0 };
	struct privdrop_target drop;
	struct master m = { .sigfd = -1, .life = { -1, -1 }, .drop = &drop,
			    .waiting_fd = -1, .self_exe = -1, .stats_dir = -1 };
	char *path = NULL;
	int rc = 1;

	/* A worker is this program started afresh by the master. */
	if (argc > 1 && !strcmp(argv[1], "--worker"))
		return worker_main(argc, argv);

	/* Whatever the starting process left open would reach every worker:
	 * keep only stdin, stdout and stderr (as sshd does with closefrom),
	 * and the sockets systemd passed, which follow them. */
	m.activated = activation_count();
	close_range(3 + (m.activated > 0 ? m.activated : 0), ~0U, 0);
	if (parse_args(argc, argv, &o) < 0)
		return 1;
	log_init("nbd-serverd", false, o.verbose);
	if (o.journal)
		log_set_journal(true);
	/* A client that vanishes mid-reply must not kill anyone. */
	signal(SIGPIPE, SIG_IGN);
	export_list_init(&m.exports);
	control_init(&m.control);
	if (config_path(&o, &path) < 0)
		return 1;
	m.config_path = path;
	m.backend_dir = o.backend_dir;
	m.no_sandbox = o.no_sandbox;
	if (o.no_sandbox)
		log_warn("--no-sandbox: workers run WITHOUT their seccomp filter: a compromised worker can open files, start processes and signal other workers");
	if (prepare(&o, &m, &drop) < 0 || open_listeners(&m.cfg, &m) < 0 ||
	    open_control(&m) < 0)
		goto out;
	m.sigfd = master_signals();
	if (m.sigfd < 0) {
		log_error("cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	if (lifeline_create(&m.life) < 0)
		goto out;
	/* Workers run the program this master runs, even if its file is
	 * replaced (an upgrade) while it runs. */
	if (compile_sandboxes(&m) < 0)
		goto out;
	m.self_exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (m.self_exe < 0) {
		log_error("cannot open /proc/self/exe, which workers run: %s", strerror(errno));
		goto out;
	}
	if (!o.foreground && daemonize(m.cfg.pidfile) < 0)
		goto out;
	if (o.foreground && m.cfg.pidfile && pidfile_write(m.cfg.pidfile) < 0)
		goto out;
	log_info("nbd-serverd %s: %zu export%s%s%s", CNBD_VERSION, m.exports.n,
		 m.exports.n == 1 ? "" : "s", drop.enabled ? ", workers run as " : "",
		 drop.enabled ? drop.user : "");
	/* Every socket listens: a client that connects now is served. */
	service_notify_ready();
	rc = master_run(&m) == 0 ? 0 : 1;
	pidfile_remove(m.cfg.pidfile);
out:
	cleanup(&m);
	free(path);
	return rc;
}
