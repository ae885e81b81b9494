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
#include "supervisor_priv.h"

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

static bool binding_ended(struct device *d)
{
	bool ended;

	pthread_mutex_lock(&device_lock);
	ended = d->ended;
	pthread_mutex_unlock(&device_lock);
	return ended;
}

/* New losses: counted, logged, shown in nbdctl list. */
static void count_losses(struct device *d, struct episode *e, unsigned dead,
			 const char *why)
{
	if (!e->known_dead) {
		clock_gettime(CLOCK_MONOTONIC, &e->lost_at);
		snprintf(e->why, sizeof(e->why), "%s", why);
	}
	pthread_mutex_lock(&device_lock);
	d->reconnects += dead - e->known_dead;
	d->state = e->failed ? DEV_FAILED : DEV_RECONNECTING;
	snprintf(d->error, sizeof(d->error), "connection lost: %s", why);
	pthread_mutex_unlock(&device_lock);
	log_warn("%s: %u of %u connection%s to %s lost (%s); reconnecting, the kernel holds I/O for up to %u s",
		 d->name, dead, d->connections, d->connections == 1 ? "" : "s", d->uri_text,
		 why, d->dead_timeout);
	e->known_dead = dead;
}

/* Past dead-timeout with no live connection the kernel fails I/O. */
static void check_failed(struct device *d, struct episode *e, unsigned dead)
{
	if (dead < d->connections) {
		e->all_dead = false;
		return;
	}
	if (!e->all_dead) {
		e->all_dead = true;
		clock_gettime(CLOCK_MONOTONIC, &e->all_dead_at);
	}
	if (e->failed || since(&e->all_dead_at) < d->dead_timeout)
		return;
	e->failed = true;
	set_state(d, DEV_FAILED);
	log_error("%s: no connection to %s for %u s (dead-timeout): the kernel fails its I/O with EIO now; still reconnecting",
		  d->name, d->uri_text, d->dead_timeout);
}

/* How many connections are down; new losses counted on the way. */
static unsigned take_stock(struct device *d, struct binding *b,
			   const struct binding_ops *ops, struct episode *e)
{
	char why[160];
	unsigned dead = ops->dead(b, why, sizeof(why));

	if (dead > e->known_dead)
		count_losses(d, e, dead, why);
	e->known_dead = dead;
	check_failed(d, e, dead);
	return dead;
}

/* The export must be the one the kernel serves: same size, and nothing
 * the kernel relies on (read-write, flush, FUA, trim, multi-conn) gone. */
int same_export(struct device *d, const struct client_export *ex,
		char *err, size_t errlen)
{
	uint16_t need = NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM;
	uint64_t size = ex->size - ex->size % d->blksize;

	if (d->connections > 1)
		need |= NBD_FLAG_CAN_MULTI_CONN;
	need &= d->flags;
	if (size != d->size) {
		snprintf(err, errlen,
			 "the export's size changed from %" PRIu64 " to %" PRIu64 " bytes: not reconnecting",
			 d->size, size);
		return -1;
	}
	if ((ex->flags & need) != need ||
	    ((ex->flags & NBD_FLAG_READ_ONLY) && !(d->flags & NBD_FLAG_READ_ONLY) && !d->readonly)) {
		snprintf(err, errlen,
			 "the export's flags changed from 0x%04x to 0x%04x (the kernel relies on what was offered): not reconnecting",
			 d->flags, ex->flags);
		return -1;
	}
	return 0;
}

static int replace_one(struct device *d, struct binding *b, const struct binding_ops *ops,
		       struct episode *e, unsigned attempt, char *err, size_t errlen)
{
	struct client_export ex;
	int fd;

	if (export_connect(d, 0, NULL, &ex, &fd, err, errlen) < 0)
		return -1;
	if (same_export(d, &ex, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	if (ops->replace(b, fd, err, errlen) < 0)	/* takes fd */
		return -1;
	log_info("%s: reconnected to %s %.1f s after the connection was lost (%s), attempt %u",
		 d->name, d->uri_text, since(&e->lost_at), e->why, attempt);
	e->known_dead--;
	return 0;
}

static void repaired(struct device *d, const struct episode *e)
{
	pthread_mutex_lock(&device_lock);
	d->state = DEV_CONNECTED;
	d->error[0] = '\0';
	pthread_mutex_unlock(&device_lock);
	if (e->failed)
		log_warn("%s: connected again; I/O that waited longer than the dead-timeout (%u s) failed",
			 d->name, d->dead_timeout);
}

void reconnect_dead(struct device *d, struct binding *b, const struct binding_ops *ops)
{
	struct episode e = { 0 };
	unsigned attempt = 0;
	char err[512];

	while (!stopping(d) && !binding_ended(d)) {
		if (take_stock(d, b, ops, &e) == 0) {
			repaired(d, &e);
			return;
		}
		if (replace_one(d, b, ops, &e, attempt + 1, err, sizeof(err)) == 0) {
			attempt = 0;
			continue;
		}
		note_error(d, err);
		if (backoff(d, attempt++, e.failed ? BACKOFF_CAP_MS : BACKOFF_CAP_HELD_MS))
			return;
	}
}
