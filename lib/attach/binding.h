/* SPDX-License-Identifier: MIT */
/*
 * How a negotiated export is handed to the kernel. The supervisor knows
 * only this interface; two bindings implement it:
 *
 *   ioctl   (ioctl_bind.c)   NBD_SET_SOCK + NBD_DO_IT, as nbd-client does.
 *           A lost connection ends the binding; the device is bound anew.
 *   netlink (netlink_bind.c) generic netlink: CONNECT with a dead-
 *           connection timeout, so that the kernel holds I/O while a lost
 *           connection is replaced in the live device (RECONFIGURE).
 *
 * This header includes no protocol header: transmission flags travel as
 * plain integers (the kernel's <linux/nbd.h> and cnbd/protocol.h clash).
 */
#ifndef CNBD_BINDING_H
#define CNBD_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct binding_ops;

struct bind_params {
	const char *device;	/* "nbd0"; "" lets the kernel choose (netlink) */
	char *chosen;		/* gets the device bound ("nbd0") */
	size_t chosen_len;
	uint64_t size;		/* bytes, a multiple of blksize */
	uint32_t blksize;	/* 512..4096, a power of two */
	uint32_t flags;		/* the server's transmission flags */
	bool readonly;		/* make the block device read-only */
	unsigned timeout;	/* seconds per request; 0: none */
	unsigned dead_timeout;	/* netlink: seconds the kernel holds I/O
				 * while no connection is live */
	const int *fds;		/* negotiated sockets; the binding owns them */
	unsigned nfds;
	const char *identifier;	/* the export's identity (netlink's backend) */
	/* Called from the binding's own thread once the kernel has let go
	 * of the device (requested or not). */
	void (*ended)(void *arg);
	/* netlink: called from the binding's thread when a connection died;
	 * dead() says how many are down. */
	void (*changed)(void *arg);
	void *ended_arg;	/* for both callbacks */
};

enum bind_end {
	BIND_END_REQUESTED,	/* after disconnect() */
	BIND_END_LOST,		/* the connection died or timed out */
};

/* What probe() found. */
enum bind_probe {
	BIND_PROBE_FAILED = -1,	/* the kernel could not be asked; err says why */
	BIND_PROBE_ALL_LIVE = 0,	/* nothing was dead: the kernel dropped fd */
	BIND_PROBE_REPLACED = 1,	/* fd replaced a connection that had died unseen */
};

/* What every binding starts with; each binding's own struct embeds it
 * first (struct ioctl_binding, struct netlink_binding). */
struct binding {
	const struct binding_ops *ops;
};

struct binding_ops {
	const char *name;
	/* The kernel makes devices for this binding: device "" lets it
	 * choose (and make one when none is free), and a named device that
	 * does not exist yet is made. */
	bool makes_devices;
	/* The kernel holds I/O for dead_timeout while no connection is
	 * live, instead of failing it at once. */
	bool holds_io;
	/* Whether the running kernel offers this binding; missing says
	 * what it lacks when not ("the kernel has no nbd netlink family"). */
	bool (*available)(void);
	const char *missing;
	/* Hands the sockets to the kernel and starts serving; returns once
	 * the kernel runs the device or has refused (NULL, reason in err).
	 * On failure the sockets are closed. */
	struct binding *(*bind)(const struct bind_params *p, char *err, size_t errlen);
	/* Flushes and asks the kernel to disconnect; returns at once. May be
	 * called while the kernel still serves. */
	int (*disconnect)(struct binding *b, char *err, size_t errlen);
	/* Blocks until the kernel has let go, frees b, and says why it
	 * ended; *error gets the kernel's errno for a lost connection. */
	enum bind_end (*wait)(struct binding *b, int *error);
	/* The rest is NULL for a binding that cannot replace a connection
	 * of a live device (ioctl). */
	/* How many connections the kernel has marked dead; why the first
	 * of them died goes to why. */
	unsigned (*dead)(struct binding *b, char *why, size_t whylen);
	/* Puts fd (a negotiated socket; the binding owns it) in place of a
	 * dead connection, and checks that the kernel took it. */
	int (*replace)(struct binding *b, int fd, char *err, size_t errlen);
	/* Whether the kernel still has device configured (by an earlier
	 * process): 1; 0 with why; -1 when it could not be asked (why). */
	int (*configured)(const char *device, char *why, size_t whylen);
	/* Takes over a device that an earlier process bound and left to
	 * the kernel (p: device, nfds connections, timeout, identifier and
	 * callbacks; no fds). NULL with err when the kernel no longer has
	 * it configured. */
	struct binding *(*adopt)(const struct bind_params *p, char *err, size_t errlen);
	/* After adopt(), with a request timeout: offers fd (negotiated; the
	 * binding owns it) to the kernel, which takes it only in place of a
	 * connection that died while nobody watched. Without a request
	 * timeout the kernel's answer cannot be seen. */
	enum bind_probe (*probe)(struct binding *b, int fd, char *err, size_t errlen);
};

extern const struct binding_ops ioctl_binding_ops;
extern const struct binding_ops netlink_binding_ops;

#endif
