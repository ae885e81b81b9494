/* SPDX-License-Identifier: MIT */
/*
 * nbd-clientd: attaches NBD exports to /dev/nbdX and keeps them attached.
 *
 *   nbd-clientd [-f] [-c FILE] [-s SOCKET] [-M] [-v] [--journal] [--systemd-mark]
 *
 * Runs as root. Loads the nbd module (libkmod, so modprobe.d applies),
 * starts a supervisor per entry of the devices file, answers nbdctl on
 * the control socket, and on SIGTERM flushes and disconnects every
 * device it attached -- and only those.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cnbd/attach.h>

#include "control.h"
#include "control_client.h"
#include "device.h"
#include "device_state.h"
#include "device_status.h"
#include "devices_apply.h"
#include "devices_conf.h"
#include "common/log.h"
#include "common/service_notify.h"

/* How long SIGTERM waits for every device to flush and disconnect. */
#define SHUTDOWN_TIMEOUT_S	60

struct options {
	bool foreground;
	bool load_module;
	int verbose;
	const char *devices_file;
	bool devices_file_given;
	const char *socket;
	bool journal;
	bool systemd_mark;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nbd-clientd [-f] [-c FILE] [-s SOCKET] [-M] [-v] [--journal] [--systemd-mark]\n"
		"  -f, --foreground     stay in the foreground, log to stderr\n"
		"  -c, --config FILE    devices file (default %s)\n"
		"  -s, --socket PATH    control socket (default %s)\n"
		"  -M, --no-load-module do not load nbd (it is loaded or built in)\n"
		"  -v, --verbose        debug messages\n"
		"      --journal        prefix log lines with their priority, as journald\n"
		"                       reads them (the default when stderr is the journal)\n"
		"      --systemd-mark   mark the process ('@' in argv[0]) so that systemd\n"
		"                       spares it at shutdown: for a root file system on NBD\n",
		DEVICES_CONF_DEFAULT, CONTROL_DEFAULT_SOCKET);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "no-load-module", no_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "journal", no_argument, NULL, 'J' },
		{ "systemd-mark", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .load_module = true, .devices_file = DEVICES_CONF_DEFAULT,
			       .socket = CONTROL_DEFAULT_SOCKET };
	while ((c = getopt_long(argc, argv, "fc:s:MvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->foreground = true; break;
		case 'c': o->devices_file = optarg; o->devices_file_given = true; break;
		case 's': o->socket = optarg; break;
		case 'M': o->load_module = false; break;
		case 'v': o->verbose++; break;
		case 'J': o->journal = true; break;
		case 'm': o->systemd_mark = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("nbd-clientd %s\n", CNBD_VERSION); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reload_on_signal(void)
{
	char summary[512], err[1024];

	if (devices_reload(summary, sizeof(summary), err, sizeof(err)) < 0)
		log_error("SIGHUP: reload failed, nothing changed: %s", err);
	else
		log_info("SIGHUP: reloaded: %s", summary);
}

/* Under systemd, devices change state on their own threads: look once
 * a second, and let systemd know what changed. */
#define STATUS_POLL_MS	1000

/* Until SIGTERM or SIGINT: serve the control socket. */
static void main_loop(int lfd, int sfd)
{
	struct pollfd pfd[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
	struct service_status status = { .sent_at_ms = 0 };
	int timeout = service_notify_enabled() ? STATUS_POLL_MS : -1;
	struct signalfd_siginfo si;

	for (;;) {
		int due = device_status_update(&status, now_ms());

		if (poll(pfd, 2, due >= 0 && due < timeout ? due : timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return;
		}
		if (pfd[0].revents & POLLIN)
			control_accept(lfd);
		if (!(pfd[1].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			reload_on_signal();
			continue;
		}
		log_info("%s: detaching every device this daemon attached",
			 strsignal(si.ssi_signo));
		service_notify_stopping();
		return;
	}
}

static int setup_signals(void)
{
	sigset_t set;

	/* Blocked in every thread (they inherit the mask): NBD_DO_IT sleeps
	 * interruptibly, and a signal landing on its thread would shut the
	 * device's sockets. Signals are read from a signalfd instead. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

int main(int argc, char **argv)
{
	struct devices_conf conf;
	struct options o;
	char err[1024];
	int sfd, lfd;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	/* What nbd-client -systemd-mark does: systemd's last killing spree
	 * spares a root process whose argv[0] starts with '@'
	 * (systemd.io/ROOT_STORAGE_DAEMONS). */
	if (o.systemd_mark && argv[0][0])
		argv[0][0] = '@';
	log_init("nbd-clientd", !o.foreground, o.verbose);
	if (o.journal)
		log_set_journal(true);
	if (geteuid() != 0) {
		log_error("must run as root (it binds block devices)");
		return 1;
	}
	sfd = setup_signals();
	if (sfd < 0) {
		log_error("signals: %s", strerror(errno));
		return 1;
	}
	devices_apply_init(o.devices_file, o.devices_file_given);
	if (devices_read(&conf) < 0)
		return 1;
	device_state_init(o.socket);
	lfd = control_listen(o.socket, err, sizeof(err));
	if (lfd < 0) {
		log_error("%s", err);
		return 1;
	}
	/* After listening: loading the module makes udev run
	 * `nbdctl udev-add` for each new device, and those calls should
	 * find us. */
	if (o.load_module && cnbd_attach_load_module(err, sizeof(err)) < 0) {
		log_error("%s", err);
		unlink(o.socket);
		return 1;
	}
	/* Daemonize once the socket listens: whoever started us may talk
	 * to it as soon as we return. */
	if (!o.foreground && daemon(0, 0) < 0) {
		log_error("daemon: %s", strerror(errno));
		return 1;
	}
	log_info("started: %zu device(s) from %s, control socket %s, default binding %s",
		 conf.n, o.devices_file, o.socket,
		 cnbd_attach_have_netlink() ? "netlink" :
		 "ioctl (the kernel has no nbd netlink family)");
	devices_adopt();
	devices_start(&conf);
	devices_conf_free(&conf);
	/* Applied: every entry has its supervisor (attaching takes its own
	 * time; mounts wait for their devices, not for us). */
	service_notify_ready();
	main_loop(lfd, sfd);
	close(lfd);
	unlink(o.socket);
	devices_stop_all(SHUTDOWN_TIMEOUT_S);
	log_info("stopped");
	return 0;
}
