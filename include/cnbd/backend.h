/* SPDX-License-Identifier: MIT */
/*
 * cnbd backend ABI: the only header a backend author needs.
 *
 * A backend is a shared object that defines one symbol, cnbd_backend_entry,
 * through CNBD_BACKEND_REGISTER. It returns a struct cnbd_backend stamped
 * with the ABI version and the size of the struct the backend was built
 * with. The server copies up to that size and zero-fills the rest: fields
 * are only ever appended, so a backend built against an older header keeps
 * loading, and a different major version is refused.
 *
 * Two phases, because the server runs a fresh process per connection:
 *   open_export / close_export run in the master, before any client, with the
 *     master's privileges (root when started as root). Open storage here.
 *   export_pack (master) and export_unpack (worker) hand one export to the
 *     worker whose client chose it: a worker is not a fork of the master
 *     and holds nothing else (ABI 1.2).
 *   open_conn / close_conn and every data call run in that worker, after it
 *     dropped every privilege, inside a sandbox that cannot open files.
 *     Never assume root there. (The master also opens one connection
 *     itself, to learn the size and flags LIST and INFO show.)
 *
 * Every call returns 0 (or a handle) on success and -1 (or NULL) with errno
 * set on failure; cnbd_error() attaches a message for the log. The server
 * maps errno to the NBD error the client sees (EIO, ENOSPC, EPERM, ...).
 *
 * A layer (ABI 1.3) is a backend over another one, its base: copy-on-write,
 * fault injection, a transformation. It registers with CNBD_LAYER_REGISTER
 * and sets open_layer_conn; the server loads every level of the stack
 * itself, opens it from the bottom up, and gives each layer a handle on the
 * level below (struct cnbd_next) to call through the cnbd_next_* functions.
 * A data callback a layer leaves NULL passes the call through to its base.
 *
 * Build one: cc -shared -fPIC $(pkg-config --cflags cnbd-backend) -o x.so x.c
 */
#ifndef CNBD_BACKEND_H
#define CNBD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNBD_BACKEND_ABI_MAJOR	1
#define CNBD_BACKEND_ABI_MINOR	3
#define CNBD_BACKEND_ABI_VERSION \
	((CNBD_BACKEND_ABI_MAJOR << 16) | CNBD_BACKEND_ABI_MINOR)

/* Backend flags (struct cnbd_backend.flags) */
/* Data calls may run concurrently on one connection's handle. */
#define CNBD_BACKEND_PARALLEL	(1U << 0)
/* What one connection writes and flushes, every other connection reads:
 * the server may advertise NBD_FLAG_CAN_MULTI_CONN. */
#define CNBD_BACKEND_MULTI_CONN	(1U << 1)
/* pwrite/zero/trim honour CNBD_FUA themselves; otherwise the server
 * emulates FUA with a flush after the write. */
#define CNBD_BACKEND_NATIVE_FUA	(1U << 2)
/* The storage is rotational: advertise NBD_FLAG_ROTATIONAL. */
#define CNBD_BACKEND_ROTATIONAL	(1U << 3)
/* Calls never wait for I/O (memory, null): the server runs them on the
 * connection's own thread, saving a hand-off per request. A backend that
 * can block (disk, network) must not set it, or one slow request would
 * hold up every other request on the connection. */
#define CNBD_BACKEND_NONBLOCKING	(1U << 4)
/* pread and pwrite honour CNBD_NOWAIT: the server first tries each READ
 * and WRITE on the connection's own thread that way, and hands only what
 * would block (EAGAIN) to its executor threads. For storage behind a
 * page cache (the file backend: preadv2/pwritev2 with RWF_NOWAIT). */
#define CNBD_BACKEND_NOWAIT	(1U << 5)
/* ABI 1.2. The worker's sandbox lets it create sockets and connect
 * (a backend that reaches its storage over the network, such as rbd).
 * Without it a worker cannot open anything: see docs/backends.md. */
#define CNBD_BACKEND_NEEDS_NETWORK	(1U << 6)
/* ABI 1.3, layers only. The layer never writes its base: the server opens
 * the levels below it read-only, and hands them to a worker read-only
 * (copy-on-write keeps its writes to itself). */
#define CNBD_BACKEND_BASE_READONLY	(1U << 7)

