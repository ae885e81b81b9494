/* SPDX-License-Identifier: MIT */
/*
 * Making an attachment (<cnbd/attach.h>) and letting it go. Each has two
 * references, the caller's and its supervisor's; whichever is put last
 * frees it, so a program may detach from inside a callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach/backend_id.h"
#include "attach/quiet_thread.h"
#include "attach/supervisor_priv.h"
#include "attach/sysfs_nbd.h"
#include "common/cond_monotonic.h"

void cnbd_attach_options_init(struct cnbd_attach_options *o)
{
	*o = (struct cnbd_attach_options){
		.connections = 1, .timeout = 30, .dead_timeout = 120, .negotiate_timeout = 30,
		.backoff_min_ms = 500, .backoff_max_ms = 30000, .backoff_held_ms = 2000,
	};
}

void attach_options_or_defaults(struct cnbd_attach_options *mine,
				const struct cnbd_attach_options *o)
{
	if (o)
		*mine = *o;
	else
		cnbd_attach_options_init(mine);
}

const char *attach_tls_mode_name(enum cnbd_attach_tls_mode m)
{
	switch (m) {
	case CNBD_ATTACH_TLS_AUTO: return "auto";
	case CNBD_ATTACH_TLS_KERNEL: return "kernel";
	case CNBD_ATTACH_TLS_RELAY: return "relay";
	}
	return "?";
}

/* What cannot work, whatever the kernel and the server say. */
static int check_options(const struct cnbd_attach_options *o, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (o->device && o->device[0] && !nbd_name_valid(o->device))
		bad = "device is not nbdN";
	else if (!o->connections || o->connections > ATTACH_MAX_CONNECTIONS)
		bad = "connections must be 1 to 64";
	else if (o->timeout > ATTACH_MAX_TIMEOUT || o->dead_timeout > ATTACH_MAX_TIMEOUT)
		bad = "timeouts are at most 86400 s";
	else if (!o->negotiate_timeout || o->negotiate_timeout > ATTACH_MAX_NEGOTIATE_TIMEOUT)
		bad = "negotiate_timeout must be 1 to 600 s";
	else if (!o->backoff_min_ms || o->backoff_max_ms < o->backoff_min_ms ||
		 o->backoff_held_ms < o->backoff_min_ms)
		bad = "backoff needs 0 < backoff_min_ms <= backoff_max_ms, backoff_held_ms";
	else if ((unsigned)o->binding > CNBD_ATTACH_BINDING_IOCTL ||
		 (unsigned)o->tls_mode > CNBD_ATTACH_TLS_RELAY)
		bad = "unknown binding or tls_mode";
	if (!bad)
		return 0;
	snprintf(err, errlen, "%s", bad);
	errno = EINVAL;
	return -1;
}

void attach_free(struct cnbd_attach *a)
{
	for (unsigned i = 0; i < a->ngiven; i++)
		close(a->given[i]);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a->identifier);
	free(a->uri_text);
	free(a);
}

