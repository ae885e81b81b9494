/* SPDX-License-Identifier: MIT */
/*
 * The client side of NBD in libcnbd: connect by URI, negotiate (fixed
 * newstyle, GO with BLOCK_SIZE, EXPORT_NAME when GO is unsupported),
 * LIST, and simple-reply I/O for tools and tests. Every reply from the
 * server is checked (magic, lengths, option echo, cookie) and every length
 * is bounded before anything is read or allocated; a failure leaves a
 * sentence in client->error.
 *
 * The daemon hands the negotiated socket to the kernel; tools keep it and
 * call client_pread() and friends.
 */
#ifndef CNBD_CLIENT_H
#define CNBD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "cnbd/protocol.h"
#include "clientlib/uri.h"

/* What the server told us about the export. */
struct client_export {
	uint64_t size;
	uint16_t flags;			/* transmission flags */
	bool have_block_size;		/* the server sent NBD_INFO_BLOCK_SIZE */
	uint32_t min_block;		/* the spec's defaults when it did not */
	uint32_t pref_block;
	uint32_t max_payload;
	bool via_export_name;		/* GO was unsupported */
	/* The name this host asked for: the only one to name anything by
	 * (a link, a record). What the server calls it (NBD_INFO_NAME) is
	 * its own word, kept apart, for messages only. */
	char name[NBD_MAX_STRING + 1];
	char server_name[NBD_MAX_STRING + 1];	/* "" when not sent */
	char description[NBD_MAX_STRING + 1];
};

struct nbd_client {
	int fd;
	gnutls_session_t tls;		/* after STARTTLS; NULL in the clear */
	void *tls_creds;		/* what tls refers to, freed with it */
	uint16_t handshake_flags;	/* from the server's greeting */
	bool greeted;
	bool fixed_newstyle;
	bool no_zeroes;
	bool transmission;		/* negotiation is over */
	bool structured;		/* NBD_OPT_STRUCTURED_REPLY acknowledged */
	/* The meta context client_meta_context() set, when the server
	 * granted it: what its BLOCK_STATUS chunks carry. */
	bool have_meta;
	uint32_t meta_id;
	int timeout;			/* seconds per read/write; 0: none */
	/* One total bound on negotiation (client_set_deadline): every read
	 * fails with ETIMEDOUT once it passes, however slowly a server
	 * drips its bytes. deadline_s == 0: none. */
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	int deadline_s;			/* as set, for messages */
	uint64_t next_cookie;
	struct client_export export;
	char error[512];
};

/*
 * What a negotiation call did (the greeting, options, STARTTLS, opening
 * a URI). CLIENT_OK is 0 and every other outcome negative, so "< 0"
 * still reads "did not succeed"; the name says whether the connection
 * can be used again. Except for CLIENT_OK and CLIENT_STOPPED, c->error
 * holds the sentence and errno the reason.
 */
enum client_result {
	CLIENT_OK = 0,
	/* The connection is unusable: an I/O error, a timeout, the server
	 * closing, or a reply against the protocol. Close it. */
	CLIENT_FAILED = -1,
	/* The server answered with an error reply (no such export, policy,
	 * TLS required...): still negotiating, another option may follow. */
	CLIENT_REFUSED = -2,
	/* The server does not know the option (NBD_REP_ERR_UNSUP, or it is
	 * not fixed newstyle), errno ENOTSUP: still negotiating, try
	 * another way (client_go falls back to EXPORT_NAME by itself). */
	CLIENT_UNSUPPORTED = -3,
	/* The call cannot be made as asked (a URI that does not parse, a
	 * name too long, TLS credentials that do not load): nothing was
	 * sent for it. */
	CLIENT_INVALID = -4,
	/* client_list's callback returned nonzero: the rest of the list is
	 * unread, so the connection is out of step for further options. */
	CLIENT_STOPPED = -5,
};

/*
 * What a request in transmission did (client_pread and friends). The
 * same convention: 0 is success, every other outcome negative.
 */
enum client_io_result {
	CLIENT_IO_OK = 0,
	/* The connection is gone or out of step (c->transmission is now
	 * false): close it. */
	CLIENT_IO_LOST = -1,
	/* The server failed the request with an NBD error, errno its
	 * errno (EIO, ENOSPC...): the connection is still usable. Of a
	 * request split in chunks, those before the failed one were done. */
	CLIENT_IO_SERVER_ERROR = -2,
	/* Refused before anything was sent: beyond the end, misaligned, a
	 * read-only export, a command or flag the server does not accept,
	 * no export negotiated. */
	CLIENT_IO_INVALID = -3,
};

/* Takes over fd (client_close() closes it). */
void client_init(struct nbd_client *c, int fd);
/* Bounds every read and write on the socket (SO_RCVTIMEO/SO_SNDTIMEO);
 * 0 removes the bound. Clear it before giving the socket to the kernel:
 * the kernel's receive path would inherit it. */
enum client_result client_set_timeout(struct nbd_client *c, int seconds);

