/* SPDX-License-Identifier: MIT */
/*
 * The netlink binding: NBD_CMD_CONNECT with every setting at once, then
 * the device runs without a thread of ours blocked in the kernel.
 *
 * - DEAD_CONN_TIMEOUT makes the kernel hold I/O while no connection is
 *   live, instead of failing it: the daemon's time to reconnect.
 * - RECONFIGURE swaps a new socket into the live device. The kernel puts
 *   it in place of its *first* dead socket and silently drops it when
 *   none is dead; so a socket is offered only once the monitor has seen
 *   the kernel shut the old one (netlink_monitor.c), always for the
 *   lowest dead connection, and the kernel's acceptance is checked: it
 *   sets the send timeout of a socket it adopts to the request timeout,
 *   which the daemon cleared before.
 * - CLIENT_FLAGS 0: no DISCONNECT_ON_CLOSE (the device must outlive the
 *   last close: mounting and unmounting is not detaching) and no
 *   DESTROY_ON_DISCONNECT (a device the kernel made stays, like the
 *   nbds_max ones).
 * - BACKEND_IDENTIFIER is the URI: /sys/block/nbdX/backend says what is
 *   attached even without the daemon; RECONFIGURE must repeat it.
 *
 * Only the kernel's <linux/nbd.h> is included (cnbd/protocol.h clashes).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nbd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "attach/binding.h"
#include "common/log.h"
#include "attach/netlink_bind.h"
#include "attach/netlink_call.h"
#include "attach/netlink_cmds.h"
#include "attach/netlink_events.h"
#include "attach/quiet_thread.h"

const char *netlink_bind_dev_dir = "/dev";
unsigned netlink_bind_busy_ms = 5000;
unsigned netlink_bind_status_ms = 5000;
bool netlink_bind_events = true;

/* How long a requested disconnect may take to shut the sockets. */
#define DISCONNECT_GRACE_S	10

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct netlink_binding *registry;

