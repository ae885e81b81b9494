/* SPDX-License-Identifier: MIT */
/*
 * tls-mode = auto tries kernel TLS first and, the first time it cannot
 * carry a connection of the attachment (no tls module, a cipher it lacks,
 * setsockopt refused), says why once and relays that device's TLS from
 * then on. tls-mode = kernel fails the connection with the reason
 * instead; tls-mode = relay never tries the kernel.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "attach/kmod_load.h"
#include "common/ktls.h"
#include "common/log.h"
#include "attach/supervisor_priv.h"
#include "attach/tls_connect.h"
#include "attach/tls_relay.h"

static pthread_once_t module_once = PTHREAD_ONCE_INIT;
static char module_error[256];

/* The tls module, loaded the way nbd is (libkmod, modprobe.d applies);
 * once per run: a kernel without it does not grow one. */
static void load_module(void)
{
	if (kmod_load("tls", module_error, sizeof(module_error)) == 0)
		module_error[0] = '\0';
}

static void set_tls_used(struct cnbd_attach *a, const char *how, gnutls_session_t s)
{
	pthread_mutex_lock(&a->lock);
	a->tls_used = how;
	snprintf(a->tls_detail, sizeof(a->tls_detail), "%s %s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(s)),
		 gnutls_cipher_get_name(gnutls_cipher_get(s)));
	pthread_mutex_unlock(&a->lock);
}

/* Kernel TLS on c's own socket: 0, or -1 with why (and *touched). */
static int kernel_tls(struct nbd_client *c, bool *touched, char *why, size_t whylen)
{
	*touched = false;
	pthread_once(&module_once, load_module);
	if (module_error[0]) {
		snprintf(why, whylen, "%s", module_error);
		return -1;
	}
	/* Replies the kernel would never see, and nbd.ko sends no request
	 * before it has the socket: the server is out of step. */
	if (gnutls_record_check_pending(c->tls) > 0) {
		snprintf(why, whylen, "the server sent %zu bytes after its reply to GO, before any request",
			 gnutls_record_check_pending(c->tls));
		return -1;
	}
	return ktls_install(c->tls, c->fd, touched, why, whylen);
}

enum tls_carry_rc tls_carry(struct cnbd_attach *a, struct nbd_client *c, int *fd,
			    char *err, size_t errlen)
{
	const char *who = attach_who(a);
	gnutls_session_t s;
	bool touched;
	char why[384];
	void *creds;

	if (a->tls_mode == CNBD_ATTACH_TLS_RELAY || a->tls_kernel_refused)
		goto relay;
	if (kernel_tls(c, &touched, why, sizeof(why)) == 0) {
		set_tls_used(a, "kernel", c->tls);
		/* No close_notify: the session goes on, in the kernel. */
		client_tls_take(c, &s, &creds);
		client_tls_release(s, creds, false);
		*fd = c->fd;
		c->fd = -1;
		return TLS_CARRIED;
	}
	if (a->tls_mode == CNBD_ATTACH_TLS_KERNEL) {
		snprintf(err, errlen, "tls-mode = kernel, but kernel TLS cannot carry the connection: %s",
			 why);
		return TLS_FAILED;
	}
	a->tls_kernel_refused = true;
	log_warn("%s: kernel TLS cannot carry the connection to %s (%s): the daemon relays its TLS instead (tls-mode = auto)",
		 who, a->uri_text, why);
	if (touched) {
		snprintf(err, errlen, "kernel TLS was half set up (%s): connecting again", why);
		return TLS_RETRY;
	}
relay:
	set_tls_used(a, "relay", c->tls);
	client_tls_take(c, &s, &creds);
	*fd = tls_relay_start(who, s, creds, c->fd, err, errlen);
	c->fd = -1;			/* the relay's now, whatever happened */
	return *fd < 0 ? TLS_FAILED : TLS_CARRIED;
}
