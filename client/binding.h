/* SPDX-License-Identifier: MIT */
/*
 * How a negotiated export is handed to the kernel. The supervisor knows
 * only this interface; the ioctl binding (ioctl_bind.c) implements it
 * today and a netlink binding can sit beside it (netlink.c) without the
 * supervisor changing beyond choosing one.
 *
 * This header includes no protocol header: transmission flags travel as
 * plain integers (the kernel's <linux/nbd.h> and cnbd/protocol.h clash).
 */
#ifndef CNBD_BINDING_H
#define CNBD_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bind_params {
	const char *device;	/* "nbd0" */
	uint64_t size;		/* bytes, a multiple of blksize */
	uint32_t blksize;	/* 512..4096, a power of two */
	uint32_t flags;		/* the server's transmission flags */
	bool readonly;		/* make the block device read-only */
	unsigned timeout;	/* seconds per request; 0: none */
	const int *fds;		/* negotiated sockets; the binding owns them */
	unsigned nfds;
	const char *identifier;	/* the export's identity (netlink's backend) */
	/* Called from the binding's own thread once the kernel has let go
	 * of the sockets (requested or not). */
	void (*ended)(void *arg);
	void *ended_arg;
};

enum bind_end {
	BIND_END_REQUESTED,	/* after disconnect() */
	BIND_END_LOST,		/* the connection died or timed out */
};

struct binding;

struct binding_ops {
	const char *name;
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
};

extern const struct binding_ops ioctl_binding;

#endif
