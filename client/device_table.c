/* SPDX-License-Identifier: MIT */
/* The table of supervised devices, their references and wake-ups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "device.h"
#include "common/log.h"
#include "supervisor.h"
#include "sysfs_nbd.h"

pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t table_changed;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static struct device *devices;
static unsigned next_id = 1;
static bool shutting_down;

static void init_monotonic_cond(pthread_cond_t *c)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(c, &attr);
	pthread_condattr_destroy(&attr);
}

static void table_init(void)
{
	init_monotonic_cond(&table_changed);
}

const char *device_state_name(enum device_state s)
{
	switch (s) {
	case DEV_WAITING: return "waiting";
	case DEV_CONNECTING: return "connecting";
	case DEV_CONNECTED: return "connected";
	case DEV_RECONNECTING: return "reconnecting";
	case DEV_FAILED: return "failed";
	case DEV_DETACHING: return "detaching";
	case DEV_STOPPED: return "stopped";
	}
	return "?";
}

struct device *device_new(const struct device_conf *dc, bool from_config,
			  char *err, size_t errlen)
{
	struct device *d = calloc(1, sizeof(*d));

	pthread_once(&table_once, table_init);
	if (!d || !(d->uri_text = strdup(dc->uri)) || !(d->backend_id = backend_id(dc->uri))) {
		snprintf(err, errlen, "out of memory");
		if (d)
			free(d->uri_text);
		free(d);
		return NULL;
	}
	if (uri_parse_tls(dc->uri, &d->uri, err, errlen) < 0 ||
	    (dc->tls_mode != TLS_MODE_AUTO && !d->uri.tls &&
	     snprintf(err, errlen, "tls-mode is for nbds:// URIs only") > 0)) {
		free(d->backend_id);
		free(d->uri_text);
		free(d);
		return NULL;
	}
	snprintf(d->spec, sizeof(d->spec), "%s", dc->device);
	d->connections = dc->connections;
	d->readonly = dc->readonly;
	d->timeout = dc->timeout;
	d->binding_choice = dc->binding;
	d->dead_timeout = dc->dead_timeout;
	d->tls_mode = dc->tls_mode;
	d->tls_used = d->uri.tls ? device_tls_mode_name(dc->tls_mode) : "off";
	d->negotiate_timeout = dc->negotiate_timeout ? dc->negotiate_timeout :
			       DEVICE_DEFAULT_NEGOTIATE_TIMEOUT;
	d->negotiating = -1;
	d->binding = "";
	d->from_config = from_config;
	d->once = !from_config;
	d->state = DEV_WAITING;
	d->refs = 1;		/* the creator's */
	snprintf(d->export_name, sizeof(d->export_name), "%s", d->uri.export_name);
	/* An explicit device is reserved from the start. */
	if (!device_spec_is_any(d->spec))
		snprintf(d->name, sizeof(d->name), "%s", d->spec);
	init_monotonic_cond(&d->cond);
	return d;
}

int device_start_locked(struct device *d, char *err, size_t errlen)
{
	pthread_t thread;
	pthread_attr_t attr;

	if (shutting_down) {
		snprintf(err, errlen, "nbd-clientd is shutting down");
		return -1;
	}
	if (d->name[0] && device_name_taken_locked(d->name, d)) {
		snprintf(err, errlen, "%s is already managed by nbd-clientd", d->name);
		return -1;
	}
	d->id = next_id++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	errno = pthread_create(&thread, &attr, supervise, d);
	pthread_attr_destroy(&attr);
	if (errno) {
		snprintf(err, errlen, "cannot start a supervisor thread: %s", strerror(errno));
		return -1;
	}
	d->refs += 2;		/* the table's and the supervisor's */
	d->next = devices;
	devices = d;
	return 0;
}

void device_get_locked(struct device *d)
{
	d->refs++;
}

void device_put_locked(struct device *d)
{
	if (--d->refs)
		return;
	pthread_cond_destroy(&d->cond);
	free(d->backend_id);
	free(d->uri_text);
	free(d);
}

void device_wait_locked(struct device *d, const struct timespec *abs)
{
	if (abs)
		pthread_cond_timedwait(&d->cond, &device_lock, abs);
	else
		pthread_cond_wait(&d->cond, &device_lock);
}

void device_wake_locked(struct device *d)
{
	pthread_cond_broadcast(&d->cond);
}

void device_stop_locked(struct device *d, bool force)
{
	d->stop = true;
	d->force = force;
	/* The supervisor closes this socket only after clearing it under
	 * the lock, so it is still its socket here. */
	if (d->negotiating >= 0)
		shutdown(d->negotiating, SHUT_RDWR);
	device_wake_locked(d);
}

struct device *device_find_locked(const char *name)
{
	for (struct device *d = devices; d; d = d->next)
		if (!strcmp(d->name, name) || (!d->name[0] && !strcmp(d->spec, name)))
			return d;
	return NULL;
}

bool device_name_taken_locked(const char *name, const struct device *self)
{
	for (struct device *d = devices; d; d = d->next)
		if (d != self && !strcmp(d->name, name))
			return true;
	return false;
}

struct device *device_first_locked(void)
{
	return devices;
}

void device_remove_locked(struct device *d)
{
	for (struct device **p = &devices; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	d->finished = true;
	device_wake_locked(d);
	pthread_cond_broadcast(&table_changed);
	device_put_locked(d);		/* the table's reference */
}

void devices_stop_all(unsigned timeout_s)
{
	struct timespec deadline;

	pthread_once(&table_once, table_init);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s;
	pthread_mutex_lock(&device_lock);
	shutting_down = true;
	for (struct device *d = devices; d; d = d->next)
		device_stop_locked(d, true);
	while (devices) {
		if (pthread_cond_timedwait(&table_changed, &device_lock, &deadline) == ETIMEDOUT) {
			log_error("giving up on %s after %u s of shutdown",
				  devices->name[0] ? devices->name : devices->spec, timeout_s);
			break;
		}
	}
	pthread_mutex_unlock(&device_lock);
}
