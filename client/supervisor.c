/* SPDX-License-Identifier: MIT */
/*
 * One thread per device: choose the device, connect and negotiate every
 * connection, hand them to the kernel through the binding, then sleep
 * until the kernel lets go or a detach is asked for. A connection that
 * dies is reconnected with capped exponential backoff and jitter; the
 * export must come back with the size it had.
 *
 * With the ioctl binding a rebind succeeds only once nobody holds the
 * device open: the kernel keeps a held device's dead configuration (see
 * ioctl_bind.c). Until then attempts fail with "in use" and are retried.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "supervisor.h"
#include "sysfs_nbd.h"

#define CONNECT_TIMEOUT_S	15	/* connect and negotiate, each */
#define BACKOFF_FIRST_MS	500
#define BACKOFF_CAP_MS		30000

const struct binding_ops *supervisor_binding = &ioctl_binding;

static bool taken(const char *name)
{
	return device_name_taken_locked(name, NULL);
}

static void set_state(struct device *d, enum device_state s)
{
	pthread_mutex_lock(&device_lock);
	d->state = s;
	pthread_mutex_unlock(&device_lock);
}

static bool stopping(struct device *d)
{
	bool stop;

	pthread_mutex_lock(&device_lock);
	stop = d->stop;
	pthread_mutex_unlock(&device_lock);
	return stop;
}

/* Records what went wrong; logs it only when it differs from last time,
 * so that a server down for an hour is not a line every 30 seconds. */
static void note_error(struct device *d, const char *err)
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

/* Picks (for [any]) and checks the device; name gets it. */
static int choose_device(struct device *d, bool rebind, char *name, size_t namelen,
			 char *err, size_t errlen)
{
	long pid;

	pthread_mutex_lock(&device_lock);
	if (!d->name[0] && nbd_first_free(d->name, sizeof(d->name), taken) < 0)
		d->name[0] = '\0';
	snprintf(name, namelen, "%s", d->name);
	pthread_mutex_unlock(&device_lock);
	if (!name[0]) {
		snprintf(err, errlen, "no free nbd device (raise nbds_max in modprobe.d?)");
		return -1;
	}
	if (!nbd_exists(name)) {
		snprintf(err, errlen, "/dev/%s does not exist (raise nbds_max in modprobe.d?)", name);
		return -1;
	}
	if (nbd_is_free(name))
		return 0;
	pid = nbd_pid(name);
	if (rebind)
		snprintf(err, errlen,
			 "%s is still held open%s: the ioctl binding can rebind it only once it is closed (unmount it)",
			 name, pid ? "" : " with its old size");
	else
		snprintf(err, errlen, "%s is in use by another client (pid %ld): leaving it alone",
			 name, pid);
	/* An [any] device that was never ours looks elsewhere next time. */
	if (!rebind && device_spec_is_any(d->spec)) {
		pthread_mutex_lock(&device_lock);
		d->name[0] = '\0';
		pthread_mutex_unlock(&device_lock);
	}
	return -1;
}

