/* SPDX-License-Identifier: MIT */
/*
 * One thread per device: choose the device and the binding, connect and
 * negotiate every connection, hand them to the kernel, then sleep until
 * the kernel lets go, a connection dies, or a detach is asked for.
 *
 * netlink: a dead connection is replaced in the live device while the
 * kernel holds its I/O (reconnect.c); the device is bound anew only when
 * the kernel dropped its configuration.
 * ioctl: a lost connection ends the binding and the device is bound
 * anew, which succeeds only once nobody holds it open: the kernel keeps
 * a held device's dead configuration (see ioctl_bind.c). Until then
 * attempts fail with "still held open" and are retried.
 * Either way attempts back off (backoff.c), and the export must come
 * back with the size it had.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "device_state.h"
#include "common/log.h"
#include "netlink_bind.h"
#include "netlink_call.h"
#include "supervisor.h"
#include "supervisor_priv.h"
#include "sysfs_nbd.h"

static bool taken(const char *name)
{
	return device_name_taken_locked(name, NULL);
}

void set_state(struct device *d, enum device_state s)
{
	pthread_mutex_lock(&device_lock);
	d->state = s;
	pthread_mutex_unlock(&device_lock);
}

bool stopping(struct device *d)
{
	bool stop;

	pthread_mutex_lock(&device_lock);
	stop = d->stop;
	pthread_mutex_unlock(&device_lock);
	return stop;
}

/* Records what went wrong; logs it only when it differs from last time,
 * so that a server down for an hour is not a line every 30 seconds. */
void note_error(struct device *d, const char *err)
{
	bool changed;

	pthread_mutex_lock(&device_lock);
	changed = strcmp(d->error, err) != 0;
	snprintf(d->error, sizeof(d->error), "%s", err);
	pthread_mutex_unlock(&device_lock);
	if (changed)
		log_error("%s: %s", d->name[0] ? d->name : d->spec, err);
}

static void first_result(struct device *d, int rc, const char *err)
{
	pthread_mutex_lock(&device_lock);
	if (!d->first_done) {
		d->first_done = true;
		d->first_rc = rc;
		if (err)
			snprintf(d->error, sizeof(d->error), "%s", err);
		device_wake_locked(d);
	}
	pthread_mutex_unlock(&device_lock);
}

/* The binding of a device, chosen at its first attach and kept. */
static const struct binding_ops *pick_binding(struct device *d, char *err, size_t errlen)
{
	const struct binding_ops *ops = NULL;

	switch (d->binding_choice) {
	case BINDING_IOCTL:
		ops = &ioctl_binding;
		break;
	case BINDING_NETLINK:
		if (nbd_nl_available())
			ops = &netlink_binding;
		else
			snprintf(err, errlen,
				 "binding = netlink, but the kernel has no nbd netlink family");
		break;
	case BINDING_AUTO:
		ops = nbd_nl_available() ? &netlink_binding : &ioctl_binding;
		break;
	}
	return ops;
}

/* An [any] device that was never ours looks elsewhere next time. */
static void forget_any(struct device *d, bool rebind)
{
	if (rebind || !device_spec_is_any(d->spec))
		return;
	pthread_mutex_lock(&device_lock);
	d->name[0] = '\0';
	pthread_mutex_unlock(&device_lock);
}

/*
 * Picks (for [any]) and checks the device; name gets it. With netlink
 * the kernel makes a device that does not exist yet, and name "" lets it
 * choose (and make one) when none is free.
 */
static int choose_device(struct device *d, const struct binding_ops *ops, bool rebind,
			 char *name, size_t namelen, char *err, size_t errlen)
{
	bool netlink = ops == &netlink_binding;
	long pid;

	pthread_mutex_lock(&device_lock);
	if (!d->name[0] && nbd_first_free(d->name, sizeof(d->name), taken) < 0)
		d->name[0] = '\0';
	snprintf(name, namelen, "%s", d->name);
	pthread_mutex_unlock(&device_lock);
	if (!name[0] && netlink)
		return 0;
	if (!name[0]) {
		snprintf(err, errlen, "no free nbd device (raise nbds_max in modprobe.d?)");
		return -1;
	}
	if (!nbd_exists(name) && netlink)
		return 0;
	if (!nbd_exists(name)) {
		snprintf(err, errlen, "/dev/%s does not exist (raise nbds_max in modprobe.d?)", name);
		return -1;
	}
	if (nbd_is_free(name))
		return 0;
	pid = nbd_pid(name);
	if (rebind && !netlink)
		snprintf(err, errlen,
			 "%s is still held open%s: the ioctl binding can rebind it only once it is closed (unmount it)",
			 name, pid ? "" : " with its old size");
	else
		snprintf(err, errlen, "%s is in use by another client (pid %ld): leaving it alone",
			 name, pid);
	forget_any(d, rebind);
	return -1;
}