static int set_uri(struct cnbd_attach *a, const char *uri, char *err, size_t errlen)
{
	if (!(a->uri_text = strdup(uri)) || !(a->identifier = backend_id(uri))) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	if (uri_parse_tls(uri, &a->uri, err, errlen) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (a->tls_mode != CNBD_ATTACH_TLS_AUTO && !a->uri.tls) {
		snprintf(err, errlen, "tls-mode is for nbds:// URIs only");
		errno = EINVAL;
		return -1;
	}
	a->tls_used = a->uri.tls ? attach_tls_mode_name(a->tls_mode) : "off";
	return 0;
}

static void copy_options(struct cnbd_attach *a, const struct cnbd_attach_options *o)
{
	a->connections = o->connections;
	a->readonly = o->readonly;
	a->timeout = o->timeout;
	a->binding_choice = o->binding;
	a->dead_timeout = o->dead_timeout;
	a->tls_mode = o->tls_mode;
	a->negotiate_timeout = o->negotiate_timeout;
	a->backoff_min_ms = o->backoff_min_ms;
	a->backoff_max_ms = o->backoff_max_ms;
	a->backoff_held_ms = o->backoff_held_ms;
	a->give_up_s = o->give_up_s;
	a->once = !o->retry_first;
	a->on_event = o->on_event;
	a->arg = o->arg;
	a->reconnect = o->reconnect;
	if (o->device && o->device[0])
		snprintf(a->name, sizeof(a->name), "%s", o->device);
	a->any_device = !a->name[0];
	snprintf(a->label, sizeof(a->label), "%s",
		 o->label ? o->label : a->name[0] ? a->name : "any");
}

struct cnbd_attach *attach_new(const char *uri, const struct cnbd_attach_options *o,
			       char *err, size_t errlen)
{
	struct cnbd_attach_options mine;
	struct cnbd_attach *a;

	attach_options_or_defaults(&mine, o);
	o = &mine;
	if (check_options(o, err, errlen) < 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	cond_init_monotonic(&a->cond);
	a->refs = 2;
	a->negotiating = -1;
	a->binding = "";
	a->tls_used = "off";
	a->state = CNBD_ATTACH_WAITING;
	copy_options(a, o);
	if (uri && set_uri(a, uri, err, errlen) < 0) {
		attach_free(a);
		return NULL;
	}
	return a;
}

int attach_run(struct cnbd_attach *a, char *err, size_t errlen)
{
	pthread_attr_t attr;
	pthread_t thread;
	int rc;

	if (names_add(a) < 0) {
		snprintf(err, errlen, "%s is already attached by this process", a->name);
		attach_free(a);
		errno = EBUSY;
		return -1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = quiet_thread_create(&thread, &attr, supervise, a);
	pthread_attr_destroy(&attr);
	if (rc) {
		snprintf(err, errlen, "cannot start a supervisor thread: %s", strerror(rc));
		names_remove(a);
		attach_free(a);
		errno = rc;
		return -1;
	}
	return 0;
}

void attach_put(struct cnbd_attach *a)
{
	bool last;

	pthread_mutex_lock(&a->lock);
	last = --a->refs == 0;
	pthread_mutex_unlock(&a->lock);
	if (last)
		attach_free(a);
}

void attach_wait_locked(struct cnbd_attach *a, const struct timespec *abs)
{
	if (abs)
		pthread_cond_timedwait(&a->cond, &a->lock, abs);
	else
		pthread_cond_wait(&a->cond, &a->lock);
}

struct cnbd_attach *cnbd_attach_start(const char *uri, const struct cnbd_attach_options *o,
				      char *err, size_t errlen)
{
	struct cnbd_attach *a;

	if (!uri) {
		snprintf(err, errlen, "no URI");
		errno = EINVAL;
		return NULL;
	}
	a = attach_new(uri, o, err, errlen);
	if (!a || attach_run(a, err, errlen) < 0)
		return NULL;
	return a;
}

int cnbd_attach_wait(struct cnbd_attach *a, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&a->lock);
	while (!a->first_done)
		attach_wait_locked(a, NULL);
	rc = a->first_rc;
	if (rc < 0)
		snprintf(err, errlen, "%s", a->error);
	pthread_mutex_unlock(&a->lock);
	if (rc < 0)
		errno = EIO;
	return rc;
}

/* The first attach, waited for; on failure a is detached and freed. */
static struct cnbd_attach *first_attach(struct cnbd_attach *a, char *err, size_t errlen)
{
	if (cnbd_attach_wait(a, err, errlen) == 0)
		return a;
	cnbd_attach_detach(a);
	errno = EIO;
	return NULL;
}

struct cnbd_attach *cnbd_attach_uri(const char *uri, const struct cnbd_attach_options *o,
				    char *err, size_t errlen)
{
	struct cnbd_attach *a = cnbd_attach_start(uri, o, err, errlen);

	return a ? first_attach(a, err, errlen) : NULL;
}

/* What the server said, as the client library would have it. */
static void given_export(struct cnbd_attach *a, const struct cnbd_attach_export *ex)
{
	struct client_export *g = &a->given_ex;

	g->size = ex->size;
	g->flags = ex->flags;
	g->have_block_size = ex->min_block != 0;
	g->min_block = ex->min_block ? ex->min_block : 1;
	g->pref_block = ex->pref_block ? ex->pref_block : 4096;
	g->max_payload = ex->max_payload ? ex->max_payload : 32U << 20;
}

struct cnbd_attach *cnbd_attach_sockets(const int *fds, unsigned nfds,
					const struct cnbd_attach_export *ex,
					const struct cnbd_attach_options *o,
					char *err, size_t errlen)
{
	struct cnbd_attach_options mine;
	struct cnbd_attach *a;

	attach_options_or_defaults(&mine, o);
	mine.connections = nfds;
	a = ex ? attach_new(NULL, &mine, err, errlen) : NULL;
	if (!ex) {
		snprintf(err, errlen, "no export: what the server said of it is needed");
		errno = EINVAL;
	}
	if (!a) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return NULL;
	}
	memcpy(a->given, fds, nfds * sizeof(*fds));
	a->ngiven = nfds;
	given_export(a, ex);
	if (attach_run(a, err, errlen) < 0)
		return NULL;
	return first_attach(a, err, errlen);
}

int cnbd_attach_detach(struct cnbd_attach *a)
{
	bool failed;

	cnbd_attach_stop(a);
	pthread_mutex_lock(&a->lock);
	/* From a callback the supervisor ends once it returns (and puts
	 * its reference then). */
	while (!a->finished && !pthread_equal(a->thread, pthread_self()))
		attach_wait_locked(a, NULL);
	failed = a->disconnect_failed;
	pthread_mutex_unlock(&a->lock);
	attach_put(a);
	if (failed)
		errno = EIO;
	return failed ? -1 : 0;
}
