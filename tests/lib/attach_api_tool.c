/* SPDX-License-Identifier: MIT */
/*
 * attach-api: the attach API (<cnbd/attach.h>) driven from a kernel case,
 * for what nbd-clientd does not use. Events are printed as they come
 * ("event lost"), one line each.
 *
 *   attach-api sockets URI DEVICE
 *       negotiates one connection itself (the client library), binds it
 *       with cnbd_attach_sockets() and replaces a lost one through the
 *       reconnect callback ("reconnect N" per call); prints "attached
 *       DEVICE", then detaches when stdin ends.
 *   attach-api give-up URI DEVICE SECONDS
 *       cnbd_attach_uri() with give_up_s; prints "attached DEVICE", then
 *       waits for the attachment to stop by itself and prints "stopped:
 *       ERROR" and whether the detach could flush.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cnbd/attach.h>

#include "clientlib/client.h"

static const char *uri;
static unsigned reconnects;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool stopped;

static const char *const event_names[] = {
	[CNBD_ATTACH_EV_BOUND] = "bound", [CNBD_ATTACH_EV_LOST] = "lost",
	[CNBD_ATTACH_EV_RECONNECTED] = "reconnected", [CNBD_ATTACH_EV_FAILED] = "failed",
	[CNBD_ATTACH_EV_UNBOUND] = "unbound", [CNBD_ATTACH_EV_STOPPED] = "stopped",
};

static void on_event(struct cnbd_attach *a, enum cnbd_attach_event ev, void *arg)
{
	(void)a;
	(void)arg;
	printf("event %s\n", event_names[ev]);
	fflush(stdout);
	pthread_mutex_lock(&lock);
	stopped |= ev == CNBD_ATTACH_EV_STOPPED;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* One negotiated connection, as a program with its own client would
 * have it. */
static int negotiate(int *fd, struct cnbd_attach_export *ex, char *err, size_t errlen)
{
	struct nbd_client c;

	if (client_open_uri(&c, uri, 10) != CLIENT_OK || client_set_timeout(&c, 0) != CLIENT_OK) {
		snprintf(err, errlen, "%s", c.error);
		client_close(&c);
		return -1;
	}
	*ex = (struct cnbd_attach_export){
		.size = c.export.size, .flags = c.export.flags,
		.min_block = c.export.have_block_size ? c.export.min_block : 0,
		.pref_block = c.export.have_block_size ? c.export.pref_block : 0,
		.max_payload = c.export.have_block_size ? c.export.max_payload : 0,
	};
	*fd = c.fd;		/* the kernel's now: no NBD_CMD_DISC from here */
	return 0;
}

static int reconnect(void *arg, int *fd, struct cnbd_attach_export *ex, char *err, size_t errlen)
{
	(void)arg;
	printf("reconnect %u\n", ++reconnects);
	fflush(stdout);
	return negotiate(fd, ex, err, errlen);
}

static void options(struct cnbd_attach_options *o, const char *device)
{
	cnbd_attach_options_init(o);
	o->device = device;
	o->timeout = 5;
	o->backoff_max_ms = 2000;
	o->on_event = on_event;
}

static void attached(struct cnbd_attach *a)
{
	struct cnbd_attach_status st;

	cnbd_attach_status(a, &st);
	printf("attached %s %s\n", st.device, st.binding);
	fflush(stdout);
}

static int sockets(const char *device)
{
	struct cnbd_attach_options o;
	struct cnbd_attach_export ex;
	struct cnbd_attach *a;
	char err[512], buf[256];
	int fd;

	if (negotiate(&fd, &ex, err, sizeof(err)) < 0) {
		fprintf(stderr, "negotiating: %s\n", err);
		return 1;
	}
	options(&o, device);
	o.reconnect = reconnect;
	a = cnbd_attach_sockets(&fd, 1, &ex, &o, err, sizeof(err));
	if (!a) {
		fprintf(stderr, "cnbd_attach_sockets: %s\n", err);
		return 1;
	}
	attached(a);
	while (fgets(buf, sizeof(buf), stdin))
		;
	if (cnbd_attach_detach(a) < 0)
		return 1;
	printf("detached\n");
	return 0;
}

static int give_up(const char *device, unsigned seconds)
{
	struct cnbd_attach_options o;
	struct cnbd_attach_status st;
	struct cnbd_attach *a;
	char err[512];

	options(&o, device);
	o.give_up_s = seconds;
	a = cnbd_attach_uri(uri, &o, err, sizeof(err));
	if (!a) {
		fprintf(stderr, "cnbd_attach_uri: %s\n", err);
		return 1;
	}
	attached(a);
	pthread_mutex_lock(&lock);
	while (!stopped)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	cnbd_attach_status(a, &st);
	printf("stopped: %s\n", st.error);
	/* Given up with no connection: nothing could be flushed. */
	printf("detach: %s\n", cnbd_attach_detach(a) < 0 ? "not flushed" : "flushed");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "sockets")) {
		uri = argv[2];
		return sockets(argv[3]);
	}
	if (argc == 5 && !strcmp(argv[1], "give-up")) {
		uri = argv[2];
		return give_up(argv[3], (unsigned)strtoul(argv[4], NULL, 10));
	}
	fprintf(stderr, "usage: attach-api sockets URI DEVICE | give-up URI DEVICE SECONDS\n");
	return 2;
}
