/* SPDX-License-Identifier: MIT */
/*
 * Binding an NBD export to a kernel block device, /dev/nbdX, and keeping
 * it bound: what go-nbd's client.Connect does, and what nbd-clientd does
 * for each of its devices (the daemon is built on this API). It needs
 * root (CAP_SYS_ADMIN) and the nbd module (cnbd_attach_load_module()).
 *
 *   struct cnbd_attach_options o;
 *   struct cnbd_attach_status st;
 *   char err[512];
 *
 *   cnbd_attach_options_init(&o);
 *   struct cnbd_attach *a = cnbd_attach_uri("nbd://server/disk", &o,
 *                                           err, sizeof(err));
 *   cnbd_attach_status(a, &st);		// st.device: "nbd0"
 *   ...					// /dev/nbd0 serves the export
 *   cnbd_attach_detach(a);			// flushed and disconnected
 *
 * Each attachment has a thread of its own, its supervisor: it connects
 * (TCP or Unix; STARTTLS for nbds://, carried on by kernel TLS or a relay
 * thread), negotiates every connection, hands them to the kernel, and
 * when a connection is lost connects again with capped exponential
 * backoff and jitter, checking that the export is the one the kernel
 * serves (same size, nothing it relies on taken away).
 *   netlink  replaces a lost connection in the live device while the
 *            kernel holds its I/O (up to dead_timeout): a mounted file
 *            system sees no error.
 *   ioctl    fails I/O as soon as the last connection dies, and can bind
 *            the device again only once nobody holds it open.
 * Messages (attached, lost, reconnected, why not) go to libcnbd's log:
 * stderr, one line each, like nbd-clientd's.
 *
 * Every function may be called from any thread. Callbacks run on the
 * supervisor's thread, with no lock of the library held: they may call
 * cnbd_attach_status(), cnbd_attach_stop() and cnbd_attach_detach().
 * The library's threads block every signal.
 */
#ifndef CNBD_ATTACH_H
#define CNBD_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cnbd_attach;

enum cnbd_attach_binding {
	CNBD_ATTACH_BINDING_AUTO,	/* netlink where the kernel has it, else ioctl */
	CNBD_ATTACH_BINDING_NETLINK,
	CNBD_ATTACH_BINDING_IOCTL,
};

/* How an nbds:// connection's TLS is carried once negotiated (the
 * kernel's nbd driver has none of its own). Never in the clear. */
enum cnbd_attach_tls_mode {
	CNBD_ATTACH_TLS_AUTO,		/* kernel TLS where it works, else the relay */
	CNBD_ATTACH_TLS_KERNEL,		/* kernel TLS, or the connection fails */
	CNBD_ATTACH_TLS_RELAY,		/* a relay thread: a socketpair to the kernel */
};

enum cnbd_attach_state {
	CNBD_ATTACH_WAITING,		/* for a device to exist or become free */
	CNBD_ATTACH_CONNECTING,
	CNBD_ATTACH_CONNECTED,
	CNBD_ATTACH_RECONNECTING,
	CNBD_ATTACH_FAILED,		/* no connection for longer than dead_timeout:
					 * the kernel fails I/O; still reconnecting */
	CNBD_ATTACH_DETACHING,
	CNBD_ATTACH_STOPPED,		/* the supervisor has ended */
};

enum cnbd_attach_event {
	CNBD_ATTACH_EV_BOUND,		/* the kernel serves the device: the first
					 * attach, a rebind, or a take-over */
	CNBD_ATTACH_EV_LOST,		/* connections were lost; reconnecting */
	CNBD_ATTACH_EV_RECONNECTED,	/* every connection of the live device is back */
	CNBD_ATTACH_EV_FAILED,		/* see CNBD_ATTACH_FAILED */
	CNBD_ATTACH_EV_UNBOUND,		/* the kernel let go of the device (detached,
					 * lost, or gone before a take-over) */
	CNBD_ATTACH_EV_STOPPED,		/* the supervisor ended: the last event */
};

/* What the server said of an export (cnbd_attach_sockets()). */
struct cnbd_attach_export {
	uint64_t size;			/* bytes */
	uint16_t flags;			/* transmission flags (NBD_FLAG_*) */
	/* NBD_INFO_BLOCK_SIZE; all 0 when the server sent none */
	uint32_t min_block;
	uint32_t pref_block;
	uint32_t max_payload;
};

struct cnbd_attach_options {
	const char *device;		/* "nbd3"; NULL: the first free one
					 * (netlink: one is made when none is) */
	enum cnbd_attach_binding binding;
	unsigned connections;		/* 1 to 64; more than one needs the
					 * server's NBD_FLAG_CAN_MULTI_CONN */
	bool readonly;
	unsigned timeout;		/* seconds a request may take; 0: forever */
	unsigned dead_timeout;		/* netlink: seconds the kernel holds I/O
					 * while no connection is live */
	unsigned negotiate_timeout;	/* seconds (1 to 600) for connecting and
					 * negotiating every connection of an
					 * attempt, in all */
	enum cnbd_attach_tls_mode tls_mode;	/* nbds:// only */
	/* Between attempts: the n-th (from 0) waits backoff_min_ms << n, at
	 * most backoff_max_ms, or backoff_held_ms while the kernel holds I/O
	 * for a lost connection; each wait is jittered down to half. */
	unsigned backoff_min_ms;
	unsigned backoff_max_ms;
	unsigned backoff_held_ms;
	/* After this many seconds without a live connection the supervisor
	 * gives up: the device is disconnected (its I/O fails) and the
	 * attachment stops. 0: it never gives up. */
	unsigned give_up_s;
	/* false: the first attach's failure ends the attachment (and
	 * cnbd_attach_uri() returns NULL); true: it is retried like a
	 * reconnect, until it works, give_up_s passes or a stop. */
	bool retry_first;
	/* Names the attachment in log lines until it has a device; NULL:
	 * the device asked for, or "any". */
	const char *label;
	/* Called on each event (see above); NULL: none. */
	void (*on_event)(struct cnbd_attach *a, enum cnbd_attach_event ev, void *arg);
	void *arg;
	/* cnbd_attach_sockets() only: a new negotiated socket in place of a
	 * lost one, and what the server said (0 or -1 with a reason in err);
	 * NULL: a lost connection is not replaced. */
	int (*reconnect)(void *arg, int *fd, struct cnbd_attach_export *ex,
			 char *err, size_t errlen);
};