/* Sets one deadline, seconds from now, for everything that follows
 * (greeting, options, STARTTLS and the TLS handshake): each read waits
 * only until then. 0 removes it (do so before transmission). */
void client_set_deadline(struct nbd_client *c, int seconds);
/* The same with a deadline already chosen (one for several
 * connections); seconds is its length, for messages. */
void client_set_deadline_at(struct nbd_client *c, const struct timespec *at,
			    int seconds);
/* The deadline, or NULL for none: for code that waits itself (a TLS
 * handshake: conn_ms_until() of it is what gnutls_handshake_set_timeout
 * and poll() take). */
const struct timespec *client_deadline(const struct nbd_client *c);

/* Opens a socket to the URI's server (connect_timeout seconds; 0: the
 * system's). Returns the fd or -1 with a reason in err. */
int client_connect_uri(const struct nbd_uri *uri, int connect_timeout,
		       char *err, size_t errlen);

/* Reads the greeting and answers it (fixed newstyle, NO_ZEROES when
 * offered). The option calls below do this first when needed. */
enum client_result client_greeting(struct nbd_client *c);
/* GO asking for BLOCK_SIZE, NAME and DESCRIPTION; EXPORT_NAME when the
 * server answers NBD_REP_ERR_UNSUP (or is not fixed newstyle). On success
 * the connection is in transmission and c->export is filled. */
enum client_result client_go(struct nbd_client *c, const char *name);
/* NBD_OPT_INFO: what GO would tell, without entering transmission.
 * CLIENT_UNSUPPORTED when the server does not know INFO. */
enum client_result client_info(struct nbd_client *c, const char *name,
			       struct client_export *ex);

/* NBD_OPT_LIST: fn is called once per export (description may be "");
 * a nonzero return from fn stops the listing (CLIENT_STOPPED). */
typedef int (*client_list_fn)(void *opaque, const char *name,
			      const char *description);
enum client_result client_list(struct nbd_client *c, client_list_fn fn, void *opaque);
/* NBD_OPT_STRUCTURED_REPLY (client_structured.c): c->structured once
 * the server acknowledged; CLIENT_UNSUPPORTED (still negotiating) when it
 * does not know it. */
enum client_result client_structured_replies(struct nbd_client *c);
/* NBD_OPT_SET_META_CONTEXT of one context (say "base:allocation") for
 * the export GO will name, after structured replies: c->have_meta and
 * c->meta_id when the server granted it. CLIENT_OK either way;
 * CLIENT_UNSUPPORTED when the server does not know the option. */
enum client_result client_meta_context(struct nbd_client *c, const char *export,
				       const char *context);
/* NBD_OPT_ABORT: ends negotiation politely (the socket stays open). */
enum client_result client_abort(struct nbd_client *c);

/* Parse, connect, negotiate: ready for I/O. timeout bounds connecting and
 * every later read/write. */
enum client_result client_open_uri(struct nbd_client *c, const char *uri, int timeout);
/* Connects to a parsed URI (uri_parse_tls) and greets the server, with
 * STARTTLS first for nbds:// URIs: ready for LIST, INFO or GO. The
 * greeting and TLS get timeout seconds in all (client_set_deadline);
 * the deadline stays set for what the caller does next. */
enum client_result client_open(struct nbd_client *c, const struct nbd_uri *uri,
			       int timeout);
/* STARTTLS and the TLS handshake (client_tls.c). */
enum client_result client_starttls(struct nbd_client *c, const struct nbd_uri *uri);
/* After GO, for whoever carries the session on (the daemon's kernel TLS
 * or its relay): c forgets the session and its credentials, so that
 * client_close() neither ends nor frees them. The caller owns both and
 * gives them back to client_tls_release(). */
void client_tls_take(struct nbd_client *c, gnutls_session_t *session, void **creds);
/* Frees a session taken over. bye: send close_notify first; never for a
 * session whose keys went to the kernel, which owns its sequence numbers
 * from then on. */
void client_tls_release(gnutls_session_t session, void *creds, bool bye);

/* Transmission with simple replies. Lengths larger than the server's
 * maximum payload are split. On failure c->error and errno are set: EIO
 * etc. for an error the server returned (CLIENT_IO_SERVER_ERROR), EPROTO
 * or the socket's errno when the connection is lost (CLIENT_IO_LOST). */
enum client_io_result client_pread(struct nbd_client *c, void *buf, uint64_t len,
				   uint64_t offset);
enum client_io_result client_pwrite(struct nbd_client *c, const void *buf, uint64_t len,
				    uint64_t offset, bool fua);
enum client_io_result client_flush(struct nbd_client *c);
enum client_io_result client_trim(struct nbd_client *c, uint64_t len, uint64_t offset);
/* Sends NBD_CMD_DISC (in transmission) and closes the socket. */
void client_close(struct nbd_client *c);

/* The block size for the kernel (512..4096, a power of two): the
 * server's preferred size when the kernel can take it, never below its
 * minimum. -1 with a reason when no size fits both. */
int client_kernel_block_size(const struct client_export *ex, uint32_t *blksize,
			     char *err, size_t errlen);

#endif
