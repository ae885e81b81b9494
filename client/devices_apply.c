/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "device_state.h"
#include "devices_apply.h"
#include "common/log.h"
#include "common/service_notify.h"

static const char *devices_path = DEVICES_CONF_DEFAULT;
static bool devices_path_given;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

void devices_apply_init(const char *path, bool given)
{
	devices_path = path;
	devices_path_given = given;
}

static int read_file(struct devices_conf *conf, char *err, size_t errlen)
{
	*conf = (struct devices_conf){ 0 };
	if (!devices_path_given && access(devices_path, F_OK) < 0 && errno == ENOENT)
		return 0;
	return devices_conf_load(devices_path, conf, err, errlen);
}

int devices_read(struct devices_conf *conf)
{
	char err[1024];

	if (read_file(conf, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	if (!devices_path_given && !conf->n && access(devices_path, F_OK) < 0)
		log_info("no %s: no devices to attach until nbdctl attach", devices_path);
	return 0;
}

/* Devices an earlier run left attached (it died without detaching
 * them): taken over before the devices file is read, so that the file's
 * entries for them find them served. */
void devices_adopt(void)
{
	struct device **v;
	size_t n = device_state_load(&v);
	char err[512];

	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&device_lock);
		if (device_start_locked(v[i], err, sizeof(err)) < 0 && err[0])
			log_error("%s: %s", device_label(v[i]), err);
		device_put_locked(v[i]);
		pthread_mutex_unlock(&device_lock);
	}
	free(v);
}

/* The device of the file's section spec; NULL: none. With device_lock. */
static struct device *find_entry_locked(const char *spec)
{
	for (struct device *d = device_first_locked(); d; d = d->next)
		if (d->from_config && !strcmp(d->spec, spec))
			return d;
	return NULL;
}

/* Starts dc unless its section is served; counts what it did. */
static void start_entry(const struct device_conf *dc, unsigned *started, unsigned *kept)
{
	struct device *d;
	char err[512];

	pthread_mutex_lock(&device_lock);
	d = find_entry_locked(dc->device);
	if (d && strcmp(d->uri_text, dc->uri))
		log_warn("[%s]: the URI in %s is now %s; %s stays attached to %s until detached (nbdctl detach, then reload)",
			 dc->device, devices_path, dc->uri, device_label(d),
			 d->uri_text);
	pthread_mutex_unlock(&device_lock);
	if (d) {
		(*kept)++;
		return;
	}
	d = device_new(dc, true, err, sizeof(err));
	if (!d) {
		log_error("[%s]: %s", dc->device, err);
		return;
	}
	pthread_mutex_lock(&device_lock);
	if (device_start_locked(d, err, sizeof(err)) < 0)
		log_error("[%s]: %s", dc->device, err);
	else
		(*started)++;
	device_put_locked(d);
	pthread_mutex_unlock(&device_lock);
}

void devices_start(const struct devices_conf *conf)
{
	unsigned started = 0, kept = 0;

	for (size_t i = 0; i < conf->n; i++)
		start_entry(&conf->v[i], &started, &kept);
}

static bool in_file(const struct devices_conf *conf, const char *spec)
{
	for (size_t i = 0; i < conf->n; i++)
		if (!strcmp(conf->v[i].device, spec))
			return true;
	return false;
}

/* Devices whose section left the file: said, and left attached. */
static unsigned left_behind(const struct devices_conf *conf)
{
	unsigned n = 0;

	pthread_mutex_lock(&device_lock);
	for (struct device *d = device_first_locked(); d; d = d->next) {
		if (!d->from_config || in_file(conf, d->spec))
			continue;
		log_info("[%s]: no longer in %s; %s stays attached until detached (nbdctl detach)",
			 d->spec, devices_path, device_label(d));
		n++;
	}
	pthread_mutex_unlock(&device_lock);
	return n;
}

int devices_reload(char *summary, size_t slen, char *err, size_t errlen)
{
	struct devices_conf conf;
	unsigned started = 0, kept = 0, left;
	int rc = -1;

	pthread_mutex_lock(&reload_lock);
	service_notify_reloading();
	if (read_file(&conf, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < conf.n; i++)
		start_entry(&conf.v[i], &started, &kept);
	left = left_behind(&conf);
	snprintf(summary, slen, "%zu entr%s in %s: %u attaching, %u already attached, %u left attached without an entry",
		 conf.n, conf.n == 1 ? "y" : "ies", devices_path, started, kept, left);
	devices_conf_free(&conf);
	rc = 0;
out:
	service_notify_ready();
	pthread_mutex_unlock(&reload_lock);
	return rc;
}
