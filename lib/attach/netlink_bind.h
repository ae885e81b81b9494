/* SPDX-License-Identifier: MIT */
/*
 * The netlink binding's insides, shared by netlink_bind.c (the binding's
 * operations) and netlink_monitor.c (the thread that watches a bound
 * device's sockets), and its knobs for the unit tests.
 */
#ifndef CNBD_NETLINK_BIND_H
#define CNBD_NETLINK_BIND_H

#include <pthread.h>
#include <stdbool.h>

#include "attach/binding.h"

/* Tunables, changed only by the unit tests. */
extern const char *netlink_bind_dev_dir;	/* "/dev" (for the fsync) */
extern unsigned netlink_bind_busy_ms;		/* 5000: EBUSY retried this long */
extern unsigned netlink_bind_status_ms;		/* 5000: STATUS polled this often */
extern bool netlink_bind_events;		/* true: listen for LINK_DEAD */

struct nl_conn {
	int fd;			/* ours; the kernel holds its own reference */
	bool dead;		/* the kernel shut it down */
	char why[160];		/* and why, as far as can be told */
};

struct netlink_binding {
	struct binding b;	/* first: the supervisor's handle on it */
	pthread_mutex_t lock;	/* guards everything below that changes */
	unsigned index;
	char device[32];
	char *identifier;
	unsigned timeout;
	struct nl_conn *conns;
	unsigned nconns;
	int wake_fd;		/* eventfd: the monitor looks again */
	bool link_dead;		/* LINK_DEAD arrived since the last look */
	bool disconnect_requested;
	bool stop;		/* the monitor gives up (disconnect grace over) */
	bool ended;
	pthread_t monitor;
	void (*ended_fn)(void *arg);
	void (*changed_fn)(void *arg);
	void *cb_arg;
	struct netlink_binding *next;	/* in the LINK_DEAD registry */
};

void netlink_wake(struct netlink_binding *b);
/* LINK_DEAD for nbd<index> (NETLINK_EVENTS_ALL: any device): what the
 * events thread calls, and the unit tests in its place. */
void netlink_link_dead(unsigned index);
/* The device's configuration is still in the kernel: 1, 0 when it is
 * gone, -1 when the kernel could not be asked. */
int netlink_configured(struct netlink_binding *b);
/* The monitor thread: polls the live sockets for the kernel's shutdown,
 * STATUS now and then; calls changed_fn and, at its end, ended_fn. */
void *netlink_monitor(void *arg);

#endif