void netlink_wake(struct netlink_binding *b)
{
	uint64_t one = 1;

	if (write(b->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("%s: waking the monitor: %s", b->device, strerror(errno));
}

/* From the events thread: the kernel marked a socket of nbd<index> dead. */
void netlink_link_dead(unsigned index)
{
	pthread_mutex_lock(&registry_lock);
	for (struct netlink_binding *b = registry; b; b = b->next) {
		if (index != NETLINK_EVENTS_ALL && b->index != index)
			continue;
		pthread_mutex_lock(&b->lock);
		b->link_dead = true;
		pthread_mutex_unlock(&b->lock);
		netlink_wake(b);
	}
	pthread_mutex_unlock(&registry_lock);
}

static void registry_add(struct netlink_binding *b)
{
	pthread_mutex_lock(&registry_lock);
	b->next = registry;
	registry = b;
	pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(struct netlink_binding *b)
{
	pthread_mutex_lock(&registry_lock);
	for (struct netlink_binding **p = &registry; *p; p = &(*p)->next) {
		if (*p == b) {
			*p = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

int netlink_configured(struct netlink_binding *b)
{
	bool connected;
	char err[256];

	if (nbd_nl_status(b->index, &connected, err, sizeof(err)) < 0) {
		log_debug("%s: %s", b->device, err);
		return -1;
	}
	return connected;
}

static void binding_free(struct netlink_binding *b)
{
	for (unsigned i = 0; i < b->nconns; i++)
		if (b->conns[i].fd >= 0)
			close(b->conns[i].fd);
	if (b->wake_fd >= 0)
		close(b->wake_fd);
	pthread_mutex_destroy(&b->lock);
	free(b->identifier);
	free(b->conns);
	free(b);
}

static struct netlink_binding *binding_new(const struct bind_params *p)
{
	struct netlink_binding *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->b.ops = &netlink_binding_ops;
	pthread_mutex_init(&b->lock, NULL);
	b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b->conns = calloc(p->nfds, sizeof(*b->conns));
	b->identifier = p->identifier ? strdup(p->identifier) : NULL;
	if (b->conns)
		for (unsigned i = 0; i < p->nfds; i++)
			b->conns[b->nconns++].fd = p->fds ? p->fds[i] : -1;
	if (b->wake_fd < 0 || !b->conns || (p->identifier && !b->identifier)) {
		b->nconns = 0;		/* the caller closes the sockets */
		binding_free(b);
		return NULL;
	}
	b->timeout = p->timeout;
	b->ended_fn = p->ended;
	b->changed_fn = p->changed;
	b->cb_arg = p->ended_arg;
	return b;
}

static void listen_for_link_dead(void)
{
	static atomic_bool warned;
	char err[256];

	if (!netlink_bind_events || netlink_events_start(netlink_link_dead, err, sizeof(err)) == 0)
		return;
	if (!atomic_exchange(&warned, true))
		log_warn("%s; lost connections are found by polling instead", err);
}

/* The monitor could not start: take the device back from the kernel. */
static void undo_connect(struct netlink_binding *b)
{
	char err[256];

	if (nbd_nl_disconnect(b->index, err, sizeof(err)) < 0)
		log_warn("%s: %s", b->device, err);
}

static int device_index(const char *device)
{
	if (!device || !device[0])
		return -1;
	return (int)strtoul(device + 3, NULL, 10);	/* "nbdN", checked by the caller */
}

/* In the LINK_DEAD registry, with its monitor thread running: 0, or -1
 * with err set (and out of the registry again). */
static int start_monitor(struct netlink_binding *b, char *err, size_t errlen)
{
	registry_add(b);
	errno = quiet_thread_create(&b->monitor, NULL, netlink_monitor, b);
	if (errno == 0)
		return 0;
	snprintf(err, errlen, "cannot start the monitor thread: %s", strerror(errno));
	registry_remove(b);
	return -1;
}

static struct netlink_binding *of(struct binding *b)
{
	return (struct netlink_binding *)b;	/* b is its first member */
}

static struct binding *nl_bind(const struct bind_params *p, char *err, size_t errlen)
{
	struct nbd_nl_connect c = {
		.index = device_index(p->device), .size = p->size, .blksize = p->blksize,
		.timeout = p->timeout, .dead_timeout = p->dead_timeout,
		.server_flags = p->flags | (p->readonly ? NBD_FLAG_READ_ONLY : 0),
		.client_flags = 0, .fds = p->fds, .nfds = p->nfds,
		.identifier = p->identifier,
	};
	struct netlink_binding *b = binding_new(p);

	if (!b) {
		snprintf(err, errlen, "out of memory");
		for (unsigned i = 0; i < p->nfds; i++)
			close(p->fds[i]);
		return NULL;
	}
	listen_for_link_dead();
	if (nbd_nl_connect(&c, netlink_bind_busy_ms, &b->index, err, errlen) < 0)
		goto fail;
	snprintf(b->device, sizeof(b->device), "nbd%u", b->index);
	if (p->chosen)
		snprintf(p->chosen, p->chosen_len, "%s", b->device);
	if (start_monitor(b, err, errlen) == 0)
		return &b->b;
	undo_connect(b);
fail:
	binding_free(b);
	return NULL;
}

/*
 * Taking over a device an earlier process bound (nbd-clientd keeps a
 * record of each for that, client/device_state.c): the kernel still has the device and its sockets, but
 * the descriptors the monitor would poll died with that process. The
 * connections start "blind" (fd -1): the monitor cannot see them hang
 * up, so a LINK_DEAD for the device marks the first blind one dead
 * (netlink_monitor.c), and each replacement brings a descriptor back.
 */
static int nl_configured(const char *device, char *why, size_t whylen)
{
	bool connected = false;

	if (nbd_nl_status((unsigned)device_index(device), &connected, why, whylen) < 0)
		return -1;
	if (!connected)
		snprintf(why, whylen, "the kernel no longer has it connected");
	return connected;
}

static struct binding *nl_adopt(const struct bind_params *p, char *err, size_t errlen)
{
	struct bind_params blind = *p;
	struct netlink_binding *b;

	blind.fds = NULL;
	b = binding_new(&blind);
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->index = (unsigned)device_index(p->device);
	snprintf(b->device, sizeof(b->device), "%s", p->device);
	listen_for_link_dead();
	if (netlink_configured(b) != 1) {
		snprintf(err, errlen, "%s is no longer connected", b->device);
		binding_free(b);
		return NULL;
	}
	if (start_monitor(b, err, errlen) == 0)
		return &b->b;
	binding_free(b);
	return NULL;
}

static unsigned count_dead(struct netlink_binding *b, int *first)
{
	unsigned n = 0;

	*first = -1;
	for (unsigned i = 0; i < b->nconns; i++) {
		if (!b->conns[i].dead)
			continue;
		if (*first < 0)
			*first = (int)i;
		n++;
	}
	return n;
}

/* Writes back what went through /dev/nbdX's page cache, and has the
 * server flush, before the connections go. */
static void flush_device(struct netlink_binding *b, char *err, size_t errlen)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", netlink_bind_dev_dir, b->device);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		snprintf(err, errlen, "flushing %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int nl_disconnect(struct binding *base, char *err, size_t errlen)
{
	struct netlink_binding *b = of(base);
	unsigned dead;
	int first;

	pthread_mutex_lock(&b->lock);
	b->disconnect_requested = true;
	dead = count_dead(b, &first);
	pthread_mutex_unlock(&b->lock);
	/* With no live connection a flush would wait for the dead-
	 * connection timeout and then fail: what is not written is lost
	 * either way, and the log says so. */
	if (dead < b->nconns)
		flush_device(b, err, errlen);
	else
		snprintf(err, errlen, "no live connection: not flushed");
	if (nbd_nl_disconnect(b->index, err, errlen) < 0) {
		netlink_wake(b);
		return -1;
	}
	netlink_wake(b);
	return 0;
}

static enum bind_end nl_wait(struct binding *base, int *error)
{
	struct netlink_binding *b = of(base);
	struct timespec deadline;
	enum bind_end end;

	pthread_mutex_lock(&b->lock);
	end = b->disconnect_requested ? BIND_END_REQUESTED : BIND_END_LOST;
	pthread_mutex_unlock(&b->lock);
	if (end == BIND_END_REQUESTED) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += DISCONNECT_GRACE_S;
		if (pthread_timedjoin_np(b->monitor, NULL, &deadline) == ETIMEDOUT) {
			log_warn("%s: the kernel did not let go of the sockets within %d s",
				 b->device, DISCONNECT_GRACE_S);
			pthread_mutex_lock(&b->lock);
			b->stop = true;
			pthread_mutex_unlock(&b->lock);
			netlink_wake(b);
			pthread_join(b->monitor, NULL);
		}
	} else {
		pthread_join(b->monitor, NULL);
	}
	pthread_mutex_lock(&b->lock);
	if (b->disconnect_requested)
		end = BIND_END_REQUESTED;
	pthread_mutex_unlock(&b->lock);
	*error = 0;
	registry_remove(b);
	binding_free(b);
	return end;
}

static unsigned nl_dead(struct binding *base, char *why, size_t whylen)
{
	struct netlink_binding *b = of(base);
	unsigned n;
	int first;

	pthread_mutex_lock(&b->lock);
	n = count_dead(b, &first);
	if (why && whylen)
		snprintf(why, whylen, "%s", first >= 0 ? b->conns[first].why : "");
	pthread_mutex_unlock(&b->lock);
	return n;
}

/*
 * Whether the kernel adopted fd: it sets the send timeout of a socket it
 * takes to the request timeout (the daemon hands sockets over with none).
 * Without a request timeout there is nothing to see, and the monitor's
 * view of which connections are dead has to be trusted.
 */
static bool adopted(const struct netlink_binding *b, int fd)
{
	struct timeval tv = { 0 };
	socklen_t len = sizeof(tv);

	if (!b->timeout)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) < 0)
		return true;
	return tv.tv_sec || tv.tv_usec;
}

/* After RECONFIGURE failed: a device the kernel no longer has ends. */
static void check_gone(struct netlink_binding *b)
{
	if (netlink_configured(b) != 0)
		return;
	pthread_mutex_lock(&b->lock);
	b->link_dead = true;	/* the monitor asks again and ends */
	pthread_mutex_unlock(&b->lock);
	netlink_wake(b);
}

static int nl_replace(struct binding *base, int fd, char *err, size_t errlen)
{
	struct netlink_binding *b = of(base);
	int slot, old;

	pthread_mutex_lock(&b->lock);
	count_dead(b, &slot);
	pthread_mutex_unlock(&b->lock);
	if (slot < 0) {
		snprintf(err, errlen, "%s: no dead connection to replace", b->device);
		goto fail;
	}
	if (nbd_nl_reconfigure(b->index, fd, b->identifier, err, errlen) < 0) {
		check_gone(b);
		goto fail;
	}
	if (!adopted(b, fd)) {
		snprintf(err, errlen,
			 "NBD_CMD_RECONFIGURE on %s: the kernel dropped the new socket (it had no dead connection yet)",
			 b->device);
		goto fail;
	}
	pthread_mutex_lock(&b->lock);
	old = b->conns[slot].fd;
	b->conns[slot] = (struct nl_conn){ .fd = fd };
	pthread_mutex_unlock(&b->lock);
	if (old >= 0)
		close(old);	/* the kernel has let go of it */
	netlink_wake(b);	/* to watch the new one */
	return 0;
fail:
	close(fd);
	return -1;
}

/* After an adoption: a socket offered in place of a connection that may
 * have died while no process watched (see binding.h). */
static enum bind_probe nl_probe(struct binding *base, int fd, char *err, size_t errlen)
{
	struct netlink_binding *b = of(base);
	int slot = -1;

	if (nbd_nl_reconfigure(b->index, fd, b->identifier, err, errlen) < 0) {
		close(fd);
		return BIND_PROBE_FAILED;
	}
	if (!adopted(b, fd)) {
		close(fd);	/* none was dead: the kernel dropped it */
		return BIND_PROBE_ALL_LIVE;
	}
	pthread_mutex_lock(&b->lock);
	for (unsigned i = 0; i < b->nconns && slot < 0; i++)
		if (b->conns[i].fd < 0 && !b->conns[i].dead)
			slot = (int)i;
	if (slot >= 0)
		b->conns[slot].fd = fd;
	pthread_mutex_unlock(&b->lock);
	if (slot < 0)
		close(fd);	/* the kernel holds its own reference */
	netlink_wake(b);
	return BIND_PROBE_REPLACED;
}

const struct binding_ops netlink_binding_ops = {
	.name = "netlink",
	.makes_devices = true,
	.holds_io = true,
	.available = nbd_nl_available,
	.missing = "the kernel has no nbd netlink family",
	.bind = nl_bind,
	.disconnect = nl_disconnect,
	.wait = nl_wait,
	.dead = nl_dead,
	.replace = nl_replace,
	.configured = nl_configured,
	.adopt = nl_adopt,
	.probe = nl_probe,
};
