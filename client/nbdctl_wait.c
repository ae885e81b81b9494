/* SPDX-License-Identifier: MIT */
/*
 * nbdctl wait nbdN [--timeout SECONDS]: until the daemon's device is
 * connected (after an attach from the devices file, or a reconnect),
 * with a status line on a terminal. A daemon that does not answer yet
 * and a device it does not have yet are waited for too: an initramfs
 * starts the daemon and waits for its root device at once. Also the
 * look-ups attach's status line makes.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control_client.h"
#include "common/control_text.h"
#include "nbdctl.h"
#include "nbdctl_progress.h"
#include "attach/sysfs_nbd.h"

#define WAIT_DEFAULT_S	120
#define WAIT_POLL_MS	250
/* A look-up must not hold the wait up when the daemon is slow. */
#define LOOKUP_TIMEOUT_S	5

struct find {
	nbdctl_match_fn match;
	void *arg;
	char *found;
};

static int find_line(void *opaque, const char *line)
{
	struct find *f = opaque;

	if (!f->match(line, f->arg))
		return 0;
	free(f->found);
	f->found = strdup(line);
	return 0;
}

char *nbdctl_find_device(const struct nbdctl_options *opts, nbdctl_match_fn match, void *arg,
			 char *err, size_t errlen)
{
	struct find f = { .match = match, .arg = arg };

	if (control_call("nbd-clientd", opts->socket, "list", LOOKUP_TIMEOUT_S, find_line, &f,
			 err, errlen) != CONTROL_OK) {
		free(f.found);
		return NULL;
	}
	if (!f.found)
		snprintf(err, errlen, "no such device");
	return f.found;
}

void nbdctl_describe_device(const char *line, char *out, size_t len)
{
	char dev[64], state[32], error[1024];

	if (control_field(line, "device", dev, sizeof(dev)) < 0 || !strcmp(dev, "-"))
		dev[0] = '\0';
	if (control_field(line, "state", state, sizeof(state)) < 0)
		snprintf(state, sizeof(state), "?");
	if (control_field(line, "error", error, sizeof(error)) < 0)
		error[0] = '\0';
	snprintf(out, len, "%s%s%s%s%s", dev, dev[0] ? " " : "", state,
		 error[0] ? ": last error: " : "", error);
}

static bool same_device(const char *line, void *arg)
{
	char dev[64];

	return control_field(line, "device", dev, sizeof(dev)) == 0 && !strcmp(dev, arg);
}

/* What the status line shows: the last look-up, kept by the main thread. */
struct seen {
	pthread_mutex_t lock;
	char text[1100];
};

static void show_seen(void *opaque, char *detail, size_t len)
{
	struct seen *s = opaque;

	pthread_mutex_lock(&s->lock);
	snprintf(detail, len, "%s", s->text);
	pthread_mutex_unlock(&s->lock);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0 once connected; 1 when the device is not the daemon's or the time
 * is up (the reason on stderr). */
static int wait_for(const struct nbdctl_options *opts, const char *dev, unsigned timeout)
{
	struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char label[64], err[1024], state[32] = "", *said;
	long deadline = now_ms() + timeout * 1000L;
	struct progress *p;
	char *line = NULL;

	snprintf(label, sizeof(label), "waiting for %s", dev);
	p = progress_start(label, show_seen, &seen);
	for (;;) {
		free(line);
		line = nbdctl_find_device(opts, same_device, (void *)dev, err, sizeof(err));
		if (line && control_field(line, "state", state, sizeof(state)) == 0 &&
		    !strcmp(state, "connected"))
			break;
		pthread_mutex_lock(&seen.lock);
		if (line)
			nbdctl_describe_device(line, seen.text, sizeof(seen.text));
		else if (!strcmp(err, "no such device"))
			snprintf(seen.text, sizeof(seen.text), "not attached by nbd-clientd (yet)");
		else
			snprintf(seen.text, sizeof(seen.text), "%s", err);
		pthread_mutex_unlock(&seen.lock);
		if (timeout && now_ms() >= deadline)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = WAIT_POLL_MS * 1000000L }, NULL);
	}
	progress_stop(p);
	free(line);
	if (!strcmp(state, "connected"))
		return 0;
	said = nbdctl_escape(seen.text);
	fprintf(stderr, "nbdctl wait: %s not connected after %u s: %s\n", dev, timeout,
		said ? said : "?");
	free(said);
	return 1;
}

static int wait_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long timeout = WAIT_DEFAULT_S;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "t:", longopts, NULL)) != -1) {
		if (c != 't')
			return nbdctl_usage(&nbdctl_wait_command);
		timeout = strtoul(optarg, &end, 10);
		if (!*optarg || *end || timeout > 86400) {
			fprintf(stderr, "nbdctl wait: --timeout '%s' is not a number of seconds up to 86400\n",
				optarg);
			return 2;
		}
	}
	if (optind != argc - 1)
		return nbdctl_usage(&nbdctl_wait_command);
	if (!nbd_name_valid(argv[optind])) {
		fprintf(stderr, "nbdctl wait: '%s' is not a device name like nbd0\n", argv[optind]);
		return 2;
	}
	return wait_for(opts, argv[optind], (unsigned)timeout);
}

const struct nbdctl_command nbdctl_wait_command = {
	.name = "wait",
	.usage = "nbdN [--timeout SECONDS]",
	.summary = "wait until the daemon's device is connected, also while the daemon starts (default at most 120 s; 0: no limit)",
	.run = wait_run,
};
