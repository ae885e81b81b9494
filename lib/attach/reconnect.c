/* SPDX-License-Identifier: MIT */
/*
 * Replacing the lost connections of a live device (netlink binding).
 *
 * The kernel holds the device's I/O for up to dead-timeout while no
 * connection is live, and sends it over the live ones while some are.
 * Each lost connection is replaced on its own: connect, negotiate, check
 * that the export is the one the kernel knows (same size, nothing the
 * kernel uses taken away), then swap the socket in. A loss is one log
 * line when found, a replacement one line with how long it took and
 * why the connection was lost. Past dead-timeout with every connection
 * down the kernel fails I/O: the device is "failed", and the daemon
 * goes on trying, so that it is usable again when the server returns.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "attach/supervisor_priv.h"

struct episode {
	struct timespec lost_at;	/* the first loss not yet repaired */
	struct timespec all_dead_at;	/* since when no connection is live */
	bool all_dead;
	bool failed;			/* past dead-timeout with none live */
	unsigned known_dead;		/* losses counted and logged */
	char why[160];
};

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

static bool binding_ended(struct cnbd_attach *a)
{
	bool ended;

	pthread_mutex_lock(&a->lock);
	ended = a->ended;
	pthread_mutex_unlock(&a->lock);
	return ended;
}

/* New losses: counted, logged, shown in nbdctl list. */
static void count_losses(struct cnbd_attach *a, struct episode *e, unsigned dead,
			 const char *why)
{
	if (!e->known_dead) {
		clock_gettime(CLOCK_MONOTONIC, &e->lost_at);
		snprintf(e->why, sizeof(e->why), "%s", why);
	}
	pthread_mutex_lock(&a->lock);
	a->reconnects += dead - e->known_dead;
	a->state = e->failed ? CNBD_ATTACH_FAILED : CNBD_ATTACH_RECONNECTING;
	snprintf(a->error, sizeof(a->error), "connection lost: %s", why);
	pthread_mutex_unlock(&a->lock);
	log_warn("%s: %u of %u connection%s to %s lost (%s); reconnecting, the kernel holds I/O for up to %u s",
		 a->name, dead, a->connections, a->connections == 1 ? "" : "s", attach_uri(a),
		 why, a->dead_timeout);
	e->known_dead = dead;
	emit(a, CNBD_ATTACH_EV_LOST);
}

/* Past dead-timeout with no live connection the kernel fails I/O. */
static void check_failed(struct cnbd_attach *a, struct episode *e, unsigned dead)
{
	if (dead < a->connections) {
		e->all_dead = false;
		return;
	}
	if (!e->all_dead) {
		e->all_dead = true;
		clock_gettime(CLOCK_MONOTONIC, &e->all_dead_at);
	}
	if (e->failed || since(&e->all_dead_at) < a->dead_timeout)
		return;
	e->failed = true;
	set_state(a, CNBD_ATTACH_FAILED);
	log_error("%s: no connection to %s for %u s (dead-timeout): the kernel fails its I/O with EIO now; still reconnecting",
		  a->name, attach_uri(a), a->dead_timeout);
	emit(a, CNBD_ATTACH_EV_FAILED);
}

/* How many connections are down; new losses counted on the way. */
static unsigned take_stock(struct cnbd_attach *a, struct binding *b, struct episode *e)
{
	char why[160];
	unsigned dead = b->ops->dead(b, why, sizeof(why));

	if (dead > e->known_dead)
		count_losses(a, e, dead, why);
	e->known_dead = dead;
	check_failed(a, e, dead);
	return dead;
}

/* The export must be the one the kernel serves: same size, and nothing
 * the kernel relies on (read-write, flush, FUA, trim, multi-conn) gone. */
int same_export(struct cnbd_attach *a, const struct client_export *ex,
		char *err, size_t errlen)
{
	uint16_t need = NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM;
	uint64_t size = ex->size - ex->size % a->blksize;

	if (a->connections > 1)
		need |= NBD_FLAG_CAN_MULTI_CONN;
	need &= a->flags;
	if (size != a->size) {
		snprintf(err, errlen,
			 "the export's size changed from %" PRIu64 " to %" PRIu64 " bytes: not reconnecting",
			 a->size, size);
		return -1;
	}
	if ((ex->flags & need) != need ||
	    ((ex->flags & NBD_FLAG_READ_ONLY) && !(a->flags & NBD_FLAG_READ_ONLY) && !a->readonly)) {
		snprintf(err, errlen,
			 "the export's flags changed from 0x%04x to 0x%04x (the kernel relies on what was offered): not reconnecting",
			 a->flags, ex->flags);
		return -1;
	}
	return 0;
}

static int replace_one(struct cnbd_attach *a, struct binding *b, struct episode *e,
		       unsigned attempt, char *err, size_t errlen)
{
	struct client_export ex;
	int fd;

	if (export_connect(a, 0, NULL, &ex, &fd, err, errlen) < 0)
		return -1;
	if (same_export(a, &ex, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	if (b->ops->replace(b, fd, err, errlen) < 0)	/* takes fd */
		return -1;
	log_info("%s: reconnected to %s %.1f s after the connection was lost (%s), attempt %u",
		 a->name, attach_uri(a), since(&e->lost_at), e->why, attempt);
	e->known_dead--;
	return 0;
}

static void repaired(struct cnbd_attach *a, const struct episode *e)
{
	pthread_mutex_lock(&a->lock);
	a->state = CNBD_ATTACH_CONNECTED;
	a->error[0] = '\0';
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	connected(a);
	if (e->failed)
		log_warn("%s: connected again; I/O that waited longer than the dead-timeout (%u s) failed",
			 a->name, a->dead_timeout);
	emit(a, CNBD_ATTACH_EV_RECONNECTED);
}

void reconnect_dead(struct cnbd_attach *a, struct binding *b)
{
	struct episode e = { 0 };
	unsigned attempt = 0;
	char err[512];

	while (!stopping(a) && !binding_ended(a)) {
		if (take_stock(a, b, &e) == 0) {
			repaired(a, &e);
			return;
		}
		if (!e.all_dead)
			connected(a);
		else if (giving_up(a)) {
			give_up(a);
			return;
		}
		if (replace_one(a, b, &e, attempt + 1, err, sizeof(err)) == 0) {
			attempt = 0;
			continue;
		}
		note_error(a, err);
		if (backoff(a, attempt++, !e.failed))
			return;
	}
}
