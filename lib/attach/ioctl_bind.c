/* SPDX-License-Identifier: MIT */
/*
 * The ioctl binding: the way nbd-client has always bound a device.
 *
 *   NBD_SET_BLKSIZE, NBD_SET_SIZE, NBD_CLEAR_SOCK, NBD_SET_FLAGS,
 *   [BLKROSET], NBD_SET_TIMEOUT, NBD_SET_SOCK per connection,
 *   then NBD_DO_IT on a thread of its own (it blocks while the device is
 *   served), and NBD_CLEAR_SOCK once it returns.
 *
 * The flags must be set before DO_IT or the kernel refuses a second
 * socket. Right after the module is loaded udevd opens every new device
 * to probe it and the kernel answers EBUSY for a moment: those calls are
 * retried for a few seconds instead of failing.
 *
 * What this binding cannot do: give a live device a new socket. When the
 * last socket dies the kernel fails I/O at once, and while anyone holds
 * the device open (a mounted file system) its old configuration stays
 * and a new NBD_DO_IT is refused. Reconnecting therefore works only for
 * a device nobody holds open; the netlink binding (dead-connection
 * timeout plus RECONFIGURE) is what keeps a mounted device alive.
 *
 * Only the kernel's header is included here (cnbd/protocol.h clashes).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/nbd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "attach/binding.h"
#include "attach/ioctl_bind.h"
#include "attach/quiet_thread.h"

/* Tunables, changed only by the unit tests. */
const char *ioctl_bind_dev_dir = "/dev";
const char *ioctl_bind_sysfs_dir = "/sys/block";
unsigned ioctl_bind_busy_ms = 5000;

/* How long a requested disconnect may take before the sockets are shut
 * by force (a server that ignores NBD_CMD_DISC). */
#define DISCONNECT_GRACE_S	10

struct ioctl_binding {
	struct binding b;	/* first: the supervisor's handle on it */
	char device[32];
	int dev_fd;
	int *fds;
	unsigned nfds;
	bool readonly_set;
	atomic_bool disconnect_requested;
	atomic_bool ended;
	int do_it_errno;	/* 0: DO_IT returned 0 */
	pthread_t thread;
	void (*ended_fn)(void *arg);
	void *ended_arg;
};

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ioctl, retried while the kernel says EBUSY (udevd probing). */
static int ioctl_busy_retry(int fd, unsigned long req, unsigned long arg)
{
	unsigned waited = 0;
	int rc;

	for (;;) {
		rc = ioctl(fd, req, arg);
		if (rc >= 0 || errno != EBUSY || waited >= ioctl_bind_busy_ms)
			return rc;
		sleep_ms(100);
		waited += 100;
	}
}

static int step(struct ioctl_binding *b, unsigned long req, unsigned long arg,
		const char *name, char *err, size_t errlen)
{
	if (ioctl_busy_retry(b->dev_fd, req, arg) == 0)
		return 0;
	snprintf(err, errlen, "%s on /dev/%s: %s%s", name, b->device, strerror(errno),
		 errno == EBUSY ? " (the device is in use by another task)" : "");
	return -1;
}

static void close_fds(struct ioctl_binding *b)
{
	for (unsigned i = 0; i < b->nfds; i++)
		if (b->fds[i] >= 0)
			close(b->fds[i]);
	b->nfds = 0;
}

/* Undoes what bind set up; the device's configuration goes with the last
 * close of the device. */
static void release(struct ioctl_binding *b)
{
	int zero = 0;

	if (b->dev_fd >= 0) {
		ioctl(b->dev_fd, NBD_CLEAR_SOCK, 0);
		/* BLKROSET outlives the connection: leave the device as found. */
		if (b->readonly_set)
			ioctl(b->dev_fd, BLKROSET, &zero);
		close(b->dev_fd);
	}
	close_fds(b);
	free(b->fds);
	free(b);
}

static void *do_it_thread(void *arg)
{
	struct ioctl_binding *b = arg;

	if (ioctl_busy_retry(b->dev_fd, NBD_DO_IT, 0) < 0)
		b->do_it_errno = errno;
	/* Fail whatever is still queued and drop the sockets now, not when
	 * the supervisor gets round to it. */
	ioctl(b->dev_fd, NBD_CLEAR_SOCK, 0);
	atomic_store(&b->ended, true);
	if (b->ended_fn)
		b->ended_fn(b->ended_arg);
	return NULL;
}

static int set_up(struct ioctl_binding *b, const struct bind_params *p,
		  char *err, size_t errlen)
{
	int one = 1;

	if (step(b, NBD_SET_BLKSIZE, p->blksize, "NBD_SET_BLKSIZE", err, errlen) ||
	    step(b, NBD_SET_SIZE, p->size, "NBD_SET_SIZE", err, errlen) ||
	    step(b, NBD_CLEAR_SOCK, 0, "NBD_CLEAR_SOCK", err, errlen) ||
	    step(b, NBD_SET_FLAGS, p->flags, "NBD_SET_FLAGS", err, errlen))
		return -1;
	if (p->readonly) {
		if (step(b, BLKROSET, (unsigned long)&one, "BLKROSET", err, errlen))
			return -1;
		b->readonly_set = true;
	}
	if (step(b, NBD_SET_TIMEOUT, p->timeout, "NBD_SET_TIMEOUT", err, errlen))
		return -1;
	for (unsigned i = 0; i < b->nfds; i++)
		if (step(b, NBD_SET_SOCK, b->fds[i], "NBD_SET_SOCK", err, errlen))
			return -1;
	return 0;
}

