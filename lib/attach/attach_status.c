/* SPDX-License-Identifier: MIT */
/* What a program asks of an attachment while it runs, what it tells it
 * (kick, stop), and the small helpers on its state. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "attach/kmod_load.h"
#include "attach/netlink_call.h"
#include "attach/supervisor_priv.h"
#include "common/log.h"

void cnbd_attach_status(struct cnbd_attach *a, struct cnbd_attach_status *st)
{
	pthread_mutex_lock(&a->lock);
	*st = (struct cnbd_attach_status){
		.state = a->state, .binding = a->binding, .bound = a->bound,
		.size = a->size, .block_size = a->blksize, .flags = a->flags,
		.connections = a->connections, .reconnects = a->reconnects,
		.tls = a->tls_used,
	};
	snprintf(st->device, sizeof(st->device), "%s", a->name);
	snprintf(st->tls_detail, sizeof(st->tls_detail), "%s", a->tls_detail);
	snprintf(st->error, sizeof(st->error), "%s", a->error);
	pthread_mutex_unlock(&a->lock);
}

const char *cnbd_attach_state_name(enum cnbd_attach_state state)
{
	switch (state) {
	case CNBD_ATTACH_WAITING: return "waiting";
	case CNBD_ATTACH_CONNECTING: return "connecting";
	case CNBD_ATTACH_CONNECTED: return "connected";
	case CNBD_ATTACH_RECONNECTING: return "reconnecting";
	case CNBD_ATTACH_FAILED: return "failed";
	case CNBD_ATTACH_DETACHING: return "detaching";
	case CNBD_ATTACH_STOPPED: return "stopped";
	}
	return "?";
}

void cnbd_attach_kick(struct cnbd_attach *a)
{
	pthread_mutex_lock(&a->lock);
	a->kicked = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void cnbd_attach_stop(struct cnbd_attach *a)
{
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	/* The supervisor closes this socket only after clearing it under
	 * the lock, so it is still its socket here. */
	if (a->negotiating >= 0)
		shutdown(a->negotiating, SHUT_RDWR);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

int cnbd_attach_load_module(char *err, size_t errlen)
{
	return kmod_load("nbd", err, errlen);
}

bool cnbd_attach_have_netlink(void)
{
	return nbd_nl_available();
}

/* Called by the supervisor only, which alone changes a->name: reading
 * it without the lock is safe on its own thread. */
const char *attach_who(struct cnbd_attach *a)
{
	return a->name[0] ? a->name : a->label;
}

const char *attach_uri(const struct cnbd_attach *a)
{
	return a->uri_text ? a->uri_text : "the program's sockets";
}

void set_state(struct cnbd_attach *a, enum cnbd_attach_state s)
{
	pthread_mutex_lock(&a->lock);
	a->state = s;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

bool stopping(struct cnbd_attach *a)
{
	bool stop;

	pthread_mutex_lock(&a->lock);
	stop = a->stop;
	pthread_mutex_unlock(&a->lock);
	return stop;
}

/* Records what went wrong; logs it only when it differs from last time,
 * so that a server down for an hour is not a line every 30 seconds. */
void note_error(struct cnbd_attach *a, const char *err)
{
	bool changed;

	pthread_mutex_lock(&a->lock);
	changed = strcmp(a->error, err) != 0;
	snprintf(a->error, sizeof(a->error), "%s", err);
	pthread_mutex_unlock(&a->lock);
	if (changed)
		log_error("%s: %s", attach_who(a), err);
}

void emit(struct cnbd_attach *a, enum cnbd_attach_event ev)
{
	if (a->on_event)
		a->on_event(a, ev, a->arg);
}