/* What an attachment is doing, copied out. */
struct cnbd_attach_status {
	char device[32];		/* "nbd0"; "" until it has one */
	enum cnbd_attach_state state;
	const char *binding;		/* "netlink", "ioctl"; "" until chosen */
	bool bound;			/* handed to the kernel (or being) */
	uint64_t size;			/* bytes the kernel serves (whole blocks) */
	uint32_t block_size;
	uint16_t flags;			/* the export's transmission flags */
	unsigned connections;
	unsigned reconnects;		/* connections lost so far */
	const char *tls;		/* "off", "kernel", "relay"; the mode
					 * ("auto", ...) until a connection is
					 * carried */
	char tls_detail[64];		/* "TLS1.3 AES-256-GCM" */
	char error[512];		/* the last thing that went wrong; "" once
					 * connected */
};

/* The defaults: any free device, binding auto, 1 connection, timeout 30,
 * dead_timeout 120, negotiate_timeout 30, backoff 500 ms to 30 s (2 s
 * while the kernel holds I/O), never give up, the first failure final.
 * Start from these: fields are only ever appended. */
void cnbd_attach_options_init(struct cnbd_attach_options *o);

/*
 * Attaches the export at uri (nbd://, nbds://, nbd+unix://, nbds+unix://;
 * the NBD URI standard's TLS parameters) and returns once the kernel
 * serves it: the attachment, or NULL with a reason in err and errno
 * (EINVAL: options or a URI that cannot work; EBUSY: the device is this
 * process's already; ENOMEM; EIO: the attach failed, err says why).
 */
struct cnbd_attach *cnbd_attach_uri(const char *uri, const struct cnbd_attach_options *o,
				    char *err, size_t errlen);
/* The same, returning at once: the supervisor attaches on its own
 * thread; cnbd_attach_wait() or the events tell how it went. NULL only
 * for what cnbd_attach_uri() fails with at once (EINVAL, EBUSY, ENOMEM). */
struct cnbd_attach *cnbd_attach_start(const char *uri, const struct cnbd_attach_options *o,
				      char *err, size_t errlen);
/* Until the first attach has worked (0) or the attachment stopped
 * without (-1, the reason in err). */
int cnbd_attach_wait(struct cnbd_attach *a, char *err, size_t errlen);

/*
 * Binds nfds sockets you connected and negotiated yourself (in
 * transmission; plain TCP or Unix, or kernel TLS installed) to a device:
 * as cnbd_attach_uri(), with the library owning the sockets from the
 * call on. Lost connections are replaced through o->reconnect.
 */
struct cnbd_attach *cnbd_attach_sockets(const int *fds, unsigned nfds,
					const struct cnbd_attach_export *ex,
					const struct cnbd_attach_options *o,
					char *err, size_t errlen);

/*
 * Takes over a device that an earlier process attached with netlink and
 * left to the kernel (it crashed, or was restarted): the kernel still
 * serves it, but nothing would replace its connections. device is what
 * was attached ("nbd0"), uri the same URI, was what cnbd_attach_status()
 * said while it was attached (size, block_size, flags and tls are read).
 * The kernel must still serve device for that URI; a connection that
 * died while nobody watched is found (with a request timeout) and
 * replaced. Returns at once; NULL with the reason in err and errno
 * (ENODEV: the kernel no longer serves it so).
 */
struct cnbd_attach *cnbd_attach_adopt(const char *device, const char *uri,
				      const struct cnbd_attach_status *was,
				      const struct cnbd_attach_options *o,
				      char *err, size_t errlen);

void cnbd_attach_status(struct cnbd_attach *a, struct cnbd_attach_status *st);
/* "waiting", "connecting", "connected", "reconnecting", "failed",
 * "detaching", "stopped". */
const char *cnbd_attach_state_name(enum cnbd_attach_state state);
/* Try now: cuts a wait between attempts short (a device appeared, the
 * server is back). */
void cnbd_attach_kick(struct cnbd_attach *a);
/* Asks for a detach and returns at once; a negotiation under way is cut
 * short. The handle stays valid until cnbd_attach_detach(). */
void cnbd_attach_stop(struct cnbd_attach *a);
/* Detaches (the device is flushed, then disconnected), waits for the
 * supervisor to end and frees a. 0, or -1 when the flush or the
 * disconnect failed (logged; errno EIO): the device is let go either
 * way. */
int cnbd_attach_detach(struct cnbd_attach *a);

/* Loads nbd the way modprobe would (modprobe.d options apply). 0 when it
 * is loaded or built in; -1 with the reason in err. */
int cnbd_attach_load_module(char *err, size_t errlen);
/* Whether the running kernel has the nbd netlink family. */
bool cnbd_attach_have_netlink(void);

#ifdef __cplusplus
}
#endif

#endif