static void binding_ended(void *arg)
{
	struct device *d = arg;

	pthread_mutex_lock(&device_lock);
	d->ended = true;
	device_wake_locked(d);
	pthread_mutex_unlock(&device_lock);
}

static void binding_changed(void *arg)
{
	struct device *d = arg;

	pthread_mutex_lock(&device_lock);
	d->changed = true;
	device_wake_locked(d);
	pthread_mutex_unlock(&device_lock);
}

static void set_binding_name(struct device *d, const char *name)
{
	pthread_mutex_lock(&device_lock);
	d->binding = name;
	pthread_mutex_unlock(&device_lock);
}

/* The size for the kernel: whole blocks, unchanged across reconnects. */
static int kernel_geometry(struct device *d, const struct client_export *ex,
			   bool rebind, uint64_t *size, uint32_t *blksize,
			   char *err, size_t errlen)
{
	uint64_t old;

	if (client_kernel_block_size(ex, blksize, err, errlen) < 0)
		return -1;
	*size = ex->size - ex->size % *blksize;
	pthread_mutex_lock(&device_lock);
	old = d->size;
	pthread_mutex_unlock(&device_lock);
	if (rebind && *size != old) {
		snprintf(err, errlen,
			 "the export's size changed from %" PRIu64 " to %" PRIu64 " bytes: not rebinding",
			 old, *size);
		return -1;
	}
	if (*size != ex->size && !rebind)
		log_warn("%s: export size %" PRIu64 " is not a multiple of the block size %u; the last %" PRIu64 " bytes are not used",
			 d->name, ex->size, *blksize, ex->size - *size);
	return 0;
}

static void mark_connected(struct device *d, const struct client_export *ex,
			   const struct bind_params *p, const char *binding)
{
	char dead[64] = "", tls[96] = "";

	pthread_mutex_lock(&device_lock);
	if (d->uri.tls)
		snprintf(tls, sizeof(tls), ", %s TLS (%s)", d->tls_used, d->tls_detail);
	d->state = DEV_CONNECTED;
	d->size = p->size;
	d->blksize = p->blksize;
	d->flags = ex->flags;
	d->error[0] = '\0';
	pthread_mutex_unlock(&device_lock);
	/* The kernel may send requests up to 32 MiB; a server that takes
	 * less gets smaller ones. */
	if (ex->have_block_size && ex->max_payload < (32U << 20))
		nbd_limit_request_size(d->name, ex->max_payload);
	if (!strcmp(binding, "netlink"))
		snprintf(dead, sizeof(dead), ", dead-timeout %u s", d->dead_timeout);
	log_info("%s: attached %s (%" PRIu64 " bytes, block size %u, %u connection%s%s, %s binding%s%s)",
		 d->name, d->uri_text, p->size, p->blksize, d->connections,
		 d->connections == 1 ? "" : "s", d->readonly ? ", read-only" : "",
		 binding, dead, tls);
}

/* The device the binding used (the kernel's choice, for netlink with
 * none named). False when another entry reserves it: given back. */
static bool take_name(struct device *d, const char *chosen)
{
	bool clash;

	pthread_mutex_lock(&device_lock);
	clash = device_name_taken_locked(chosen, d);
	if (!clash)
		snprintf(d->name, sizeof(d->name), "%s", chosen);
	pthread_mutex_unlock(&device_lock);
	return !clash;
}

/* d->export_name is never touched here: it is the name this host asked
 * for (device_new), and names the udev link. A server's NBD_INFO_NAME
 * must not pick which /dev/nbd/by-export/ link a device takes. */
static void set_bound(struct device *d, bool bound)
{
	pthread_mutex_lock(&device_lock);
	d->ended = false;
	d->changed = false;
	d->bound = bound;
	pthread_mutex_unlock(&device_lock);
}

/* The server's own name for the export, when it differs: said once, as
 * the server's words (escaped), never used. */