/* The kernel creates /sys/block/nbdX/pid when DO_IT has started serving. */
static bool serving(const struct ioctl_binding *b)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/pid", ioctl_bind_sysfs_dir, b->device);
	return access(path, F_OK) == 0;
}

/* Waits until DO_IT serves (0) or has failed (-1, reason in err). */
static int wait_serving(struct ioctl_binding *b, char *err, size_t errlen)
{
	unsigned limit = ioctl_bind_busy_ms + 5000;

	for (unsigned waited = 0; waited <= limit; waited += 20) {
		if (atomic_load(&b->ended)) {
			pthread_join(b->thread, NULL);
			snprintf(err, errlen, "NBD_DO_IT on /dev/%s: %s", b->device,
				 b->do_it_errno ? strerror(b->do_it_errno)
						: "ended at once (the connection closed)");
			return -1;
		}
		if (serving(b))
			return 0;
		sleep_ms(20);
	}
	/* Serving without a pid file is not a state the kernel has: stop. */
	ioctl(b->dev_fd, NBD_CLEAR_SOCK, 0);
	pthread_join(b->thread, NULL);
	snprintf(err, errlen, "/dev/%s did not start serving within %u ms", b->device, limit);
	return -1;
}

static struct ioctl_binding *of(struct binding *b)
{
	return (struct ioctl_binding *)b;	/* b is its first member */
}

static bool ioctl_available(void)
{
	return true;
}

static struct binding *ioctl_bind(const struct bind_params *p, char *err, size_t errlen)
{
	struct ioctl_binding *b = calloc(1, sizeof(*b));
	char path[256];

	if (!b || !(b->fds = calloc(p->nfds, sizeof(int)))) {
		snprintf(err, errlen, "out of memory");
		for (unsigned i = 0; i < p->nfds; i++)
			close(p->fds[i]);
		free(b);
		return NULL;
	}
	b->b.ops = &ioctl_binding_ops;
	snprintf(b->device, sizeof(b->device), "%s", p->device);
	if (p->chosen)
		snprintf(p->chosen, p->chosen_len, "%s", p->device);
	memcpy(b->fds, p->fds, p->nfds * sizeof(int));
	b->nfds = p->nfds;
	b->ended_fn = p->ended;
	b->ended_arg = p->ended_arg;
	snprintf(path, sizeof(path), "%s/%s", ioctl_bind_dev_dir, p->device);
	b->dev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (b->dev_fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (set_up(b, p, err, errlen) < 0)
		goto fail;
	errno = quiet_thread_create(&b->thread, NULL, do_it_thread, b);
	if (errno) {
		snprintf(err, errlen, "cannot start the NBD_DO_IT thread: %s", strerror(errno));
		goto fail;
	}
	if (wait_serving(b, err, errlen) < 0)
		goto fail;
	return &b->b;
fail:
	release(b);
	return NULL;
}

static int ioctl_disconnect(struct binding *base, char *err, size_t errlen)
{
	struct ioctl_binding *b = of(base);

	atomic_store(&b->disconnect_requested, true);
	/* Write back what was written through /dev/nbdX and have the
	 * server flush, before the connection goes. */
	if (fsync(b->dev_fd) < 0)
		snprintf(err, errlen, "flushing /dev/%s: %s", b->device, strerror(errno));
	if (ioctl(b->dev_fd, NBD_DISCONNECT, 0) < 0) {
		snprintf(err, errlen, "NBD_DISCONNECT on /dev/%s: %s", b->device,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static enum bind_end ioctl_wait(struct binding *base, int *error)
{
	struct ioctl_binding *b = of(base);
	bool requested = atomic_load(&b->disconnect_requested);
	struct timespec deadline;
	enum bind_end end;

	if (requested) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += DISCONNECT_GRACE_S;
		if (pthread_timedjoin_np(b->thread, NULL, &deadline) == ETIMEDOUT) {
			/* The server ignored NBD_CMD_DISC: shut the sockets. */
			ioctl(b->dev_fd, NBD_CLEAR_SOCK, 0);
			pthread_join(b->thread, NULL);
		}
	} else {
		pthread_join(b->thread, NULL);
	}
	/* A disconnect asked for while the connection was already dying
	 * still counts as asked for. */
	end = atomic_load(&b->disconnect_requested) ? BIND_END_REQUESTED : BIND_END_LOST;
	*error = b->do_it_errno;
	release(b);
	return end;
}

/* No dead, replace, adopt or probe: see the top of this file. */
const struct binding_ops ioctl_binding_ops = {
	.name = "ioctl",
	.available = ioctl_available,
	.bind = ioctl_bind,
	.disconnect = ioctl_disconnect,
	.wait = ioctl_wait,
};
