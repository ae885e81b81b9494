/* SPDX-License-Identifier: MIT */
/*
 * nbdctl attach URI [--device nbdN] [--connections N] [--readonly]
 *                   [--timeout SECONDS] [--binding netlink|ioctl]
 *                   [--dead-timeout SECONDS] [--negotiate-timeout SECONDS]
 *                   [--tls-mode kernel|relay|auto]
 * nbdctl detach nbdN [--force]
 * Both ask the client daemon, which owns every device it attaches.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_client.h"
#include "common/control_text.h"
#include "nbdctl.h"
#include "nbdctl_progress.h"
#include "attach/sysfs_nbd.h"
#include "clientlib/uri.h"

/* Connecting, negotiating and binding each have their own bounds in the
 * daemon; this only keeps nbdctl from waiting forever. */
#define ATTACH_TIMEOUT_S	120
#define DETACH_TIMEOUT_S	60

/* Kept, and printed once the status line is gone. */
static int note_device(void *opaque, const char *line)
{
	char *dev = opaque;

	return control_field(line, "device", dev, 64) < 0 ? -1 : 0;
}

struct watch {
	const struct nbdctl_options *opts;
	const char *uri;
};

/* The device an attach of this URI made (the newest, if several). */
static bool attaching(const char *line, void *arg)
{
	const struct watch *w = arg;
	char source[16], *uri = malloc(strlen(line) + 1);
	bool same;

	same = uri && control_field(line, "uri", uri, strlen(line) + 1) == 0 &&
	       !strcmp(uri, w->uri) &&
	       control_field(line, "source", source, sizeof(source)) == 0 &&
	       !strcmp(source, "nbdctl");
	free(uri);
	return same;
}

/* The status line's words: the device's state and last error. */
static void attach_refresh(void *opaque, char *detail, size_t len)
{
	struct watch *w = opaque;
	char err[256], *line = nbdctl_find_device(w->opts, attaching, w, err, sizeof(err));

	detail[0] = '\0';
	if (line)
		nbdctl_describe_device(line, detail, len);
	free(line);
}

