/* SPDX-License-Identifier: MIT */
/*
 * Calls between the levels of a stack, and the stack's own callbacks,
 * which are the same calls made from the top.
 *
 * A call made at level i goes to the first level from i down that has
 * the callback: a layer leaves NULL what it passes through. Three
 * callbacks stop at a level that changes data without them, because
 * going on down would bypass it: zero at a level with pwrite (the zeros
 * are written through that level's pwrite instead, as the engine does
 * for a backend without zero), extents and read_fd at a level with pread
 * (all data, and no descriptor: what the level below stores is not what
 * this one reads). A call that reaches no level gets the default a
 * backend without the callback gets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_load.h"
#include "backend/stack.h"

#define ZERO_CHUNK	(64 * 1024)

static const char zeros[ZERO_CHUNK];

static bool callback_at(const struct cnbd_backend *ops, size_t offset)
{
	void *p;

	memcpy(&p, (const char *)ops + offset, sizeof(p));
	return p != NULL;
}

/* The first level from `from` on with the callback at offset; a level
 * with the one at stop (when not 0) ends the search. st->n: none. */
static size_t first_with(const struct stack *st, size_t from, size_t offset, size_t stop)
{
	for (size_t i = from; i < st->n; i++) {
		if (callback_at(st->lv[i].ops, offset))
			return i;
		if (stop && callback_at(st->lv[i].ops, stop))
			break;
	}
	return st->n;
}

#define FIRST(st, from, f) \
	first_with(st, from, offsetof(struct cnbd_backend, f), 0)
#define FIRST_UNTIL(st, from, f, stop) \
	first_with(st, from, offsetof(struct cnbd_backend, f), \
		   offsetof(struct cnbd_backend, stop))

/* A level that is not PARALLEL, in a stack that is, takes its calls one
 * at a time: the lock is per connection, as the engine's would be. */
#define CALL(sc, i, call) ({						\
	bool locked_ = (sc)->st->lv[i].locked;				\
	if (locked_)							\
		pthread_mutex_lock(&(sc)->lock[i]);			\
	__typeof__(call) rc_ = (call);					\
	if (locked_)							\
		pthread_mutex_unlock(&(sc)->lock[i]);			\
	rc_;								\
})

#define OPS(sc, i)	((sc)->st->lv[i].ops)

int64_t cnbd_next_get_size(struct cnbd_next *n)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST(sc->st, n->level, get_size);

	return CALL(sc, i, OPS(sc, i)->get_size(sc->conn[i]));
}

int cnbd_next_can_write(struct cnbd_next *n)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST_UNTIL(sc->st, n->level, can_write, pwrite);

	if (i == sc->st->n)
		return FIRST(sc->st, n->level, pwrite) < sc->st->n;
	return CALL(sc, i, OPS(sc, i)->can_write(sc->conn[i]));
}

int cnbd_next_pread(struct cnbd_next *n, void *buf, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST(sc->st, n->level, pread);

	return CALL(sc, i, OPS(sc, i)->pread(sc->conn[i], buf, count, offset, flags));
}

int cnbd_next_flush(struct cnbd_next *n, uint32_t flags)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST(sc->st, n->level, flush);

	if (i == sc->st->n)
		return 0;
	return CALL(sc, i, OPS(sc, i)->flush(sc->conn[i], flags));
}

/* FUA to a level that does not take it: the write, then a flush there. */
static uint32_t strip_fua(const struct stack_conn *sc, size_t i, uint32_t *flags)
{
	uint32_t fua = *flags & CNBD_FUA;

	if (sc->st->lv[i].flags & CNBD_BACKEND_NATIVE_FUA)
		return 0;
	*flags &= ~CNBD_FUA;
	return fua;
}

static int after_fua(struct stack_conn *sc, size_t i, int rc, uint32_t fua)
{
	if (rc < 0 || !fua)
		return rc;
	return cnbd_next_flush(&sc->next[i], 0);
}

static int pwrite_at(struct stack_conn *sc, size_t i, const void *buf, uint32_t count,
		     uint64_t offset, uint32_t flags)
{
	uint32_t fua = strip_fua(sc, i, &flags);

	return after_fua(sc, i, CALL(sc, i, OPS(sc, i)->pwrite(sc->conn[i], buf, count,
							       offset, flags)), fua);
}

int cnbd_next_pwrite(struct cnbd_next *n, const void *buf, uint32_t count,
		     uint64_t offset, uint32_t flags)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST(sc->st, n->level, pwrite);

	if (i == sc->st->n) {
		errno = EROFS;
		return -1;
	}
	return pwrite_at(sc, i, buf, count, offset, flags);
}