static void note_server_name(struct device *d, const struct client_export *ex)
{
	char asked[LOG_ESCAPE_SIZE], theirs[LOG_ESCAPE_SIZE];

	if (!ex->server_name[0] || !strcmp(ex->server_name, ex->name))
		return;
	log_info("%s: the server calls export '%s' '%s'; the device is named by '%s' as asked",
		 d->name[0] ? d->name : d->spec, log_escape(ex->name, asked, sizeof(asked)),
		 log_escape(ex->server_name, theirs, sizeof(theirs)), asked);
}

static void fill_params(struct device *d, const struct client_export *ex, const int *fds,
			struct bind_params *p)
{
	p->flags = ex->flags;
	p->readonly = d->readonly;
	p->timeout = d->timeout;
	p->dead_timeout = d->dead_timeout;
	p->fds = fds;
	p->nfds = d->connections;
	p->identifier = d->backend_id;
	p->ended = binding_ended;
	p->changed = binding_changed;
	p->ended_arg = d;
}

/* Undoes a bind to a device another entry reserves. */
static void give_back(struct device *d, const struct binding_ops *ops, struct binding *b,
		      const char *chosen, char *err, size_t errlen)
{
	char ignored[256];
	int error;

	ops->disconnect(b, ignored, sizeof(ignored));
	ops->wait(b, &error);
	set_bound(d, false);
	snprintf(err, errlen, "no free nbd device (the kernel chose %s, which another entry waits for)",
		 chosen);
}

/* Connects, negotiates and binds; the binding, or NULL with err set. */
static struct binding *attach(struct device *d, const struct binding_ops *ops, bool rebind,
			      char *err, size_t errlen)
{
	char name[64], chosen[32] = "";
	struct bind_params p = { .device = name, .chosen = chosen, .chosen_len = sizeof(chosen) };
	int fds[DEVICE_MAX_CONNECTIONS];
	struct client_export ex;
	struct binding *b;

	set_state(d, rebind ? DEV_RECONNECTING : DEV_CONNECTING);
	if (choose_device(d, ops, rebind, name, sizeof(name), err, errlen) < 0) {
		set_state(d, rebind ? DEV_RECONNECTING : DEV_WAITING);
		return NULL;
	}
	if (export_connect_all(d, fds, &ex, err, errlen) < 0)
		return NULL;
	if (kernel_geometry(d, &ex, rebind, &p.size, &p.blksize, err, errlen) < 0 ||
	    stopping(d)) {
		for (unsigned i = 0; i < d->connections; i++)
			close(fds[i]);
		return NULL;
	}
	fill_params(d, &ex, fds, &p);
	/* From here udev may ask for the device's name (the kernel
	 * announces the device as soon as it serves). */
	note_server_name(d, &ex);
	set_bound(d, true);
	b = ops->bind(&p, err, errlen);		/* takes the sockets */
	if (!b) {
		set_bound(d, false);
		return NULL;
	}
	if (!take_name(d, chosen)) {
		give_back(d, ops, b, chosen, err, errlen);
		return NULL;
	}
	mark_connected(d, &ex, &p, ops->name);
	if (ops == &netlink_binding)
		device_state_save(d);
	return b;
}

/*
 * After a take-over, with a request timeout: a connection that died
 * while no daemon ran sent no LINK_DEAD to anyone. Offer the kernel
 * fresh connections until it stops taking them; each one it takes
 * replaces such a connection (one more connection to the server when
 * all is well). Without a timeout the kernel's answer cannot be seen
 * (netlink_bind.c: adopted()), so this is skipped.
 */
static void probe_adopted(struct device *d, struct binding *b)
{
	struct client_export ex;
	char err[512];
	int fd, rc = 1;

	for (unsigned i = 0; i < d->connections && rc == 1 && d->timeout; i++) {
		if (export_connect(d, 0, NULL, &ex, &fd, err, sizeof(err)) < 0) {
			log_info("%s: checking its connections: %s", d->name, err);
			return;
		}
		if (same_export(d, &ex, err, sizeof(err)) < 0) {
			close(fd);
			note_error(d, err);
			return;
		}
		rc = netlink_probe(b, fd, err, sizeof(err));
		if (rc < 0)
			log_warn("%s: %s", d->name, err);
		if (rc == 1)
			log_warn("%s: a connection to %s had died while no daemon ran; replaced",
				 d->name, d->uri_text);
	}
}

