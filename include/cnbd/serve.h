/* SPDX-License-Identifier: MIT */
/*
 * The per-connection engine, for programs that serve their own data:
 * hand it a connected socket and a way to find exports, and it speaks the
 * whole protocol (what go-nbd's Handle(conn, exports, options) does).
 * nbd-serverd's worker process is built on this same call.
 * See cnbd/server.h for a ready-made listener around it.
 */
#ifndef CNBD_SERVE_PUBLIC_H
#define CNBD_SERVE_PUBLIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cnbd/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cnbd_export {
	char *name;
	char *description;		/* may be NULL */
	bool readonly;
	uint32_t min_block;		/* advertised with NBD_INFO_BLOCK_SIZE; */
	uint32_t pref_block;		/* 0 means the default (1, 4096, 32M) */
	uint32_t max_block;		/* also the largest READ/WRITE accepted
					 * from a client that asked for block
					 * sizes; one that did not is served up
					 * to 64 MiB (or max_block if larger) */
	unsigned max_connections;	/* 0: unlimited */
	const struct cnbd_backend *backend;
	void *handle;			/* the export handle backend calls get */
	uint64_t generation;		/* for the owner's bookkeeping */
	bool tls_required;		/* served only after STARTTLS */
	/* A description only, for LIST and INFO (backend NULL): what INFO
	 * says of it. The attach hook gives the export to serve at GO.
	 * Ignored when backend is set. */
	uint64_t size;
	uint16_t flags;			/* cnbd_export_flags(); DF is added.
					 * 0: not known (INFO then answers an
					 * error; GO still goes on) */
	/* Set by find_export or export_at when this client may not use
	 * the export (access control): LIST leaves it out, INFO, GO and
	 * the meta context options answer NBD_REP_ERR_POLICY, and
	 * EXPORT_NAME closes the connection. */
	bool refused;
};

/* The transmission flags exp has when served through conn (a backend
 * connection of it), except NBD_FLAG_SEND_DF, which depends on the
 * client: what to put in a description-only export's flags. */
uint16_t cnbd_export_flags(const struct cnbd_export *exp, void *conn);

/* TLS credentials: X.509 from a directory holding server-cert.pem,
 * server-key.pem and (to verify clients) ca-cert.pem, and/or PSK keys
 * from a psktool file. Everything is read at once, so call it before
 * dropping privileges. Run as root, each file's path must be root's all
 * the way from "/" (no symbolic links, nothing others may write: see
 * docs/server.md). NULL with the reason in err. */
struct cnbd_tls;
struct cnbd_tls *cnbd_tls_server_new(const char *cert_dir, const char *psk_file,
				     bool verify_clients, char *err, size_t errlen);
void cnbd_tls_free(struct cnbd_tls *tls);

enum cnbd_tls_mode {
	CNBD_TLS_OFF,		/* STARTTLS is refused */
	CNBD_TLS_ON,		/* offered; plaintext clients are served too */
	CNBD_TLS_REQUIRE,	/* nothing but STARTTLS and ABORT before TLS */
};

struct cnbd_serve_hooks {
	void *ctx;
	/* The export for a name the client sent ("" means the default
	 * export); NULL when there is none. */
	const struct cnbd_export *(*find_export)(void *ctx, const char *name);
	/* The index-th export for NBD_OPT_LIST, NULL past the last. */
	const struct cnbd_export *(*export_at)(void *ctx, size_t index);
	/* Optional: a connection lease on exp, asked for on GO and
	 * EXPORT_NAME only (never INFO or LIST). 0 = granted; -1 = refused,
	 * with the reason for the client in why. */
	int (*acquire)(void *ctx, const struct cnbd_export *exp,
		       char *why, size_t whylen);
	/* Optional: the connection is done with the export acquire granted. */
	void (*release)(void *ctx, const struct cnbd_export *exp);
	/* Optional: at GO and EXPORT_NAME, once acquire granted it, the
	 * export to serve (with its backend and handle) for the one
	 * find_export gave, which may have been a description only. NULL
	 * refuses, with the reason for the client in why. */
	const struct cnbd_export *(*attach)(void *ctx, const struct cnbd_export *exp,
					    char *why, size_t whylen);
	/* Optional: once STARTTLS is acknowledged, the connection is given
	 * away instead of the handshake being done here (nbd-serverd
	 * serves TLS in a fresh worker that never read plaintext options).
	 * no_zeroes is what the client's flags said. The engine then ends
	 * without a word more on fd, as after ABORT. */
	void (*hand_off_tls)(void *ctx, int fd, bool no_zeroes);
	/* Optional: called once the connection's request threads run,
	 * before the first request is read (nbd-serverd's worker then
	 * forbids itself any new thread or process). */
	void (*serving)(void *ctx);
	/* Optional: called for each request once its reply went out (or
	 * failed to): its command (NBD_CMD_*, as the client sent it), its
	 * length, the NBD error the reply carried (0: success), and the
	 * nanoseconds from reading the request to the end of its reply.
	 * From any request thread, several at once. */
	void (*request_done)(void *ctx, uint16_t type, uint32_t count, uint32_t nbd_error,
			     uint64_t ns);
};

struct cnbd_serve_options {
	int handshake_timeout;	/* seconds for the whole negotiation; 0: none */
	int threads;		/* request threads; 0: a default */
	const char *peer;	/* for log lines, e.g. "127.0.0.1:41234"; NULL
				 * when the caller's log prefix names it */
	const struct cnbd_tls *tls;	/* NULL: no TLS */
	enum cnbd_tls_mode tls_mode;
	/* The greeting and STARTTLS's ACK went out from whoever handed
	 * this connection over (hand_off_tls): start with the TLS
	 * handshake. no_zeroes as the client's flags said. */
	bool tls_resumed;
	bool no_zeroes;
	/* After the TLS handshake, move the session into the kernel's TLS
	 * (setsockopt TCP_ULP "tls"; Linux's tls module) where it can take
	 * it: the kernel then encrypts, and large reads go out with
	 * sendfile. Where it cannot (no module, a cipher it lacks), GnuTLS
	 * serves the connection as without this. Measured, it pays for
	 * large reads and costs for small ones (docs/performance.md). */
	bool tls_kernel;
};

/* Serves one connection on fd, and closes it. Returns 0 after a clean
 * disconnect, -1 when the connection ended on an error (logged). */
int cnbd_serve_connection(int fd, const struct cnbd_serve_hooks *hooks,
			  const struct cnbd_serve_options *opts);

#ifdef __cplusplus
}
#endif

#endif
