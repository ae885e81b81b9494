/* SPDX-License-Identifier: MIT */
/* Shared inside the client library only: error reporting into
 * client->error. */
#ifndef CNBD_CLIENT_PRIV_H
#define CNBD_CLIENT_PRIV_H

#include "clientlib/client.h"

/* Sets c->error from fmt and errno to err. */
void client_set_error(struct nbd_client *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* client_set_error, then the outcome, for "return client_fail(...)":
 * client_fail for a connection that cannot go on (err EPROTO for a
 * protocol violation), client_invalid for a call refused before anything
 * was sent, client_io_invalid the same for a request in transmission. */
#define client_fail(c, err, ...) \
	(client_set_error((c), (err), __VA_ARGS__), CLIENT_FAILED)
#define client_invalid(c, err, ...) \
	(client_set_error((c), (err), __VA_ARGS__), CLIENT_INVALID)
#define client_io_invalid(c, err, ...) \
	(client_set_error((c), (err), __VA_ARGS__), CLIENT_IO_INVALID)
/* For a failed read_full/write_full: names the cause (timeout, the server
 * closing, the socket's error) while doing what. Returns CLIENT_FAILED. */
enum client_result client_io_fail(struct nbd_client *c, const char *what);
/* Sends a then b (b may be NULL) without raising SIGPIPE; 0 or -1 with
 * errno. */
int client_send(struct nbd_client *c, const void *a, size_t alen,
		const void *b, size_t blen);
/* Exactly len bytes from the server (through TLS when in use); 0 or -1
 * with errno. */
int client_recv(struct nbd_client *c, void *buf, size_t len);
int client_discard(struct nbd_client *c, size_t len);
void client_tls_free(struct nbd_client *c);
/* Copies a server-supplied string for a message: printable ASCII only,
 * at most outlen - 1 bytes. */
void client_printable(char *out, size_t outlen, const uint8_t *in, size_t len);

/* Longest option reply payload accepted: a SERVER reply holds a name and a
 * description of up to NBD_MAX_STRING each. */
#define CLIENT_REPLY_MAX	(2 * NBD_MAX_STRING + 64)

struct client_reply {
	uint32_t type;
	uint32_t len;
	uint8_t data[CLIENT_REPLY_MAX + 1];	/* +1: a terminating NUL */
};

enum client_result client_send_option(struct nbd_client *c, uint32_t opt,
				      const void *data, uint32_t len);
/* Reads one reply to opt: magic, option echo and length checked, the
 * payload read into r->data and NUL-terminated. */
enum client_result client_read_reply(struct nbd_client *c, uint32_t opt,
				     struct client_reply *r);
/* Turns an error reply (or an unexpected one) into c->error, naming the
 * option and subject (e.g. " for export 'disk'"): CLIENT_UNSUPPORTED
 * (errno ENOTSUP) for NBD_REP_ERR_UNSUP, CLIENT_REFUSED (EPROTO) for
 * another error, CLIENT_FAILED (EPROTO) for a reply that is no error. */
enum client_result client_reply_error(struct nbd_client *c, uint32_t opt,
				      const char *subject, const struct client_reply *r);

#endif
