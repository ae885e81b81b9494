/* SPDX-License-Identifier: MIT */
/*
 * One thread per attachment: choose the device and the binding, connect
 * and negotiate every connection, hand them to the kernel, then sleep
 * until the kernel lets go, a connection dies, or a detach is asked for.
 *
 * netlink: a dead connection is replaced in the live device while the
 * kernel holds its I/O (reconnect.c); the device is bound anew only when
 * the kernel dropped its configuration.
 * ioctl: a lost connection ends the binding and the device is bound
 * anew, which succeeds only once nobody holds it open: the kernel keeps
 * a held device's dead configuration (see ioctl_bind.c). Until then
 * attempts fail with "still held open" and are retried.
 * Either way attempts back off (backoff.c), and the export must come
 * back with the size it had. Nothing here knows which binding it has:
 * what differs is said by the binding's ops (binding.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attach/supervisor_priv.h"
#include "attach/sysfs_nbd.h"
#include "common/log.h"

/* For binding auto, the first the kernel offers. */
const struct binding_ops *const attach_bindings[] = {
	&netlink_binding_ops, &ioctl_binding_ops, NULL,
};

static void first_result(struct cnbd_attach *a, int rc, const char *err)
{
	pthread_mutex_lock(&a->lock);
	if (!a->first_done) {
		a->first_done = true;
		a->first_rc = rc;
		if (err)
			snprintf(a->error, sizeof(a->error), "%s", err);
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
}

void give_up(struct cnbd_attach *a)
{
	char why[128];

	snprintf(why, sizeof(why), "gave up after %u s without a connection (give_up_s)",
		 a->give_up_s);
	log_error("%s: no connection to %s: %s", attach_who(a), attach_uri(a), why);
	first_result(a, -1, why);
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	snprintf(a->error, sizeof(a->error), "%s", why);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* The binding of an attachment, chosen at its first attach and kept. */
static const struct binding_ops *pick_binding(struct cnbd_attach *a, char *err, size_t errlen)
{
	const struct binding_ops *ops = NULL;

	switch (a->binding_choice) {
	case CNBD_ATTACH_BINDING_IOCTL:
		ops = &ioctl_binding_ops;
		break;
	case CNBD_ATTACH_BINDING_NETLINK:
		ops = &netlink_binding_ops;
		break;
	case CNBD_ATTACH_BINDING_AUTO:
		for (size_t i = 0; !ops && attach_bindings[i]; i++)
			if (attach_bindings[i]->available())
				ops = attach_bindings[i];
		return ops;
	}
	if (ops->available())
		return ops;
	snprintf(err, errlen, "binding = %s, but %s", ops->name, ops->missing);
	return NULL;
}

/* An attachment to any device that was never bound there looks
 * elsewhere next time. */
static void forget_any(struct cnbd_attach *a, bool rebind)
{
	if (!rebind && a->any_device)
		names_forget(a);
}

/*
 * Picks (for any device) and checks the device; name gets it. Where the
 * kernel makes devices, one that does not exist yet is fine, and name ""
 * lets the kernel choose (and make one) when none is free.
 */
static int choose_device(struct cnbd_attach *a, const struct binding_ops *ops, bool rebind,
			 char *name, size_t namelen, char *err, size_t errlen)
{
	bool makes = ops->makes_devices;
	long pid;

	if (!a->name[0])
		names_choose(a);
	snprintf(name, namelen, "%s", a->name);
	if (!name[0] && makes)
		return 0;
	if (!name[0]) {
		snprintf(err, errlen, "no free nbd device (raise nbds_max in modprobe.d?)");
		return -1;
	}
	if (!nbd_exists(name) && makes)
		return 0;
	if (!nbd_exists(name)) {
		snprintf(err, errlen, "/dev/%s does not exist (raise nbds_max in modprobe.d?)", name);
		return -1;
	}
	if (nbd_is_free(name))
		return 0;
	pid = nbd_pid(name);
	if (rebind && !ops->holds_io)
		snprintf(err, errlen,
			 "%s is still held open%s: the %s binding can rebind it only once it is closed (unmount it)",
			 name, pid ? "" : " with its old size", ops->name);
	else
		snprintf(err, errlen, "%s is in use by another client (pid %ld): leaving it alone",
			 name, pid);
	forget_any(a, rebind);
	return -1;
}

static void binding_ended(void *arg)
{
	struct cnbd_attach *a = arg;

	pthread_mutex_lock(&a->lock);
	a->ended = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void binding_changed(void *arg)
{
	struct cnbd_attach *a = arg;

	pthread_mutex_lock(&a->lock);
	a->changed = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void set_binding_name(struct cnbd_attach *a, const char *name)
{
	pthread_mutex_lock(&a->lock);
	a->binding = name;
	pthread_mutex_unlock(&a->lock);
}

/* The size for the kernel: whole blocks, unchanged across reconnects. */
static int kernel_geometry(struct cnbd_attach *a, const struct client_export *ex,
			   bool rebind, uint64_t *size, uint32_t *blksize,
			   char *err, size_t errlen)
{
	uint64_t old;

	if (client_kernel_block_size(ex, blksize, err, errlen) < 0)
		return -1;
	*size = ex->size - ex->size % *blksize;
	pthread_mutex_lock(&a->lock);
	old = a->size;
	pthread_mutex_unlock(&a->lock);
	if (rebind && *size != old) {
		snprintf(err, errlen,
			 "the export's size changed from %" PRIu64 " to %" PRIu64 " bytes: not rebinding",
			 old, *size);
		return -1;
	}
	if (*size != ex->size && !rebind)
		log_warn("%s: export size %" PRIu64 " is not a multiple of the block size %u; the last %" PRIu64 " bytes are not used",
			 attach_who(a), ex->size, *blksize, ex->size - *size);
	return 0;
}

static void mark_connected(struct cnbd_attach *a, const struct client_export *ex,
			   const struct bind_params *p, const struct binding_ops *ops)
{
	char dead[64] = "", tls[96] = "";

	pthread_mutex_lock(&a->lock);
	if (a->uri.tls)
		snprintf(tls, sizeof(tls), ", %s TLS (%s)", a->tls_used, a->tls_detail);
	a->state = CNBD_ATTACH_CONNECTED;
	a->size = p->size;
	a->blksize = p->blksize;
	a->flags = ex->flags;
	a->error[0] = '\0';
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	connected(a);
	/* The kernel may send requests up to 32 MiB; a server that takes
	 * less gets smaller ones. */
	if (ex->have_block_size && ex->max_payload < (32U << 20))
		nbd_limit_request_size(a->name, ex->max_payload);
	if (ops->holds_io)
		snprintf(dead, sizeof(dead), ", dead-timeout %u s", a->dead_timeout);
	log_info("%s: attached %s (%" PRIu64 " bytes, block size %u, %u connection%s%s, %s binding%s%s)",
		 a->name, attach_uri(a), p->size, p->blksize, a->connections,
		 a->connections == 1 ? "" : "s", a->readonly ? ", read-only" : "",
		 ops->name, dead, tls);
}

static void set_bound(struct cnbd_attach *a, bool bound)
{
	pthread_mutex_lock(&a->lock);
	a->ended = false;
	a->changed = false;
	a->bound = bound;
	pthread_mutex_unlock(&a->lock);
}

/* The server's own name for the export, when it differs: said once, as
 * the server's words (escaped), never used. */
static void note_server_name(struct cnbd_attach *a, const struct client_export *ex)
{
	char asked[LOG_ESCAPE_SIZE], theirs[LOG_ESCAPE_SIZE];

	if (!ex->server_name[0] || !strcmp(ex->server_name, ex->name))
		return;
	log_info("%s: the server calls export '%s' '%s'; the device is named by '%s' as asked",
		 attach_who(a), log_escape(ex->name, asked, sizeof(asked)),
		 log_escape(ex->server_name, theirs, sizeof(theirs)), asked);
}

static void fill_params(struct cnbd_attach *a, const struct client_export *ex, const int *fds,
			struct bind_params *p)
{
	p->flags = ex->flags;
	p->readonly = a->readonly;
	p->timeout = a->timeout;
	p->dead_timeout = a->dead_timeout;
	p->fds = fds;
	p->nfds = a->connections;
	p->identifier = a->identifier;
	p->ended = binding_ended;
	p->changed = binding_changed;
	p->ended_arg = a;
}

/* Undoes a bind to a device another attachment of this process holds. */
static void give_back(struct cnbd_attach *a, struct binding *b, const char *chosen,
		      char *err, size_t errlen)
{
	char ignored[256];
	int error;

	b->ops->disconnect(b, ignored, sizeof(ignored));
	b->ops->wait(b, &error);
	set_bound(a, false);
	snprintf(err, errlen, "no free nbd device (the kernel chose %s, which another entry waits for)",
		 chosen);
}

/* Connects, negotiates and binds; the binding, or NULL with err set. */
static struct binding *attach(struct cnbd_attach *a, const struct binding_ops *ops,
			      bool rebind, char *err, size_t errlen)
{
	char name[64], chosen[32] = "";
	struct bind_params p = { .device = name, .chosen = chosen, .chosen_len = sizeof(chosen) };
	int fds[ATTACH_MAX_CONNECTIONS];
	struct client_export ex;
	struct binding *b;

	set_state(a, rebind ? CNBD_ATTACH_RECONNECTING : CNBD_ATTACH_CONNECTING);
	if (choose_device(a, ops, rebind, name, sizeof(name), err, errlen) < 0) {
		set_state(a, rebind ? CNBD_ATTACH_RECONNECTING : CNBD_ATTACH_WAITING);
		return NULL;
	}
	if (export_connect_all(a, fds, &ex, err, errlen) < 0)
		return NULL;
	if (kernel_geometry(a, &ex, rebind, &p.size, &p.blksize, err, errlen) < 0 ||
	    stopping(a)) {
		for (unsigned i = 0; i < a->connections; i++)
			close(fds[i]);
		return NULL;
	}
	fill_params(a, &ex, fds, &p);
	/* From here udev may ask for the device's name (the kernel
	 * announces the device as soon as it serves). */
	note_server_name(a, &ex);
	set_bound(a, true);
	b = ops->bind(&p, err, errlen);		/* takes the sockets */
	if (!b) {
		set_bound(a, false);
		return NULL;
	}
	if (!names_take(a, chosen)) {
		give_back(a, b, chosen, err, errlen);
		return NULL;
	}
	mark_connected(a, &ex, &p, ops);
	emit(a, CNBD_ATTACH_EV_BOUND);
	return b;
}

/*
 * After a take-over, with a request timeout: a connection that died
 * while nobody watched sent no LINK_DEAD to anyone. Offer the kernel
 * fresh connections until it stops taking them; each one it takes
 * replaces such a connection (one more connection to the server when
 * all is well). Without a timeout the kernel's answer cannot be seen,
 * so this is skipped.
 */
static void probe_adopted(struct cnbd_attach *a, struct binding *b)
{
	enum bind_probe rc = BIND_PROBE_REPLACED;
	struct client_export ex;
	char err[512];
	int fd;

	for (unsigned i = 0; i < a->connections && rc == BIND_PROBE_REPLACED && a->timeout; i++) {
		if (export_connect(a, 0, NULL, &ex, &fd, err, sizeof(err)) < 0) {
			log_info("%s: checking its connections: %s", a->name, err);
			return;
		}
		if (same_export(a, &ex, err, sizeof(err)) < 0) {
			close(fd);
			note_error(a, err);
			return;
		}
		rc = b->ops->probe(b, fd, err, sizeof(err));
		if (rc == BIND_PROBE_FAILED)
			log_warn("%s: %s", a->name, err);
		if (rc == BIND_PROBE_REPLACED)
			log_warn("%s: a connection to %s had died while no daemon ran; replaced",
				 a->name, attach_uri(a));
	}
}

/* A device an earlier process attached (cnbd_attach_adopt), taken over
 * as the kernel has it; NULL when the kernel has let it go meanwhile. */
static struct binding *adopt(struct cnbd_attach *a, char *err, size_t errlen)
{
	struct bind_params p = {
		.device = a->name, .timeout = a->timeout, .nfds = a->connections,
		.identifier = a->identifier, .ended = binding_ended,
		.changed = binding_changed, .ended_arg = a,
	};
	struct binding *b;

	set_bound(a, true);
	b = a->ops->adopt(&p, err, errlen);
	if (!b) {
		set_bound(a, false);
		emit(a, CNBD_ATTACH_EV_UNBOUND);
		return NULL;
	}
	set_state(a, CNBD_ATTACH_CONNECTED);
	log_info("%s: taken over from an earlier run: %s (%" PRIu64 " bytes, %u connection%s, dead-timeout %u s)",
		 a->name, attach_uri(a), a->size, a->connections,
		 a->connections == 1 ? "" : "s", a->dead_timeout);
	emit(a, CNBD_ATTACH_EV_BOUND);
	probe_adopted(a, b);
	return b;
}

/* The kernel let go of the device: it is bound anew. */
static void lost(struct cnbd_attach *a, int error)
{
	pthread_mutex_lock(&a->lock);
	a->state = CNBD_ATTACH_RECONNECTING;
	a->reconnects++;
	snprintf(a->error, sizeof(a->error), "connection lost%s%s",
		 error ? ": " : "", error ? strerror(error) : "");
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	log_warn("%s: connection to %s lost%s%s; reconnecting", a->name, attach_uri(a),
		 error ? ": " : "", error ? strerror(error) : "");
	giving_up(a);		/* the clock starts */
	emit(a, CNBD_ATTACH_EV_LOST);
}

/* Flushes and disconnects on a stop, then waits for the kernel to let
 * go: how it ended. */
static enum bind_end let_go(struct cnbd_attach *a, struct binding *b, bool stop, int *error)
{
	char err[512] = "";
	bool failed = false;

	/* A flush that failed (or could not be made) is a failed detach
	 * too, even when the disconnect itself went through. */
	if (stop)
		failed = b->ops->disconnect(b, err, sizeof(err)) < 0 || err[0];
	if (failed)
		log_warn("%s: %s", a->name, err);
	pthread_mutex_lock(&a->lock);
	a->disconnect_failed = failed;
	pthread_mutex_unlock(&a->lock);
	return b->ops->wait(b, error);
}

/* Sleeps while the device is served, replacing dead connections where
 * the binding can. True when it ended on purpose. */
static bool serve(struct cnbd_attach *a, struct binding *b)
{
	enum bind_end end;
	bool stop, changed;
	int error = 0;

	for (;;) {
		pthread_mutex_lock(&a->lock);
		while (!a->ended && !a->stop && !a->changed)
			attach_wait_locked(a, NULL);
		stop = a->stop;
		changed = a->changed && !a->ended && !stop;
		a->changed = false;
		if (stop)
			a->state = CNBD_ATTACH_DETACHING;
		pthread_mutex_unlock(&a->lock);
		if (!changed)
			break;
		if (b->ops->replace)
			reconnect_dead(a, b);
	}
	end = let_go(a, b, stop, &error);
	pthread_mutex_lock(&a->lock);
	a->bound = false;
	pthread_mutex_unlock(&a->lock);
	emit(a, CNBD_ATTACH_EV_UNBOUND);
	if (stop || end == BIND_END_REQUESTED) {
		log_info("%s: detached from %s", a->name, attach_uri(a));
		return true;
	}
	lost(a, error);
	return false;
}

/* The supervisor has ended: its name goes, its last event is told, and
 * only then does a detach waiting for it return. */
static void finish(struct cnbd_attach *a)
{
	first_result(a, -1, "stopped before it was attached");
	names_remove(a);
	set_state(a, CNBD_ATTACH_STOPPED);
	emit(a, CNBD_ATTACH_EV_STOPPED);
	pthread_mutex_lock(&a->lock);
	a->finished = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	attach_put(a);			/* the supervisor's reference */
}

void *supervise(void *arg)
{
	struct cnbd_attach *a = arg;
	bool bound_once = false;
	unsigned attempt = 0;
	char err[512];

	pthread_mutex_lock(&a->lock);
	a->thread = pthread_self();
	pthread_mutex_unlock(&a->lock);
	if (!a->adopting)
		giving_up(a);		/* the give-up clock starts now */
	while (!stopping(a)) {
		struct binding *b = NULL;

		err[0] = '\0';
		if (a->adopting) {
			a->adopting = false;
			set_binding_name(a, a->ops->name);
			bound_once = true;	/* from now on, as if bound here */
			b = adopt(a, err, sizeof(err));
		}
		if (!a->ops && (a->ops = pick_binding(a, err, sizeof(err))))
			set_binding_name(a, a->ops->name);
		if (a->ops && !b)
			b = attach(a, a->ops, bound_once, err, sizeof(err));
		if (b) {
			bound_once = true;
			attempt = 0;
			first_result(a, 0, NULL);
			if (serve(a, b))
				break;
			continue;	/* the first retry comes at once */
		}
		if (a->once && !bound_once) {
			log_error("%s: %s", attach_who(a), err);
			first_result(a, -1, err);
			break;
		}
		note_error(a, err);
		if (giving_up(a)) {
			give_up(a);
			break;
		}
		if (backoff(a, attempt++, false))
			break;
	}
	finish(a);
	return NULL;
}