/* A device an earlier run attached (device_state.c), taken over as the
 * kernel has it; NULL when the kernel has let it go meanwhile. */
static struct binding *adopt(struct device *d, char *err, size_t errlen)
{
	struct bind_params p = {
		.device = d->name, .timeout = d->timeout, .nfds = d->connections,
		.identifier = d->backend_id, .ended = binding_ended,
		.changed = binding_changed, .ended_arg = d,
	};
	struct binding *b;

	set_bound(d, true);
	b = netlink_adopt(&p, err, errlen);
	if (!b) {
		set_bound(d, false);
		device_state_forget(d->name);
		return NULL;
	}
	set_state(d, DEV_CONNECTED);
	log_info("%s: taken over from an earlier run of nbd-clientd: %s (%" PRIu64 " bytes, %u connection%s, dead-timeout %u s)",
		 d->name, d->uri_text, d->size, d->connections,
		 d->connections == 1 ? "" : "s", d->dead_timeout);
	probe_adopted(d, b);
	return b;
}

/* The kernel let go of the device: it is bound anew. */
static void lost(struct device *d, int error)
{
	pthread_mutex_lock(&device_lock);
	d->state = DEV_RECONNECTING;
	d->reconnects++;
	snprintf(d->error, sizeof(d->error), "connection lost%s%s",
		 error ? ": " : "", error ? strerror(error) : "");
	pthread_mutex_unlock(&device_lock);
	log_warn("%s: connection to %s lost%s%s; reconnecting", d->name, d->uri_text,
		 error ? ": " : "", error ? strerror(error) : "");
}

/* Sleeps while the device is served, replacing dead connections where
 * the binding can. True when it ended on purpose. */
static bool serve(struct device *d, const struct binding_ops *ops, struct binding *b)
{
	enum bind_end end;
	char err[512] = "";
	bool stop, changed;
	int error = 0;

	for (;;) {
		pthread_mutex_lock(&device_lock);
		while (!d->ended && !d->stop && !d->changed)
			device_wait_locked(d, NULL);
		stop = d->stop;
		changed = d->changed && !d->ended && !stop;
		d->changed = false;
		if (stop)
			d->state = DEV_DETACHING;
		pthread_mutex_unlock(&device_lock);
		if (!changed)
			break;
		if (ops->replace)
			reconnect_dead(d, b, ops);
	}
	if (stop && ops->disconnect(b, err, sizeof(err)) < 0)
		log_warn("%s: %s", d->name, err);
	else if (err[0])
		log_warn("%s: %s", d->name, err);
	end = ops->wait(b, &error);
	device_state_forget(d->name);
	pthread_mutex_lock(&device_lock);
	d->bound = false;
	pthread_mutex_unlock(&device_lock);
	if (stop || end == BIND_END_REQUESTED) {
		log_info("%s: detached from %s", d->name, d->uri_text);
		return true;
	}
	lost(d, error);
	return false;
}

void *supervise(void *arg)
{
	struct device *d = arg;
	const struct binding_ops *ops = NULL;
	bool bound_once = false;
	unsigned attempt = 0;
	char err[512];

	while (!stopping(d)) {
		struct binding *b = NULL;

		err[0] = '\0';
		if (d->adopting) {
			d->adopting = false;
			ops = &netlink_binding;
			set_binding_name(d, ops->name);
			bound_once = true;	/* from now on, as if this run bound it */
			b = adopt(d, err, sizeof(err));
		}
		if (!ops && (ops = pick_binding(d, err, sizeof(err))))
			set_binding_name(d, ops->name);
		if (ops && !b)
			b = attach(d, ops, bound_once, err, sizeof(err));
		if (b) {
			bound_once = true;
			attempt = 0;
			first_result(d, 0, NULL);
			if (serve(d, ops, b))
				break;
			continue;	/* the first retry comes at once */
		}
		if (d->once && !bound_once) {
			log_error("%s: %s", d->name[0] ? d->name : d->spec, err);
			first_result(d, -1, err);
			break;
		}
		note_error(d, err);
		if (backoff(d, attempt++, BACKOFF_CAP_MS))
			break;
	}
	first_result(d, -1, "stopped before it was attached");
	pthread_mutex_lock(&device_lock);
	d->state = DEV_STOPPED;
	device_remove_locked(d);
	device_put_locked(d);		/* the supervisor's reference */
	pthread_mutex_unlock(&device_lock);
	return NULL;
}
