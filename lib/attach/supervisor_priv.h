/* SPDX-License-Identifier: MIT */
/*
 * An attachment (struct cnbd_attach, <cnbd/attach.h>) and what the
 * supervisor's files share: creating and freeing it (attach.c), the
 * device names this process holds (attach_names.c), connecting to the
 * export (export_connect.c), waiting between attempts (backoff.c),
 * replacing the dead connections of a live device (reconnect.c), and the
 * supervisor's thread (supervisor.c).
 */
#ifndef CNBD_SUPERVISOR_PRIV_H
#define CNBD_SUPERVISOR_PRIV_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "cnbd/attach.h"
#include "attach/binding.h"
#include "clientlib/client.h"

#define ATTACH_MAX_CONNECTIONS	64
#define ATTACH_MAX_TIMEOUT	86400
#define ATTACH_MAX_NEGOTIATE_TIMEOUT	600
#define CONNECT_TIMEOUT_S	15	/* connect (per address), and per read; the
				 * whole attempt has negotiate_timeout */

struct cnbd_attach {
	/* Fixed once started. */
	char *uri_text;			/* NULL for cnbd_attach_sockets() */
	char *identifier;		/* the kernel's backend identifier */
	struct nbd_uri uri;
	char label[64];			/* for log lines, until it has a device */
	bool any_device;		/* no device named: the first free one */
	unsigned connections;
	bool readonly;
	unsigned timeout;
	enum cnbd_attach_binding binding_choice;
	unsigned dead_timeout;
	enum cnbd_attach_tls_mode tls_mode;
	unsigned negotiate_timeout;
	unsigned backoff_min_ms, backoff_max_ms, backoff_held_ms;
	unsigned give_up_s;
	bool once;			/* the first failure ends it */
	void (*on_event)(struct cnbd_attach *a, enum cnbd_attach_event ev, void *arg);
	void *arg;
	int (*reconnect)(void *arg, int *fd, struct cnbd_attach_export *ex,
			 char *err, size_t errlen);

	/* The supervisor's own. */
	const struct binding_ops *ops;	/* chosen at the first attach, kept */
	bool adopting;			/* cnbd_attach_adopt(): take it over
					 * rather than attach */
	int given[ATTACH_MAX_CONNECTIONS];	/* cnbd_attach_sockets(): for */
	unsigned ngiven;			/* the first attach */
	struct client_export given_ex;
	bool tls_kernel_refused;	/* auto: kernel TLS failed once, relay */
	bool unconnected;		/* no live connection since ... */
	struct timespec unconnected_since;	/* (give_up_s) */

	/* Under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC; any change below */
	unsigned refs;			/* the caller's, the supervisor's */
	char name[32];			/* the /dev/nbdX, "" until chosen */
	enum cnbd_attach_state state;
	uint64_t size;
	uint32_t blksize;
	uint16_t flags;
	unsigned reconnects;
	char error[512];		/* the last thing that went wrong */
	bool stop;			/* detach asked for */
	bool kicked;			/* try now */
	bool bound;			/* handed to the kernel (or being) */
	int negotiating;		/* the socket being negotiated, or -1: a
					 * stop shuts it down (so that it never
					 * waits for the deadline) */
	bool ended;			/* the binding's kernel side ended */
	bool changed;			/* the binding saw connections die */
	bool disconnect_failed;		/* the last flush or disconnect */
	const char *binding;		/* "netlink", "ioctl"; "" until chosen */
	const char *tls_used;		/* "off", "kernel", "relay"; the mode
					 * until a connection is carried */
	char tls_detail[64];		/* "TLS1.3 AES-256-GCM" */
	bool first_done;		/* the first attach worked or failed */
	int first_rc;
	pthread_t thread;		/* the supervisor's (set by itself) */
	bool finished;			/* the supervisor has ended, its last
					 * event delivered */
	struct cnbd_attach *next;	/* attach_names.c */
};

