/* SPDX-License-Identifier: MIT */
/*
 * cow: a copy-on-write layer. Reads come from the base until a block is
 * written; a written block lives in the overlay, block-granular, and an
 * allocation map (one byte per block) says where each block is: the
 * base, the overlay, or zeros (a trim or a zeroing recorded). The base is
 * never written (CNBD_BACKEND_BASE_READONLY: workers get it read-only).
 *
 * Two modes:
 *   persistent (overlay = PATH): one overlay file per export, shared by
 *     every connection, kept across restarts; nbdctl server commit NAME
 *     merges it into the base, reset drops it. The live map is shared
 *     memory (a memfd the master makes), so all workers of the export see
 *     one map, and the overlay is CAN_MULTI_CONN.
 *   per connection (no overlay): a fresh temporary overlay for each
 *     connection, made by the master at GO (a memfd, or an unlinked file
 *     in temp-dir): a worker cannot create one, its sandbox has no
 *     memfd_create or open. It ends with the connection. Never
 *     CAN_MULTI_CONN: no connection sees another's writes.
 *
 * The overlay file (persistent mode), little-endian:
 *   [0, 4096)                 the header (struct cow_header)
 *   [map_offset, +nblocks)    the durable map: one byte per block
 *   [data_offset, +size)      block b at data_offset + b * block_size,
 *                             sparse: only written blocks take room
 *
 * Durability: data first, then the map. A write puts its block's data in
 * the overlay and only then marks the block in the live map; a flush
 * takes the map pages changed since the last one, fdatasyncs the overlay
 * (every block those pages mark is now on disk), writes the pages into
 * the durable map and fdatasyncs again. So the durable map never names a
 * block whose data could be lost, and a flushed write survives SIGKILL
 * of the worker, of the master, and a power cut. No journal is needed.
 */
#ifndef CNBD_BACKENDS_COW_H
#define CNBD_BACKENDS_COW_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnbd/backend.h"

#define COW_MAGIC		"CNBDCOW1"
#define COW_VERSION		1
#define COW_HEADER_SIZE		4096
#define COW_DEFAULT_BLOCK	(64 * 1024)
#define COW_MIN_BLOCK		4096
#define COW_MAX_BLOCK		(1024 * 1024)
/* Blocks whose first write takes the same lock. */
#define COW_STRIPES		64
/* The map is written back in pages of this many blocks. */
#define COW_MAP_PAGE		4096

enum cow_state {
	COW_BASE = 0,		/* read from the base */
	COW_DATA = 1,		/* in the overlay */
	COW_ZERO = 2,		/* reads as zeros */
};

struct cow_header {
	char magic[8];
	uint32_t version;
	uint32_t block_size;
	uint64_t size;		/* the base's, when the overlay was made */
	uint64_t map_offset;
	uint64_t data_offset;
};

/* What a worker needs to know of the geometry. */
struct cow_geom {
	uint64_t size;
	uint64_t nblocks;
	uint64_t map_offset;	/* persistent mode: in the overlay file */
	uint64_t data_offset;	/* 0 for a per-connection overlay */
	uint32_t block_size;
	uint8_t persistent;
	uint8_t pad[3];
};

/* The live state: in a memfd shared by every worker of a persistent
 * export, in private memory for a per-connection one. Followed by the
 * dirty bits (one per map page, uint64_t words) and the map. */
struct cow_shared {
	pthread_mutex_t flush_lock;	/* one flush at a time, robust */
	pthread_mutex_t stripe[COW_STRIPES];
};

struct cow_export {
	struct cow_geom g;
	char *overlay_path;		/* master; NULL: per connection */
	char *temp_dir;			/* per connection: NULL means memfd */
	uint32_t block_size_asked;	/* 0: the default, or the overlay's */
	struct cnbd_below *below;	/* master */
	int fd;				/* the overlay; -1 */
	int shared_fd;			/* persistent mode's memfd; -1 */
	struct cow_shared *sh;
	size_t sh_len;
	uint64_t *dirty;
	uint8_t *map;
	bool readonly;			/* mapped read-only: no writes, no flush */
};

struct cow_conn {
	struct cow_export *x;
	struct cnbd_next *next;
};

/* cow_overlay.c: the persistent overlay's file, a temporary one. */
/* Opens (creating if needed) x->overlay_path for a base of x->g.size
 * bytes, locked against a second user; fills x->fd and x->g. */
int cow_overlay_open(struct cow_export *x);
/* A fresh, empty per-connection overlay of x->g.size bytes; its fd. */
int cow_overlay_temp(const struct cow_export *x);
/* The geometry for a base of size bytes in blocks of bs. */
void cow_geometry(struct cow_geom *g, uint64_t size, uint32_t bs, bool persistent);

/* cow_map.c: the live map, its locks and its durable copy. */
/* The shared memory's length for g. */
size_t cow_shared_len(const struct cow_geom *g);
/* Makes the live state: a memfd (persistent mode) loaded from the
 * overlay's durable map, or private memory. 0, or -1 with errno. */
int cow_shared_create(struct cow_export *x);
/* Maps the memfd a worker was given (readonly: without write). */
int cow_shared_attach(struct cow_export *x, int fd, bool readonly);
void cow_shared_free(struct cow_export *x);
void cow_lock(pthread_mutex_t *m);
uint8_t cow_state(const struct cow_export *x, uint64_t block);
void cow_set_state(struct cow_export *x, uint64_t block, uint8_t state);
/* Flush: data, then the changed map pages, each made durable. */
int cow_persist(struct cow_export *x);
/* Every block back to the base, durably (commit's last step, reset). */
int cow_clear(struct cow_export *x);

/* cow_io.c: the data calls. */
int cow_pread(void *conn, void *buf, uint32_t count, uint64_t offset, uint32_t flags);
int cow_pwrite(void *conn, const void *buf, uint32_t count, uint64_t offset,
	       uint32_t flags);
int cow_zero(void *conn, uint32_t count, uint64_t offset, uint32_t flags);
int cow_trim(void *conn, uint32_t count, uint64_t offset, uint32_t flags);
int cow_flush(void *conn, uint32_t flags);
int cow_extents(void *conn, uint32_t count, uint64_t offset, uint32_t flags,
		struct cnbd_extents *e);

/* cow_commit.c: the operator's commands, in the master. */
int cow_command(void *handle, const char *command, char *msg, size_t msglen);

static inline uint64_t cow_block_len(const struct cow_geom *g, uint64_t b)
{
	uint64_t start = b * g->block_size;

	return g->size - start < g->block_size ? g->size - start : g->block_size;
}

#endif
