/* SPDX-License-Identifier: MIT */
/*
 * A device the daemon supervises: where it comes from (devices file or
 * nbdctl attach), how it is to be attached, and its attachment (the
 * attach API's, <cnbd/attach.h>, which says how it is doing). One mutex
 * guards the table and each device's changing fields; each device has a
 * condition variable on which its waiters (nbdctl detach, shutdown)
 * wait for its attachment to end.
 */
#ifndef CNBD_DEVICE_H
#define CNBD_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <cnbd/attach.h>

#include "clientlib/client.h"
#include "devices_conf.h"

struct device {
	/* Fixed once created. */
	unsigned id;
	char spec[64];			/* "nbd0", "any", "any-NAME" */
	char *uri_text;
	unsigned connections;
	bool readonly;
	unsigned timeout;
	enum device_binding binding_choice;
	unsigned dead_timeout;
	enum device_tls_mode tls_mode;	/* nbds:// only */
	unsigned negotiate_timeout;	/* seconds, one deadline per attempt */
	bool from_config;
	bool once;			/* nbdctl attach: a first failure ends it */
	/* Left attached by an earlier run (device_state.c): taken over
	 * rather than attached. */
	bool adopting;
	char adopt_name[32];		/* the device, "nbd0" */
	struct cnbd_attach_status was;	/* as it was attached */
	/* The name this host asked for (set once started): the udev
	 * link's. Never what the server calls the export (NBD_INFO_NAME). */
	char export_name[NBD_MAX_STRING + 1];

	/* Under device_lock. */
	unsigned refs;
	struct cnbd_attach *attach;	/* from device_start_locked() on */
	bool finished;			/* its attachment has ended */
	pthread_cond_t cond;
	struct device *next;
};

extern pthread_mutex_t device_lock;

/* A device from a devices-file entry (not yet in the table), with one
 * reference for the caller. */
struct device *device_new(const struct device_conf *dc, bool from_config,
			  char *err, size_t errlen);

/* Adds d to the table and starts its attachment. Called with
 * device_lock held; the caller keeps its reference (and puts it when
 * done). -1 with a reason when the named device is already managed, the
 * daemon is shutting down, or the attachment could not start (for one to
 * take over: err "" when the kernel no longer serves it, which is
 * logged and its record removed). */
int device_start_locked(struct device *d, char *err, size_t errlen);
void device_get_locked(struct device *d);
void device_put_locked(struct device *d);
/* Waits on d->cond with device_lock held; until abs (CLOCK_MONOTONIC)
 * when abs is not NULL. */
void device_wait_locked(struct device *d, const struct timespec *abs);
void device_wake_locked(struct device *d);
/* Asks d to stop (detach, shutdown); a negotiation is cut short. */
void device_stop_locked(struct device *d);
/* What d's attachment says now (a zeroed status before it started). */
void device_status(const struct device *d, struct cnbd_attach_status *st);
/* What log lines call d: the device taken over, or its spec. */
const char *device_label(const struct device *d);

/* By bound name ("nbd0"), or the spec of a device not bound yet. */
struct device *device_find_locked(const char *name);
/* True when a device other than self is bound to or reserves name. */
bool device_name_taken_locked(const char *name, const struct device *self);
struct device *device_first_locked(void);

/* Shutdown: stop every device and wait (up to timeout_s) for all of
 * their attachments to end. No new device starts afterwards. */
void devices_stop_all(unsigned timeout_s);

#endif
