/* SPDX-License-Identifier: MIT */
/*
 * Watching a netlink-bound device. The kernel keeps its own reference to
 * each socket; the daemon keeps its descriptor and polls it for nothing
 * but POLLHUP. When nbd.ko gives a connection up (the server closed it,
 * a request timed out, a disconnect) it shuts the socket down both ways,
 * which is exactly when poll reports POLLHUP -- in the same step as it
 * marks the connection dead, so the two views agree, and the daemon
 * learns which connection died (LINK_DEAD only names the device).
 *
 * The device's configuration can also go away (someone disconnected it,
 * or the daemon did): STATUS is asked whenever every socket is down, on
 * LINK_DEAD, and every netlink_bind_status_ms otherwise.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "attach/netlink_bind.h"
#include "attach/socket_death.h"

#define MAX_POLL	65	/* the wake-up descriptor and 64 connections */

struct look {
	struct pollfd pfd[MAX_POLL];
	unsigned conn[MAX_POLL];	/* pfd[k + 1] is conns[conn[k]] */
	unsigned n;
};

/* What to poll: the wake-up descriptor and every live connection. */
static bool snapshot(struct netlink_binding *b, struct look *l)
{
	bool stop;

	pthread_mutex_lock(&b->lock);
	l->pfd[0] = (struct pollfd){ .fd = b->wake_fd, .events = POLLIN };
	l->n = 0;
	for (unsigned i = 0; i < b->nconns && l->n + 1 < MAX_POLL; i++) {
		if (b->conns[i].dead)
			continue;
		l->pfd[l->n + 1] = (struct pollfd){ .fd = b->conns[i].fd };
		l->conn[l->n++] = i;
	}
	stop = b->stop;
	pthread_mutex_unlock(&b->lock);
	return stop;
}

/* Marks the connections that hung up; true when any did. */
static bool collect(struct netlink_binding *b, const struct look *l)
{
	bool changed = false;

	pthread_mutex_lock(&b->lock);
	for (unsigned k = 0; k < l->n; k++) {
		struct nl_conn *c = &b->conns[l->conn[k]];

		/* The descriptor may have been replaced meanwhile. */
		if (!(l->pfd[k + 1].revents & POLLHUP) || c->fd != l->pfd[k + 1].fd || c->dead)
			continue;
		c->dead = true;
		socket_death_reason(c->fd, c->why, sizeof(c->why));
		changed = true;
		log_debug("%s: connection %u of %u is down: %s", b->device,
			  l->conn[k] + 1, b->nconns, c->why);
	}
	pthread_mutex_unlock(&b->lock);
	return changed;
}

/* A connection taken over from an earlier run has no descriptor here
 * (nl_adopt): when LINK_DEAD arrives and no watched socket hung up,
 * the first such connection is the one that died. */
static bool blame_blind(struct netlink_binding *b, bool hung_up)
{
	bool found = false;

	pthread_mutex_lock(&b->lock);
	for (unsigned i = 0; b->link_dead && !hung_up && !found && i < b->nconns; i++) {
		struct nl_conn *c = &b->conns[i];

		if (c->fd >= 0 || c->dead)
			continue;
		c->dead = found = true;
		snprintf(c->why, sizeof(c->why),
			 "the kernel reported it dead (LINK_DEAD; taken over from an earlier run, so no more is known)");
	}
	pthread_mutex_unlock(&b->lock);
	return found;
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* Whether the device has ended; asks the kernel when it is worth it. */
static bool ended(struct netlink_binding *b, bool timed_out)
{
	bool all_dead = true, ask, requested;

	pthread_mutex_lock(&b->lock);
	for (unsigned i = 0; i < b->nconns; i++)
		all_dead &= b->conns[i].dead;
	ask = timed_out || all_dead || b->link_dead;
	b->link_dead = false;
	requested = b->disconnect_requested;
	pthread_mutex_unlock(&b->lock);
	if (requested && all_dead)
		return true;
	return ask && netlink_configured(b) == 0;
}

/* An error reported without a hang-up is the kernel's to read (its
 * receiver is about to give the connection up): do not spin on it. */
static bool error_only(const struct look *l)
{
	for (unsigned k = 0; k < l->n; k++)
		if (l->pfd[k + 1].revents && !(l->pfd[k + 1].revents & POLLHUP))
			return true;
	return false;
}

void *netlink_monitor(void *arg)
{
	struct netlink_binding *b = arg;
	struct look l;

	while (!snapshot(b, &l)) {
		int rc = poll(l.pfd, l.n + 1, (int)netlink_bind_status_ms);

		if (rc < 0 && errno != EINTR)
			break;
		if (l.pfd[0].revents & POLLIN)
			drain(b->wake_fd);
		bool hung_up = collect(b, &l);

		if ((blame_blind(b, hung_up) || hung_up) && b->changed_fn)
			b->changed_fn(b->cb_arg);
		if (ended(b, rc == 0))
			break;
		if (error_only(&l))
			nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
	pthread_mutex_lock(&b->lock);
	b->ended = true;
	pthread_mutex_unlock(&b->lock);
	if (b->ended_fn)
		b->ended_fn(b->cb_arg);
	return NULL;
}