int cnbd_next_trim(struct cnbd_next *n, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST(sc->st, n->level, trim);
	uint32_t fua;

	if (i == sc->st->n)
		return 0;	/* advisory: keeping the data is right */
	fua = strip_fua(sc, i, &flags);
	return after_fua(sc, i, CALL(sc, i, OPS(sc, i)->trim(sc->conn[i], count, offset,
							     flags)), fua);
}

/* Zeros through level i's pwrite, as the engine writes them for a
 * backend without zero; FUA once, for all of them, at the end. */
static int write_zeros(struct stack_conn *sc, size_t i, uint32_t count, uint64_t offset,
		       uint32_t flags)
{
	while (count) {
		uint32_t len = count < ZERO_CHUNK ? count : ZERO_CHUNK;

		if (pwrite_at(sc, i, zeros, len, offset, 0) < 0)
			return -1;
		offset += len;
		count -= len;
	}
	return flags & CNBD_FUA ? cnbd_next_flush(&sc->next[i], 0) : 0;
}

int cnbd_next_zero(struct cnbd_next *n, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST_UNTIL(sc->st, n->level, zero, pwrite);
	uint32_t fua;

	if (i == sc->st->n) {
		i = FIRST(sc->st, n->level, pwrite);
		if (i == sc->st->n || (flags & CNBD_FAST_ZERO)) {
			errno = i == sc->st->n ? EROFS : ENOTSUP;
			return -1;
		}
		return write_zeros(sc, i, count, offset, flags);
	}
	fua = strip_fua(sc, i, &flags);
	return after_fua(sc, i, CALL(sc, i, OPS(sc, i)->zero(sc->conn[i], count, offset,
							     flags)), fua);
}

int cnbd_next_cache(struct cnbd_next *n, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST(sc->st, n->level, cache);

	if (i == sc->st->n)
		return 0;	/* a hint */
	return CALL(sc, i, OPS(sc, i)->cache(sc->conn[i], count, offset, flags));
}

int cnbd_next_extents(struct cnbd_next *n, uint32_t count, uint64_t offset,
		      uint32_t flags, struct cnbd_extents *e)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST_UNTIL(sc->st, n->level, extents, pread);

	if (i == sc->st->n)
		return cnbd_add_extent(e, offset, count, 0);
	return CALL(sc, i, OPS(sc, i)->extents(sc->conn[i], count, offset, flags, e));
}

static int next_read_fd(struct cnbd_next *n, uint32_t count, uint64_t offset, int *fd,
			uint64_t *fd_offset)
{
	struct stack_conn *sc = n->sc;
	size_t i = FIRST_UNTIL(sc->st, n->level, read_fd, pread);

	if (i == sc->st->n)
		return -1;
	return CALL(sc, i, OPS(sc, i)->read_fd(sc->conn[i], count, offset, fd, fd_offset));
}

uint32_t cnbd_next_flags(struct cnbd_next *n)
{
	return n->sc->st->lv[n->level].flags;
}

/* ---- connections ---------------------------------------------------- */

void stack_conn_close(struct stack_conn *sc)
{
	if (!sc)
		return;
	for (size_t i = sc->first; i < sc->st->n; i++) {
		const struct cnbd_backend *ops = OPS(sc, i);
		bool opened = backend_is_layer(ops) || ops->open_conn;

		if (sc->conn[i] && opened && ops->close_conn)
			ops->close_conn(sc->conn[i]);
		pthread_mutex_destroy(&sc->lock[i]);
	}
	free(sc);
}

/* Level i's connection, over the levels below it (open already). */
static int open_level(struct stack_conn *sc, size_t i, bool readonly)
{
	const struct stack_level *l = &sc->st->lv[i];

	if (backend_is_layer(l->ops))
		sc->conn[i] = l->ops->open_layer_conn(l->handle, &sc->next[i + 1], readonly);
	else if (l->ops->open_conn)
		sc->conn[i] = l->ops->open_conn(l->handle, readonly);
	else
		return (sc->conn[i] = l->handle), 0;
	return sc->conn[i] ? 0 : -1;
}

struct stack_conn *stack_conn_open(struct stack *st, size_t first, bool readonly)
{
	struct stack_conn *sc = calloc(1, sizeof(*sc));
	bool ro[STACK_MAX_LEVELS];