/* supervisor.c: for binding auto, the first the kernel offers; NULL
 * ends the list. */
extern const struct binding_ops *const attach_bindings[];

/* attach.c */
/* *mine: a copy of o, or the defaults when o is NULL. */
void attach_options_or_defaults(struct cnbd_attach_options *mine,
				const struct cnbd_attach_options *o);
const char *attach_tls_mode_name(enum cnbd_attach_tls_mode m);
/* A new attachment with the caller's and the supervisor's references
 * (not started, not yet holding a device name). */
struct cnbd_attach *attach_new(const char *uri, const struct cnbd_attach_options *o,
			       char *err, size_t errlen);
/* Reserves its device name and starts the supervisor: 0, or -1 with err
 * and errno (and a freed). */
int attach_run(struct cnbd_attach *a, char *err, size_t errlen);
void attach_put(struct cnbd_attach *a);
/* Frees one that was never started. */
void attach_free(struct cnbd_attach *a);
void attach_wait_locked(struct cnbd_attach *a, const struct timespec *abs);
/* What log lines call it: its device, or its label; and its export. */
const char *attach_who(struct cnbd_attach *a);
const char *attach_uri(const struct cnbd_attach *a);

/* attach_names.c: the devices this process's attachments hold, so that
 * two never choose the same. */
/* Adds a; -1 when its name (if any) is another's already. */
int names_add(struct cnbd_attach *a);
void names_remove(struct cnbd_attach *a);
/* For a without a name: the first free device nobody here holds, or ""
 * when there is none; a holds it from now on. */
void names_choose(struct cnbd_attach *a);
/* a takes name (the kernel's choice); false when another holds it. */
bool names_take(struct cnbd_attach *a, const char *name);
/* a gives its name up (it was never bound there). */
void names_forget(struct cnbd_attach *a);

/* export_connect.c. Connection i (0-based) of a: connected and
 * negotiated; *fd gets the socket, *ex what the server said. With
 * check, the export must be the one in check (what the other
 * connections, or the kernel, have). */
int export_connect(struct cnbd_attach *a, unsigned i, const struct client_export *check,
		   struct client_export *ex, int *fd, char *err, size_t errlen);
/* Every connection of a; on failure none is left open. */
int export_connect_all(struct cnbd_attach *a, int *fds, struct client_export *ex,
		       char *err, size_t errlen);

/* backoff.c. Sleeps the attempt's capped, jittered delay, or until a
 * kick, a stop, or the binding's end. True when a must stop. */
bool backoff(struct cnbd_attach *a, unsigned attempt, bool held);
/* The delay itself, for r a random number. */
unsigned backoff_ms(const struct cnbd_attach *a, unsigned attempt, bool held, unsigned r);
/* Counts time without a live connection (from the first call after
 * connected() until the next connected()); true once give_up_s passed. */
bool giving_up(struct cnbd_attach *a);
void connected(struct cnbd_attach *a);

/* reconnect.c. Replaces the connections the kernel marked dead, one at a
 * time, until every one is live again, a must stop, or its binding
 * ended. */
void reconnect_dead(struct cnbd_attach *a, struct binding *b);
/* The export ex is the one the kernel serves for a (same size, nothing
 * it relies on taken away): 0, or -1 with the reason in err. */
int same_export(struct cnbd_attach *a, const struct client_export *ex,
		char *err, size_t errlen);

/* supervisor.c: the thread; arg is a, whose supervisor reference it
 * puts when it ends. */
void *supervise(void *arg);

/* give_up_s passed without a live connection: a stops, its device is
 * disconnected. */
void give_up(struct cnbd_attach *a);

void set_state(struct cnbd_attach *a, enum cnbd_attach_state s);
bool stopping(struct cnbd_attach *a);
void note_error(struct cnbd_attach *a, const char *err);
/* Tells the program (a->on_event), with no lock held. */
void emit(struct cnbd_attach *a, enum cnbd_attach_event ev);

#endif
