/* SPDX-License-Identifier: MIT */
/*
 * nbd-clientd: attaches NBD exports to /dev/nbdX and keeps them attached.
 *
 *   nbd-clientd [-f] [-c FILE] [-s SOCKET] [-M] [-v]
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
#include <unistd.h>

#include "control.h"
#include "control_client.h"
#include "device.h"
#include "device_state.h"
#include "devices_conf.h"
#include "kmod_load.h"
#include "common/log.h"
#include "netlink_call.h"
#include "supervisor.h"

/* How long SIGTERM waits for every device to flush and disconnect. */
#define SHUTDOWN_TIMEOUT_S	60

struct options {
	bool foreground;
	bool load_module;
	int verbose;
	const char *devices_file;
	bool devices_file_given;
	const char *socket;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nbd-clientd [-f] [-c FILE] [-s SOCKET] [-M] [-v]\n"
		"  -f, --foreground     stay in the foreground, log to stderr\n"
		"  -c, --config FILE    devices file (default %s)\n"
		"  -s, --socket PATH    control socket (default %s)\n"
		"  -M, --no-load-module do not load nbd (it is loaded or built in)\n"
		"  -v, --verbose        debug messages\n",
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

/* The devices file; a missing default one just means "none yet". */
static int read_devices(const struct options *o, struct devices_conf *conf)
{
	char err[1024];

	if (!o->devices_file_given && access(o->devices_file, F_OK) < 0 && errno == ENOENT) {
		log_info("no %s: no devices to attach until nbdctl attach", o->devices_file);
		*conf = (struct devices_conf){ 0 };
		return 0;
	}
	if (devices_conf_load(o->devices_file, conf, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/* Devices an earlier run left attached (it died without detaching
 * them): taken over before the devices file is read, so that the file's
 * entries for them find them served. */
static void adopt_devices(void)
{
	struct device **v;
	size_t n = device_state_load(&v);
	char err[512];

	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&device_lock);
		if (device_start_locked(v[i], err, sizeof(err)) < 0)
			log_error("%s: %s", v[i]->name, err);
		device_put_locked(v[i]);
		pthread_mutex_unlock(&device_lock);
	}
	free(v);
}

/* A devices-file entry that a taken-over device already serves: the
 * same device (or an [any] entry) with the same URI. */
static bool adopted_entry(const struct device_conf *dc)
{
	bool found = false;

	pthread_mutex_lock(&device_lock);
	for (struct device *d = device_first_locked(); d && !found; d = d->next)
		found = d->from_config && !strcmp(d->uri_text, dc->uri) &&
			!strcmp(d->spec, dc->device);
	pthread_mutex_unlock(&device_lock);
	return found;
}

static void start_devices(const struct devices_conf *conf)
{
	char err[512];

	for (size_t i = 0; i < conf->n; i++) {
		struct device *d;

		if (adopted_entry(&conf->v[i]))
			continue;
		d = device_new(&conf->v[i], true, err, sizeof(err));

		if (!d) {
			log_error("[%s]: %s", conf->v[i].device, err);
			continue;
		}
		pthread_mutex_lock(&device_lock);
		if (device_start_locked(d, err, sizeof(err)) < 0)
			log_error("[%s]: %s", conf->v[i].device, err);
		device_put_locked(d);
		pthread_mutex_unlock(&device_lock);
	}
}

/* Until SIGTERM or SIGINT: serve the control socket. */
static void main_loop(int lfd, int sfd)
{
	struct pollfd pfd[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
	struct signalfd_siginfo si;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
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
			log_info("SIGHUP: the devices file is read at start only; ignored");
			continue;
		}
		log_info("%s: detaching every device this daemon attached",
			 strsignal(si.ssi_signo));
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
	log_init("nbd-clientd", !o.foreground, o.verbose);
	if (geteuid() != 0) {
		log_error("must run as root (it binds block devices)");
		return 1;
	}
	sfd = setup_signals();
	if (sfd < 0) {
		log_error("signals: %s", strerror(errno));
		return 1;
	}
	if (read_devices(&o, &conf) < 0)
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
	if (o.load_module && kmod_load("nbd", err, sizeof(err)) < 0) {
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
		 nbd_nl_available() ? "netlink" : "ioctl (the kernel has no nbd netlink family)");
	adopt_devices();
	start_devices(&conf);
	devices_conf_free(&conf);
	main_loop(lfd, sfd);
	close(lfd);
	unlink(o.socket);
	devices_stop_all(SHUTDOWN_TIMEOUT_S);
	log_info("stopped");
	return 0;
}
