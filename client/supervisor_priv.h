/* SPDX-License-Identifier: MIT */
/*
 * What the supervisor's files share: connecting to the export
 * (export_connect.c), waiting between attempts (backoff.c), replacing
 * the dead connections of a live device (reconnect.c), and the little
 * helpers on a device's state (supervisor.c).
 */
#ifndef CNBD_SUPERVISOR_PRIV_H
#define CNBD_SUPERVISOR_PRIV_H

#include <stddef.h>

#include "binding.h"
#include "clientlib/client.h"
#include "device.h"

#define CONNECT_TIMEOUT_S	15	/* connect (per address), and per read; the
				 * whole attempt has negotiate-timeout */
#define BACKOFF_FIRST_MS	500
#define BACKOFF_CAP_MS		30000
/* While the kernel holds I/O for a lost connection, seconds count: a
 * server that returns is found within about 2 s. */
#define BACKOFF_CAP_HELD_MS	2000

/* Connection i (0-based) of d: connected and negotiated; *fd gets the
 * socket, *ex what the server said. With check, the export must be the
 * one in check (what the other connections, or the kernel, have). */
int export_connect(struct device *d, unsigned i, const struct client_export *check,
		   struct client_export *ex, int *fd, char *err, size_t errlen);
/* Every connection of d; on failure none is left open. */
int export_connect_all(struct device *d, int *fds, struct client_export *ex,
		       char *err, size_t errlen);

/* Sleeps the attempt's capped, jittered delay, or until a kick, a stop,
 * or the binding's end. True when the device must stop. */
bool backoff(struct device *d, unsigned attempt, unsigned cap_ms);

/* Replaces the connections the kernel marked dead, one at a time, until
 * every one is live again, the device must stop, or its binding ended. */
void reconnect_dead(struct device *d, struct binding *b, const struct binding_ops *ops);

/* The export ex is the one the kernel serves for d (same size, nothing
 * it relies on taken away): 0, or -1 with the reason in err. */
int same_export(struct device *d, const struct client_export *ex,
		char *err, size_t errlen);

void set_state(struct device *d, enum device_state s);
bool stopping(struct device *d);
void note_error(struct device *d, const char *err);

#endif
