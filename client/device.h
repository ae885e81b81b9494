/* SPDX-License-Identifier: MIT */
/*
 * A device the daemon supervises: where it comes from (devices file or
 * nbdctl attach), what it is bound to, and how it is doing. One mutex
 * guards every device's changing fields and the table itself; each device
 * has a condition variable on which its supervisor sleeps and its
 * waiters (nbdctl attach/detach) wait.
 */
#ifndef CNBD_DEVICE_H
#define CNBD_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "clientlib/client.h"
#include "devices_conf.h"

enum device_state {
	DEV_WAITING,		/* for a device to exist or become free */
	DEV_CONNECTING,
	DEV_CONNECTED,
	DEV_RECONNECTING,
	DEV_FAILED,		/* no connection for longer than dead-timeout */
	DEV_DETACHING,
	DEV_STOPPED,
};

struct device {
	/* Fixed once created. */
	unsigned id;
	char spec[64];			/* "nbd0", "any", "any-NAME" */
	char *uri_text;
	char *backend_id;		/* backend_id(uri_text) */
	struct nbd_uri uri;
	unsigned connections;
	bool readonly;
	unsigned timeout;
	enum device_binding binding_choice;
	unsigned dead_timeout;
	enum device_tls_mode tls_mode;	/* nbds:// only */
	unsigned negotiate_timeout;	/* seconds, one deadline per attempt */
	bool from_config;
	bool once;			/* nbdctl attach: a first failure ends it */
	bool adopting;			/* bound by an earlier run: take it over
					 * (device_state.c) rather than attach */
	/* The supervisor's own. */
	bool tls_kernel_refused;	/* auto: kernel TLS failed once, relay */

	/* Under device_lock. */
	unsigned refs;
	char name[64];			/* the bound /dev/nbdX, "" until chosen */
	enum device_state state;
	uint64_t size;
	uint32_t blksize;
	uint16_t flags;
	char export_name[NBD_MAX_STRING + 1];
	unsigned reconnects;
	char error[512];		/* the last thing that went wrong */
	bool stop;			/* detach or shutdown asked for */
	bool force;			/* detach even though in use */
	bool kicked;			/* try now (udev-add) */
	bool bound;			/* handed to the kernel (or being) */
	int negotiating;		/* the socket being negotiated, or -1:
					 * a detach shuts it down (so that it
					 * never waits for the deadline) */
	bool ended;			/* the binding's kernel side ended */
	bool changed;			/* the binding saw connections die */
	const char *binding;		/* "netlink", "ioctl"; "" until chosen */
	const char *tls_used;		/* "off", "kernel", "relay"; the mode
					 * until a connection is carried */
	char tls_detail[64];		/* "TLS1.3 AES-256-GCM" */
	bool first_done;		/* the first attach has succeeded or failed */
	int first_rc;
	bool finished;			/* the supervisor has exited */
	pthread_cond_t cond;
	struct device *next;
};

extern pthread_mutex_t device_lock;

/* The identifier the kernel is given for a device of this URI: the URI,
 * or its digest when the kernel could not show it whole (backend_id.c).
 * malloc'd; NULL when out of memory. */
#define BACKEND_ID_MAX	4000
char *backend_id(const char *uri);

const char *device_state_name(enum device_state s);

/* A device from a devices-file entry (not yet in the table), with one
 * reference for the caller. */
struct device *device_new(const struct device_conf *dc, bool from_config,
			  char *err, size_t errlen);

/* Adds d to the table and starts its supervisor. Called with device_lock
 * held; the caller keeps its reference (and puts it when done). -1 with a
 * reason when the named device is already managed, or the daemon is
 * shutting down. */
int device_start_locked(struct device *d, char *err, size_t errlen);
void device_get_locked(struct device *d);
void device_put_locked(struct device *d);
/* Waits on d->cond with device_lock held; until abs (CLOCK_MONOTONIC)
 * when abs is not NULL. */
void device_wait_locked(struct device *d, const struct timespec *abs);
void device_wake_locked(struct device *d);
/* Asks d to stop (detach, shutdown): wakes its supervisor, and cuts a
 * negotiation short by shutting its socket down. */
void device_stop_locked(struct device *d, bool force);

/* By bound name ("nbd0"), or the spec of a device not bound yet. */
struct device *device_find_locked(const char *name);
/* True when a device other than self is bound to or reserves name. */
bool device_name_taken_locked(const char *name, const struct device *self);
struct device *device_first_locked(void);

/* The supervisor removes its device when it ends. */
void device_remove_locked(struct device *d);
/* Shutdown: stop every device and wait (up to timeout_s) for all of
 * their supervisors to end. No new device starts afterwards. */
void devices_stop_all(unsigned timeout_s);

#endif