/* Flags passed to data calls */
#define CNBD_FUA	(1U << 0)	/* durable before returning */
#define CNBD_MAY_TRIM	(1U << 1)	/* zero: punching a hole is fine */
#define CNBD_FAST_ZERO	(1U << 2)	/* zero: fail with ENOTSUP unless fast */
#define CNBD_REQ_ONE	(1U << 3)	/* extents: one extent is enough */
#define CNBD_NOWAIT	(1U << 4)	/* pread/pwrite: all at once without
					 * waiting for I/O, or fail with EAGAIN
					 * (CNBD_BACKEND_NOWAIT backends only) */

/* Extent types, as base:allocation reports them */
#define CNBD_EXTENT_HOLE	(1U << 0)
#define CNBD_EXTENT_ZERO	(1U << 1)

/* A parameter from the export's configuration: key = value. */
struct cnbd_param {
	const char *key;
	const char *value;
};

struct cnbd_extents;	/* opaque: filled through cnbd_add_extent() */
struct cnbd_pack;	/* opaque: an export handed to a worker (ABI 1.2) */
struct cnbd_below;	/* opaque: the export below a layer, in the master (ABI 1.3) */
struct cnbd_next;	/* opaque: a connection of the level below a layer (ABI 1.3) */

struct cnbd_backend {
	/* Stamped by CNBD_BACKEND_HEADER; never set these by hand. */
	uint32_t abi_version;
	uint32_t struct_size;

	const char *name;		/* matches the .so name */
	const char *version;
	const char *description;	/* one line */
	const char *params_help;	/* "path=FILE  the file to export" ... */
	uint32_t flags;			/* CNBD_BACKEND_* */

	/* Master, at configuration time. Parse params, open storage; return
	 * the export handle. Unknown keys are an error (EINVAL + message). */
	void *(*open_export)(const struct cnbd_param *params, size_t nparams);
	void (*close_export)(void *export_handle);

	/* Worker, after the privilege drop. Optional: without open_conn the
	 * connection handle is the export handle. */
	void *(*open_conn)(void *export_handle, bool readonly);
	void (*close_conn)(void *conn);

	/* Required: the size in bytes; -1 on error. */
	int64_t (*get_size)(void *conn);

	/* Required. */
	int (*pread)(void *conn, void *buf, uint32_t count, uint64_t offset,
		     uint32_t flags);
	/* Optional: without it the export is read-only. */
	int (*pwrite)(void *conn, const void *buf, uint32_t count,
		      uint64_t offset, uint32_t flags);
	/* Optional: without it FLUSH is not advertised. */
	int (*flush)(void *conn, uint32_t flags);
	/* Optional: without it TRIM is not advertised. */
	int (*trim)(void *conn, uint32_t count, uint64_t offset, uint32_t flags);
	/* Optional: without it the server writes zeros with pwrite and does
	 * not advertise FAST_ZERO. With CNBD_FAST_ZERO, fail with ENOTSUP if
	 * zeroing would be no faster than writing. */
	int (*zero)(void *conn, uint32_t count, uint64_t offset, uint32_t flags);
	/* Optional: prefetch. Without it the server emulates CACHE by reading. */
	int (*cache)(void *conn, uint32_t count, uint64_t offset, uint32_t flags);
	/* Optional: report allocation from offset on, at least one extent,
	 * through cnbd_add_extent(). Without it everything reads as data. */
	int (*extents)(void *conn, uint32_t count, uint64_t offset,
		       uint32_t flags, struct cnbd_extents *extents);
	/* Optional: 0 when this connection's storage cannot be written
	 * (say, a file the master could only open read-only), so the server
	 * advertises the export read-only instead of failing every write. */
	int (*can_write)(void *conn);

	/* ABI 1.1 */
	/* Optional: where the bytes [offset, offset + count) lie in a file
	 * descriptor, so that the server can send a large read straight from
	 * it to the socket with sendfile(2) instead of copying it through a
	 * buffer. 0 with *fd and *fd_offset set, or -1 to say "use pread".
	 * Offer it only for storage that reading never waits on and never
	 * fails (a memfd, a file on tmpfs): the reply's header has gone out
	 * before the data is read, so a failure then can only end the
	 * connection, and a slow read would hold the connection's socket. */
	int (*read_fd)(void *conn, uint32_t count, uint64_t offset, int *fd,
		       uint64_t *fd_offset);