static int parse_number(const char *what, const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > max) {
		fprintf(stderr, "nbdctl attach: %s '%s' is not a number up to %u\n",
			what, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

struct attach_args {
	const char *uri;
	const char *device;
	unsigned connections;
	bool readonly;
	bool have_timeout;
	unsigned timeout;
	const char *binding;
	bool have_dead_timeout;
	unsigned dead_timeout;
	unsigned negotiate_timeout;	/* 0: the daemon's default */
	const char *tls_mode;
};

/* 0, or the exit status for a usage error. */
static int parse_attach(int argc, char **argv, struct attach_args *a)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "connections", required_argument, NULL, 'C' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "binding", required_argument, NULL, 'b' },
		{ "dead-timeout", required_argument, NULL, 'D' },
		{ "negotiate-timeout", required_argument, NULL, 'N' },
		{ "tls-mode", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*a = (struct attach_args){ .connections = 1 };
	while ((c = getopt_long(argc, argv, "d:C:rt:b:D:N:T:", longopts, NULL)) != -1) {
		if (c == 'd')
			a->device = optarg;
		else if (c == 'r')
			a->readonly = true;
		else if (c == 'C' && parse_number("--connections", optarg, 64, &a->connections) == 0)
			continue;
		else if (c == 't' && parse_number("--timeout", optarg, 86400, &a->timeout) == 0)
			a->have_timeout = true;
		else if (c == 'D' &&
			 parse_number("--dead-timeout", optarg, 86400, &a->dead_timeout) == 0)
			a->have_dead_timeout = true;
		else if (c == 'N' && parse_number("--negotiate-timeout", optarg, 600,
						  &a->negotiate_timeout) == 0 && a->negotiate_timeout)
			continue;
		else if (c == 'b' && (!strcmp(optarg, "netlink") || !strcmp(optarg, "ioctl") ||
				      !strcmp(optarg, "auto")))
			a->binding = optarg;
		else if (c == 'T' && (!strcmp(optarg, "kernel") || !strcmp(optarg, "relay") ||
				      !strcmp(optarg, "auto")))
			a->tls_mode = optarg;
		else
			return nbdctl_usage(&nbdctl_attach_command);
	}
	if (optind != argc - 1 || a->connections == 0)
		return nbdctl_usage(&nbdctl_attach_command);
	a->uri = argv[optind];
	if (a->device && !nbd_name_valid(a->device)) {
		fprintf(stderr, "nbdctl attach: '%s' is not a device name like nbd0\n", a->device);
		return 2;
	}
	return 0;
}

static int attach_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	char request[CONTROL_LINE_MAX], err[1024], label[256], dev[64] = "";
	struct progress *p;
	struct watch w;
	struct attach_args a;
	struct nbd_uri uri;
	int rc = parse_attach(argc, argv, &a);

	if (rc)
		return rc;
	/* Refuse a bad URI here, with the parser's own words. */
	if (uri_parse_tls(a.uri, &uri, err, sizeof(err)) < 0) {
		fprintf(stderr, "nbdctl attach: %s\n", err);
		return 1;
	}
	if (a.tls_mode && !uri.tls) {
		fprintf(stderr, "nbdctl attach: --tls-mode is for nbds:// URIs only\n");
		return 2;
	}
	/* Room for the verb and every option at its longest. */
	if (strlen(a.uri) > CONTROL_LINE_MAX - 256) {
		fprintf(stderr, "nbdctl attach: URI too long\n");
		return 1;
	}
	snprintf(request, sizeof(request), "attach %s device=%s connections=%u readonly=%s",
		 a.uri, a.device ? a.device : "any", a.connections,
		 a.readonly ? "yes" : "no");
	if (a.have_timeout)
		snprintf(request + strlen(request), sizeof(request) - strlen(request),
			 " timeout=%u", a.timeout);
	if (a.have_dead_timeout)
		snprintf(request + strlen(request), sizeof(request) - strlen(request),
			 " dead-timeout=%u", a.dead_timeout);
	if (a.binding)
		snprintf(request + strlen(request), sizeof(request) - strlen(request),
			 " binding=%s", a.binding);
	if (a.negotiate_timeout)
		snprintf(request + strlen(request), sizeof(request) - strlen(request),
			 " negotiate-timeout=%u", a.negotiate_timeout);
	if (a.tls_mode)
		snprintf(request + strlen(request), sizeof(request) - strlen(request),
			 " tls-mode=%s", a.tls_mode);
	/* The daemon answers within the negotiation's deadline plus the
	 * binding's own bounds. */
	w = (struct watch){ .opts = opts, .uri = a.uri };
	snprintf(label, sizeof(label), "attaching %s", a.uri);
	p = progress_start(label, attach_refresh, &w);
	rc = control_call("nbd-clientd", opts->socket, request,
			  ATTACH_TIMEOUT_S + a.negotiate_timeout, note_device, dev, err,
			  sizeof(err));
	/* Gone before anything else is said on the terminal. */
	progress_stop(p);
	if (rc != CONTROL_OK) {
		fprintf(stderr, "nbdctl attach: %s\n", err);
		return 1;
	}
	printf("%s\n", dev);
	return 0;
}

const struct nbdctl_command nbdctl_attach_command = {
	.name = "attach",
	.usage = "URI [--device nbdN] [--connections N] [--readonly] [--timeout SECONDS]\n"
		 "        [--binding netlink|ioctl] [--dead-timeout SECONDS]\n"
		 "        [--negotiate-timeout SECONDS] [--tls-mode kernel|relay|auto]",
	.summary = "attach an export to a device (any free one by default); prints the device",
	.run = attach_run,
};

static int detach_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	char request[128];
	bool force = false;
	int c;

	while ((c = getopt_long(argc, argv, "f", longopts, NULL)) != -1) {
		if (c != 'f')
			return nbdctl_usage(&nbdctl_detach_command);
		force = true;
	}
	if (optind != argc - 1)
		return nbdctl_usage(&nbdctl_detach_command);
	if (!nbd_name_valid(argv[optind])) {
		fprintf(stderr, "nbdctl detach: '%s' is not a device name like nbd0\n",
			argv[optind]);
		return 2;
	}
	snprintf(request, sizeof(request), "detach %s%s", argv[optind],
		 force ? " force" : "");
	return nbdctl_daemon_call(opts, "detach", request, DETACH_TIMEOUT_S, NULL, NULL);
}

const struct nbdctl_command nbdctl_detach_command = {
	.name = "detach",
	.usage = "nbdN [--force]",
	.summary = "flush and disconnect a device the daemon attached (--force: even when mounted)",
	.run = detach_run,
};