/* Keepalives notice a dead server while the device is idle. */
static void tune_socket(int fd)
{
	int one = 1, idle = 30, intvl = 10, cnt = 3;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static int connect_one(struct device *d, unsigned i, struct client_export *ex,
		       int *fd, char *err, size_t errlen)
{
	struct nbd_client c;
	int s = client_connect_uri(&d->uri, CONNECT_TIMEOUT_S, err, errlen);

	if (s < 0)
		return -1;
	client_init(&c, s);
	if (client_set_timeout(&c, CONNECT_TIMEOUT_S) < 0 ||
	    client_go(&c, d->uri.export_name) < 0 ||
	    client_set_timeout(&c, 0) < 0)
		goto fail;
	if (i == 0) {
		*ex = c.export;
	} else if (c.export.size != ex->size || c.export.flags != ex->flags) {
		snprintf(c.error, sizeof(c.error),
			 "connection %u found a different export (size %" PRIu64 ", flags 0x%04x)",
			 i + 1, c.export.size, c.export.flags);
		goto fail;
	}
	if (d->uri.transport == URI_TCP)
		tune_socket(s);
	*fd = s;
	return 0;
fail:
	snprintf(err, errlen, "%s", c.error);
	close(s);
	return -1;
}

static int connect_all(struct device *d, int *fds, struct client_export *ex,
		       char *err, size_t errlen)
{
	unsigned i;

	for (i = 0; i < d->connections; i++) {
		if (connect_one(d, i, ex, &fds[i], err, errlen) < 0)
			goto fail;
		if (i == 0 && d->connections > 1 && !(ex->flags & NBD_FLAG_CAN_MULTI_CONN)) {
			snprintf(err, errlen,
				 "connections = %u, but the server does not allow more than one (no NBD_FLAG_CAN_MULTI_CONN)",
				 d->connections);
			i++;
			goto fail;
		}
	}
	return 0;
fail:
	while (i-- > 0)
		close(fds[i]);
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
			   uint64_t size, uint32_t blksize)
{
	pthread_mutex_lock(&device_lock);
	d->state = DEV_CONNECTED;
	d->size = size;
	d->blksize = blksize;
	d->flags = ex->flags;
	snprintf(d->export_name, sizeof(d->export_name), "%s", ex->name);
	d->error[0] = '\0';
	pthread_mutex_unlock(&device_lock);
	/* The kernel may send requests up to 32 MiB; a server that takes
	 * less gets smaller ones. */
	if (ex->have_block_size && ex->max_payload < (32U << 20))
		nbd_limit_request_size(d->name, ex->max_payload);
	log_info("%s: attached %s (%" PRIu64 " bytes, block size %u, %u connection%s%s)",
		 d->name, d->uri_text, size, blksize, d->connections,
		 d->connections == 1 ? "" : "s", d->readonly ? ", read-only" : "");
}

/* Connects, negotiates and binds; the binding, or NULL with err set. */
static struct binding *attach(struct device *d, bool rebind, char *err, size_t errlen)
{
	struct bind_params p = { .ended = binding_ended, .ended_arg = d };
	int fds[DEVICE_MAX_CONNECTIONS];
	struct client_export ex;
	char name[64];
	struct binding *b;

	set_state(d, rebind ? DEV_RECONNECTING : DEV_CONNECTING);
	if (choose_device(d, rebind, name, sizeof(name), err, errlen) < 0) {
		set_state(d, rebind ? DEV_RECONNECTING : DEV_WAITING);
		return NULL;
	}
	if (connect_all(d, fds, &ex, err, errlen) < 0)
		return NULL;
	if (kernel_geometry(d, &ex, rebind, &p.size, &p.blksize, err, errlen) < 0 ||
	    stopping(d))
		goto fail;
	p.device = name;
	p.flags = ex.flags;
	p.readonly = d->readonly;
	p.timeout = d->timeout;
	p.fds = fds;
	p.nfds = d->connections;
	p.identifier = d->uri_text;
	/* From here udev may ask for the device's name (the kernel
	 * announces the device as soon as it serves). */
	pthread_mutex_lock(&device_lock);
	d->ended = false;
	d->bound = true;
	snprintf(d->export_name, sizeof(d->export_name), "%s", ex.name);
	pthread_mutex_unlock(&device_lock);
	b = supervisor_binding->bind(&p, err, errlen);	/* takes the sockets */
	if (b) {
		mark_connected(d, &ex, p.size, p.blksize);
		return b;
	}
	pthread_mutex_lock(&device_lock);
	d->bound = false;
	pthread_mutex_unlock(&device_lock);
	return NULL;
fail:
	for (unsigned i = 0; i < d->connections; i++)
		close(fds[i]);
	return NULL;
}

/* Sleeps while the device is served. True when it ended on purpose. */
static bool serve(struct device *d, struct binding *b)
{
	enum bind_end end;
	char err[512] = "";
	bool stop;
	int error = 0;

	pthread_mutex_lock(&device_lock);
	while (!d->ended && !d->stop)
		device_wait_locked(d, NULL);
	stop = d->stop;
	if (stop)
		d->state = DEV_DETACHING;
	pthread_mutex_unlock(&device_lock);
	if (stop && supervisor_binding->disconnect(b, err, sizeof(err)) < 0)
		log_warn("%s: %s", d->name, err);
	else if (err[0])
		log_warn("%s: %s", d->name, err);
	end = supervisor_binding->wait(b, &error);
	pthread_mutex_lock(&device_lock);
	d->bound = false;
	pthread_mutex_unlock(&device_lock);
	if (stop || end == BIND_END_REQUESTED) {
		log_info("%s: detached from %s", d->name, d->uri_text);
		return true;
	}
	pthread_mutex_lock(&device_lock);
	d->state = DEV_RECONNECTING;
	d->reconnects++;
	snprintf(d->error, sizeof(d->error), "connection lost%s%s",
		 error ? ": " : "", error ? strerror(error) : "");
	pthread_mutex_unlock(&device_lock);
	log_warn("%s: connection to %s lost%s%s; reconnecting", d->name, d->uri_text,
		 error ? ": " : "", error ? strerror(error) : "");
	return false;
}

/* Capped exponential backoff with jitter (half to all of the delay, so
 * that many clients of one server do not return in step). A kick (udev
 * saw a device appear) cuts it short. True when the device must stop. */
static bool backoff(struct device *d, unsigned attempt)
{
	unsigned ms = BACKOFF_FIRST_MS << (attempt < 6 ? attempt : 6);
	unsigned r = 0;
	struct timespec deadline;
	bool stop;

	if (ms > BACKOFF_CAP_MS)
		ms = BACKOFF_CAP_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) < 0)
		r = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)d;
	ms = ms / 2 + r % (ms / 2 + 1);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&device_lock);
	while (!d->stop && !d->kicked) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			break;
		device_wait_locked(d, &deadline);
	}
	d->kicked = false;
	stop = d->stop;
	pthread_mutex_unlock(&device_lock);
	return stop;
}

void *supervise(void *arg)
{
	struct device *d = arg;
	bool bound_once = false;
	unsigned attempt = 0;
	char err[512];

	while (!stopping(d)) {
		struct binding *b;

		err[0] = '\0';
		b = attach(d, bound_once, err, sizeof(err));
		if (b) {
			bound_once = true;
			attempt = 0;
			first_result(d, 0, NULL);
			if (serve(d, b))
				break;
			continue;	/* the first retry comes at once */
		}
		if (d->once && !bound_once) {
			log_error("%s: %s", d->name[0] ? d->name : d->spec, err);
			first_result(d, -1, err);
			break;
		}
		note_error(d, err);
		if (backoff(d, attempt++))
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