	/* ABI 1.2: handing an export to a worker. A worker is a fresh
	 * program, not a fork of the master: it holds no export until its
	 * client chose one with GO or EXPORT_NAME, and then only that one.
	 * Required of a backend that has open_export; a backend without
	 * open_export has no export state and needs neither. */
	/* Master: put in pack what a worker needs to serve this export:
	 * descriptors (cnbd_pack_fd) and bytes (cnbd_pack_bytes), never
	 * more than that export's own storage and settings. With readonly,
	 * hand over only descriptors that cannot write (reopen read-only).
	 * 0, or -1 with errno. */
	int (*export_pack)(void *export_handle, bool readonly,
			   struct cnbd_pack *pack);
	/* Worker: the export handle rebuilt from pack, taking out what
	 * export_pack put in, in the same order. close_export frees it.
	 * The worker is already sandboxed here: it cannot open files. NULL
	 * with errno on error. */
	void *(*export_unpack)(struct cnbd_pack *pack, bool readonly);

	/* ABI 1.3: layers (docs/backends.md, "Layers"). Only in a struct
	 * registered with CNBD_LAYER_REGISTER, which must set open_layer_conn.
	 * In a layer, every data callback above (get_size and pread too) may
	 * be NULL: the call then goes to the level below, as it came. */
	/* The parameters this layer takes, NULL-terminated. Every other key
	 * of the export goes on down the stack (LAYER.key names one level
	 * explicitly). NULL: none. */
	const char *const *layer_params;
	/* An export that names this layer with no base gets this one
	 * (NULL: a base is required). */
	const char *default_base;
	/* Master: used instead of open_export. below is the export under
	 * this layer, already open; it stays valid until close_export. NULL
	 * here: the export handle is NULL and the layer takes no params. */
	void *(*open_layer)(struct cnbd_below *below, const struct cnbd_param *params,
			    size_t nparams);
	/* Worker (and master, to describe the export): used instead of
	 * open_conn. next is this connection's handle on the level below,
	 * open already (read-only with CNBD_BACKEND_BASE_READONLY) and
	 * closed by the server after close_conn. Required of a layer. */
	void *(*open_layer_conn)(void *export_handle, struct cnbd_next *next, bool readonly);
	/* Optional: this export's CNBD_BACKEND_* flags, given below_flags, those
	 * of the stack under it. Without it: this struct's flags, with
	 * MULTI_CONN, NONBLOCKING, NOWAIT and NATIVE_FUA only where the stack
	 * below has them too, ROTATIONAL from below. */
	uint32_t (*export_flags)(void *export_handle, uint32_t below_flags);
	/* Optional, any backend: an operator's command on the export, in the
	 * master, while no connection holds it (nbdctl server commit NAME ->
	 * "commit"). 0 with a line for the operator in msg; -1 with errno
	 * (ENOTSUP: not a command of this backend) and a message in msg. */
	int (*export_command)(void *export_handle, const char *command, char *msg,
			      size_t msglen);
	/* Append new fields here, and only here. */
};

#define CNBD_BACKEND_HEADER \
	.abi_version = CNBD_BACKEND_ABI_VERSION, \
	.struct_size = sizeof(struct cnbd_backend)

#define CNBD_BACKEND_ENTRY_SYMBOL "cnbd_backend_entry"
/* A layer's entry (ABI 1.3): a server that knows no layers finds no
 * backend entry in it and refuses it, instead of serving it alone. */
#define CNBD_LAYER_ENTRY_SYMBOL "cnbd_layer_entry"

/* Defines the entry point. Use once per backend:
 *   static const struct cnbd_backend ops = { CNBD_BACKEND_HEADER, ... };
 *   CNBD_BACKEND_REGISTER(ops)
 */
#define CNBD_BACKEND_REGISTER(ops) \
	__attribute__((visibility("default"))) \
	const struct cnbd_backend *cnbd_backend_entry(void); \
	const struct cnbd_backend *cnbd_backend_entry(void) { return &(ops); }

/* The same for a layer (ABI 1.3). */
#define CNBD_LAYER_REGISTER(ops) \
	__attribute__((visibility("default"))) \
	const struct cnbd_backend *cnbd_layer_entry(void); \
	const struct cnbd_backend *cnbd_layer_entry(void) { return &(ops); }

/* Host services: provided by the server (and by libcnbd when a program
 * embeds the engine). */

/* A message for the log, kept with the failing call. printf-style. */
void cnbd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A debug message, shown when the server runs with -v. */
void cnbd_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse "512", "64K", "10M", "2G", "1T" into bytes; -1 with a message on
 * a bad value. */
