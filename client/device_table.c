/* SPDX-License-Identifier: MIT */
/* The table of supervised devices, their references, their attachments
 * and what the daemon does on their events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cond_monotonic.h"
#include "common/log.h"
#include "device.h"
#include "device_state.h"

pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t table_changed;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static struct device *devices;
static unsigned next_id = 1;
static bool shutting_down;

static void table_init(void)
{
	cond_init_monotonic(&table_changed);
}

struct device *device_new(const struct device_conf *dc, bool from_config,
			  char *err, size_t errlen)
{
	struct device *d = calloc(1, sizeof(*d));

	pthread_once(&table_once, table_init);
	if (!d || !(d->uri_text = strdup(dc->uri))) {
		snprintf(err, errlen, "out of memory");
		free(d);
		return NULL;
	}
	/* The URI is checked when the device starts (cnbd_attach_start). */
	snprintf(d->spec, sizeof(d->spec), "%s", dc->device);
	d->connections = dc->connections;
	d->readonly = dc->readonly;
	d->timeout = dc->timeout;
	d->binding_choice = dc->binding;
	d->dead_timeout = dc->dead_timeout;
	d->tls_mode = dc->tls_mode;
	d->negotiate_timeout = dc->negotiate_timeout ? dc->negotiate_timeout :
			       DEVICE_DEFAULT_NEGOTIATE_TIMEOUT;
	d->from_config = from_config;
	d->once = !from_config;
	d->refs = 1;		/* the creator's */
	cond_init_monotonic(&d->cond);
	return d;
}

/* The daemon's part in its devices' lives: the records a restarted
 * daemon takes devices over by, and the table. Runs on the
 * attachment's thread, with no lock held. */
static void device_event(struct cnbd_attach *a, enum cnbd_attach_event ev, void *arg)
{
	struct device *d = arg;
	struct cnbd_attach_status st;

	cnbd_attach_status(a, &st);
	if (ev == CNBD_ATTACH_EV_BOUND && !strcmp(st.binding, "netlink"))
		device_state_save(d, &st);
	if (ev == CNBD_ATTACH_EV_UNBOUND)
		device_state_forget(st.device);
	if (ev != CNBD_ATTACH_EV_STOPPED)
		return;
	pthread_mutex_lock(&device_lock);
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
	device_put_locked(d);		/* the attachment's */
	pthread_mutex_unlock(&device_lock);
}

static void attach_options(struct device *d, struct cnbd_attach_options *o)
{
	cnbd_attach_options_init(o);
	o->device = device_spec_is_any(d->spec) ? NULL : d->spec;
	o->binding = (enum cnbd_attach_binding)d->binding_choice;
	o->connections = d->connections;
	o->readonly = d->readonly;
	o->timeout = d->timeout;
	o->dead_timeout = d->dead_timeout;
	o->negotiate_timeout = d->negotiate_timeout;
	o->tls_mode = (enum cnbd_attach_tls_mode)d->tls_mode;
	o->retry_first = !d->once;
	o->label = d->spec;
	o->on_event = device_event;
	o->arg = d;
}

/* A device an earlier run left attached; NULL when it cannot be taken
 * over, which is logged (the record goes: it is stale or useless). */
static struct cnbd_attach *adopt(struct device *d, const struct cnbd_attach_options *o,
				 char *err, size_t errlen)
{
	struct cnbd_attach *a = cnbd_attach_adopt(d->adopt_name, d->uri_text, &d->was, o,
						  err, errlen);

	if (a || errno != ENODEV)
		return a;
	log_info("%s: not taking it over: %s", d->adopt_name, err);
	device_state_forget(d->adopt_name);
	err[0] = '\0';
	return NULL;
}

/* The name asked for, from a URI the attachment took. */
static void set_export_name(struct device *d)
{
	struct nbd_uri uri;
	char ignored[256];

	if (uri_parse_tls(d->uri_text, &uri, ignored, sizeof(ignored)) == 0)
		snprintf(d->export_name, sizeof(d->export_name), "%s", uri.export_name);
}

int device_start_locked(struct device *d, char *err, size_t errlen)
{
	struct cnbd_attach_options o;
	const char *name = d->adopting ? d->adopt_name : d->spec;

	if (shutting_down) {
		snprintf(err, errlen, "nbd-clientd is shutting down");
		return -1;
	}
	if (!device_spec_is_any(name) && device_name_taken_locked(name, d)) {
		snprintf(err, errlen, "%s is already managed by nbd-clientd", name);
		return -1;
	}
	attach_options(d, &o);
	/* Its events wait for device_lock: d is in the table before any. */
	d->attach = d->adopting ? adopt(d, &o, err, errlen) :
				  cnbd_attach_start(d->uri_text, &o, err, errlen);
	if (!d->attach)
		return -1;
	set_export_name(d);
	d->id = next_id++;
	d->refs += 2;		/* the table's and the attachment's */
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
	/* Its attachment has ended (the table held d until then). */
	if (d->attach)
		cnbd_attach_detach(d->attach);
	pthread_cond_destroy(&d->cond);
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

void device_stop_locked(struct device *d)
{
	if (d->attach)
		cnbd_attach_stop(d->attach);
}

void device_status(const struct device *d, struct cnbd_attach_status *st)
{
	if (d->attach)
		cnbd_attach_status(d->attach, st);
	else
		*st = (struct cnbd_attach_status){ .binding = "", .tls = "off" };
}

const char *device_label(const struct device *d)
{
	return d->adopting ? d->adopt_name : d->spec;
}

struct device *device_find_locked(const char *name)
{
	struct cnbd_attach_status st;

	for (struct device *d = devices; d; d = d->next) {
		device_status(d, &st);
		if (!strcmp(st.device, name) || (!st.device[0] && !strcmp(d->spec, name)))
			return d;
	}
	return NULL;
}

bool device_name_taken_locked(const char *name, const struct device *self)
{
	struct cnbd_attach_status st;

	for (struct device *d = devices; d; d = d->next) {
		if (d == self)
			continue;
		device_status(d, &st);
		if (!strcmp(st.device, name))
			return true;
	}
	return false;
}

struct device *device_first_locked(void)
{
	return devices;
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
		device_stop_locked(d);
	while (devices) {
		if (pthread_cond_timedwait(&table_changed, &device_lock, &deadline) == ETIMEDOUT) {
			struct cnbd_attach_status st;

			device_status(devices, &st);
			log_error("giving up on %s after %u s of shutdown",
				  st.device[0] ? st.device : devices->spec, timeout_s);
			break;
		}
	}
	pthread_mutex_unlock(&device_lock);
}
