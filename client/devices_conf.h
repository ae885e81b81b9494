/* SPDX-License-Identifier: MIT */
/*
 * The client daemon's devices file (default /etc/cnbd/devices.conf):
 *
 *   [nbd0]                  ; the device; [any] or [any-NAME]: the first free one
 *   uri = nbd://storage.example/disk
 *   connections = 2         ; > 1 only when the server allows CAN_MULTI_CONN
 *   readonly = false
 *   timeout = 30            ; seconds per request (0: none)
 *   binding = netlink       ; or ioctl; default: netlink where the kernel has it
 *   dead-timeout = 120      ; netlink: seconds the kernel holds I/O while
 *                           ; no connection is live
 *   tls-mode = auto         ; nbds:// only: kernel, relay, or auto (kernel
 *                           ; TLS where it works, else the daemon's relay)
 *   negotiate-timeout = 30  ; seconds for connecting and negotiating all
 *                           ; connections of one attempt, in all
 *
 * Errors name the file and line.
 */
#ifndef CNBD_DEVICES_CONF_H
#define CNBD_DEVICES_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <cnbd/attach.h>

#define DEVICES_CONF_DEFAULT	CNBD_SYSCONFDIR "/cnbd/devices.conf"
#define DEVICE_MAX_CONNECTIONS	64
#define DEVICE_DEFAULT_TIMEOUT	30
#define DEVICE_MAX_TIMEOUT	86400
#define DEVICE_DEFAULT_DEAD_TIMEOUT	120
#define DEVICE_DEFAULT_NEGOTIATE_TIMEOUT	30
#define DEVICE_MAX_NEGOTIATE_TIMEOUT	600

/* The attach API's, by the names the file uses. */
enum device_binding {
	BINDING_AUTO = CNBD_ATTACH_BINDING_AUTO,	/* netlink where the kernel
							 * has it, else ioctl */
	BINDING_NETLINK = CNBD_ATTACH_BINDING_NETLINK,
	BINDING_IOCTL = CNBD_ATTACH_BINDING_IOCTL,
};

enum device_tls_mode {
	TLS_MODE_AUTO = CNBD_ATTACH_TLS_AUTO,		/* kernel TLS where it works,
							 * else the relay */
	TLS_MODE_KERNEL = CNBD_ATTACH_TLS_KERNEL,	/* kernel TLS or nothing */
	TLS_MODE_RELAY = CNBD_ATTACH_TLS_RELAY,		/* the daemon relays, always */
};

struct device_conf {
	char device[64];	/* "nbd0", "any", "any-NAME" */
	char *uri;
	unsigned connections;
	bool readonly;
	unsigned timeout;
	enum device_binding binding;
	unsigned dead_timeout;
	enum device_tls_mode tls_mode;
	unsigned negotiate_timeout;	/* one deadline per attempt */
	int line;		/* of the section's first key */
};

struct devices_conf {
	struct device_conf *v;
	size_t n;
};

/* "nbdN", "any" or "any-NAME" (NAME: letters, digits, '-', '_', '.'). */
bool device_spec_valid(const char *spec);
bool device_spec_is_any(const char *spec);
/* "auto", "netlink", "ioctl": 0, or -1 for anything else. */
int device_binding_parse(const char *s, enum device_binding *out);
const char *device_binding_name(enum device_binding b);
/* "auto", "kernel", "relay": 0, or -1 for anything else. */
int device_tls_mode_parse(const char *s, enum device_tls_mode *out);
const char *device_tls_mode_name(enum device_tls_mode m);

int devices_conf_load(const char *path, struct devices_conf *conf,
		      char *err, size_t errlen);
/* The same for text in memory; name stands for the file in messages. */
int devices_conf_parse(const char *name, const char *text,
		       struct devices_conf *conf, char *err, size_t errlen);
void devices_conf_free(struct devices_conf *conf);

#endif