int64_t cnbd_parse_size(const char *what, const char *value);
/* Parse true/false/yes/no/on/off/1/0; -1 with a message on a bad value. */
int cnbd_parse_bool(const char *what, const char *value);
/* Report that [offset, offset+length) has this type (CNBD_EXTENT_*).
 * Extents must be added in order, without gaps. */
int cnbd_add_extent(struct cnbd_extents *extents, uint64_t offset,
		    uint64_t length, uint32_t type);

/* ABI 1.2: another backend, by name, loaded by the server from its
 * backend directory with the checks it makes on anything it loads (a
 * layer such as faulty wraps one). Full size: fields the backend did
 * not know are zero. In a worker: only backends the master loaded.
 * NULL with a message (cnbd_error) when it cannot be had. */
const struct cnbd_backend *cnbd_backend_lookup(const char *name);

/* ABI 1.3: extents of one's own, for a layer that asks the level below
 * (cnbd_next_extents) and merges what it hears with what it knows.
 * Holds what is added for [offset, offset + length). NULL on ENOMEM. */
struct cnbd_extents *cnbd_extents_new(uint64_t offset, uint64_t length);
size_t cnbd_extents_count(const struct cnbd_extents *extents);
/* The i-th extent; -1 (EINVAL) past the end. */
int cnbd_extents_get(const struct cnbd_extents *extents, size_t i, uint64_t *offset,
		     uint64_t *length, uint32_t *type);
void cnbd_extents_free(struct cnbd_extents *extents);

/* ABI 1.3: calling the level below a layer. Each does what the call of
 * the same name does to a backend, through whatever the levels below
 * implement: a NULL callback there passes on down, and what no level
 * implements gets the server's default (pwrite: EROFS; flush, trim,
 * cache: 0; zero: zeros written with pwrite, ENOTSUP with FAST_ZERO;
 * extents: all data; can_write: 1 if some level writes). A level without
 * CNBD_BACKEND_PARALLEL is called one call at a time. */
int64_t cnbd_next_get_size(struct cnbd_next *next);
int cnbd_next_can_write(struct cnbd_next *next);
int cnbd_next_pread(struct cnbd_next *next, void *buf, uint32_t count,
		    uint64_t offset, uint32_t flags);
int cnbd_next_pwrite(struct cnbd_next *next, const void *buf, uint32_t count,
		     uint64_t offset, uint32_t flags);
int cnbd_next_flush(struct cnbd_next *next, uint32_t flags);
int cnbd_next_trim(struct cnbd_next *next, uint32_t count, uint64_t offset,
		   uint32_t flags);
int cnbd_next_zero(struct cnbd_next *next, uint32_t count, uint64_t offset,
		   uint32_t flags);
int cnbd_next_cache(struct cnbd_next *next, uint32_t count, uint64_t offset,
		    uint32_t flags);
int cnbd_next_extents(struct cnbd_next *next, uint32_t count, uint64_t offset,
		      uint32_t flags, struct cnbd_extents *extents);
/* The CNBD_BACKEND_* flags of the stack below. */
uint32_t cnbd_next_flags(struct cnbd_next *next);

/* Master only (ABI 1.3): a connection of the export below, for a layer's
 * own work there (learning the size at open_layer, a commit). NULL with
 * errno. Close it with cnbd_below_close. */
struct cnbd_next *cnbd_below_open(struct cnbd_below *below, bool readonly);
void cnbd_below_close(struct cnbd_next *next);

/* Packing an export for a worker (ABI 1.2). At most CNBD_PACK_MAX_FDS
 * descriptors and CNBD_PACK_MAX_BYTES bytes in all. */
#define CNBD_PACK_MAX_FDS	16
#define CNBD_PACK_MAX_BYTES	16384
/* Adds a duplicate of fd (the backend keeps its own); 0 or -1. */
int cnbd_pack_fd(struct cnbd_pack *pack, int fd);
/* Adds len bytes; 0 or -1 (EMSGSIZE past the limit). */
int cnbd_pack_bytes(struct cnbd_pack *pack, const void *data, size_t len);
/* The next descriptor, now the caller's; -1 (EINVAL) when none is left. */
int cnbd_unpack_fd(struct cnbd_pack *pack);
/* Exactly len bytes into data; -1 (EINVAL) when fewer are left. */
int cnbd_unpack_bytes(struct cnbd_pack *pack, void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CNBD_BACKEND_H */