	if (!sc)
		return NULL;
	sc->st = st;
	sc->first = st->n;	/* what stack_conn_close closes, so far */
	ro[first] = readonly;
	for (size_t i = first + 1; i < st->n; i++)
		ro[i] = ro[i - 1] || (st->lv[i - 1].ops->flags & CNBD_BACKEND_BASE_READONLY);
	for (size_t i = st->n; i-- > first;) {
		sc->next[i] = (struct cnbd_next){ sc, i };
		pthread_mutex_init(&sc->lock[i], NULL);
		if (open_level(sc, i, ro[i]) < 0) {
			int saved = errno ? errno : EIO;

			pthread_mutex_destroy(&sc->lock[i]);
			stack_conn_close(sc);
			errno = saved;
			return NULL;
		}
		sc->first = i;
	}
	return sc;
}

struct cnbd_next *cnbd_below_open(struct cnbd_below *below, bool readonly)
{
	struct stack_conn *sc;

	if (!below || below->level >= below->st->n) {
		errno = EINVAL;
		return NULL;
	}
	sc = stack_conn_open(below->st, below->level, readonly);
	return sc ? &sc->next[sc->first] : NULL;
}

void cnbd_below_close(struct cnbd_next *next)
{
	if (next)
		stack_conn_close(next->sc);
}

/* ---- the stack as one backend --------------------------------------- */

static struct cnbd_next *top(void *conn)
{
	struct stack_conn *sc = conn;

	return &sc->next[sc->first];
}

static void *stack_open_conn(void *handle, bool readonly)
{
	return stack_conn_open(handle, 0, readonly);
}

static void stack_close_conn(void *conn)
{
	stack_conn_close(conn);
}

static void stack_close_export(void *handle)
{
	stack_close(handle);
}

static int64_t stack_get_size(void *c)
{
	return cnbd_next_get_size(top(c));
}

static int stack_can_write(void *c)
{
	return cnbd_next_can_write(top(c));
}

static int stack_pread(void *c, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	return cnbd_next_pread(top(c), buf, count, offset, flags);
}

static int stack_pwrite(void *c, const void *buf, uint32_t count, uint64_t offset,
			uint32_t flags)
{
	return cnbd_next_pwrite(top(c), buf, count, offset, flags);
}

static int stack_flush(void *c, uint32_t flags)
{
	return cnbd_next_flush(top(c), flags);
}

static int stack_trim(void *c, uint32_t count, uint64_t offset, uint32_t flags)
{
	return cnbd_next_trim(top(c), count, offset, flags);
}

static int stack_zero(void *c, uint32_t count, uint64_t offset, uint32_t flags)
{
	return cnbd_next_zero(top(c), count, offset, flags);
}

static int stack_cache(void *c, uint32_t count, uint64_t offset, uint32_t flags)
{
	return cnbd_next_cache(top(c), count, offset, flags);
}

static int stack_extents(void *c, uint32_t count, uint64_t offset, uint32_t flags,
			 struct cnbd_extents *e)
{
	return cnbd_next_extents(top(c), count, offset, flags, e);
}

static int stack_read_fd(void *c, uint32_t count, uint64_t offset, int *fd,
			 uint64_t *fd_offset)
{
	return next_read_fd(top(c), count, offset, fd, fd_offset);
}

/* A callback the stack lacks is one the engine must not advertise or
 * must emulate, exactly as for a backend without it. */
void stack_fill_ops(struct stack *st)
{
	struct cnbd_backend *o = &st->ops;
	size_t n = st->n;

	memset(o, 0, sizeof(*o));
	o->abi_version = CNBD_BACKEND_ABI_VERSION;
	o->struct_size = sizeof(*o);
	o->name = st->name;
	o->version = st->lv[0].ops->version;
	o->description = st->lv[0].ops->description;
	o->flags = st->lv[0].flags & ~CNBD_BACKEND_BASE_READONLY;
	o->close_export = stack_close_export;
	o->open_conn = stack_open_conn;
	o->close_conn = stack_close_conn;
	o->get_size = stack_get_size;
	o->pread = stack_pread;
	o->can_write = stack_can_write;
	o->export_pack = stack_pack;
	o->export_command = stack_command;
	if (FIRST(st, 0, pwrite) < n)
		o->pwrite = stack_pwrite;
	if (FIRST(st, 0, flush) < n)
		o->flush = stack_flush;
	if (FIRST(st, 0, trim) < n)
		o->trim = stack_trim;
	if (FIRST_UNTIL(st, 0, zero, pwrite) < n)
		o->zero = stack_zero;
	if (FIRST(st, 0, cache) < n)
		o->cache = stack_cache;
	if (FIRST_UNTIL(st, 0, extents, pread) < n)
		o->extents = stack_extents;
	if (FIRST_UNTIL(st, 0, read_fd, pread) < n)
		o->read_fd = stack_read_fd;
}
