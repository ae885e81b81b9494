/* SPDX-License-Identifier: MIT */
/*
 * The live map and its durable copy (cow.h says why in this order).
 *
 * A block's state is one byte: a worker stores it with one atomic store,
 * so workers changing different blocks never meet, and a reader sees a
 * block's old state or its new one. A block's first write (copy-up from
 * the base) holds the lock of its stripe, so that two writers of one
 * fresh block cannot each copy the base over the other's bytes. The
 * locks are robust: a worker killed holding one (SIGKILL, a crash) leaves
 * its block as it was (the state changes only after the data is in), and
 * the next owner carries on. The master never takes these locks: a
 * worker could have left them in any state.
 */
#include <errno.h>
#include <linux/falloc.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pread_full.h"
#include "cow.h"

#define DIRTY_OFFSET	((sizeof(struct cow_shared) + 63) / 64 * 64)
#define LOAD_CHUNK	(1024 * 1024)

static uint64_t map_pages(const struct cow_geom *g)
{
	return (g->nblocks + COW_MAP_PAGE - 1) / COW_MAP_PAGE;
}

static size_t dirty_words(const struct cow_geom *g)
{
	return (map_pages(g) + 63) / 64;
}

static size_t map_offset_in(const struct cow_geom *g)
{
	return (DIRTY_OFFSET + dirty_words(g) * 8 + 4095) / 4096 * 4096;
}

size_t cow_shared_len(const struct cow_geom *g)
{
	return (map_offset_in(g) + g->nblocks + 4095) / 4096 * 4096;
}

static void layout(struct cow_export *x)
{
	x->dirty = (uint64_t *)((char *)x->sh + DIRTY_OFFSET);
	x->map = (uint8_t *)x->sh + map_offset_in(&x->g);
}

static int init_locks(struct cow_shared *sh, bool shared)
{
	pthread_mutexattr_t a;
	int rc = pthread_mutexattr_init(&a);

	if (!rc && shared)
		rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!rc)
		rc = pthread_mutex_init(&sh->flush_lock, &a);
	for (size_t i = 0; !rc && i < COW_STRIPES; i++)
		rc = pthread_mutex_init(&sh->stripe[i], &a);
	pthread_mutexattr_destroy(&a);
	errno = rc;
	return rc ? -1 : 0;
}

/* The durable map into the live one; a byte no state has is damage. */
static int load_map(struct cow_export *x)
{
	for (uint64_t at = 0; at < x->g.nblocks; at += LOAD_CHUNK) {
		uint64_t n = x->g.nblocks - at < LOAD_CHUNK ? x->g.nblocks - at : LOAD_CHUNK;

		if (pread_full(x->fd, x->map + at, (uint32_t)n, x->g.map_offset + at) != 0) {
			cnbd_error("cow: cannot read the map of %s: %s", x->overlay_path,
				   errno ? strerror(errno) : "the file is too short");
			return -1;
		}
	}
	for (uint64_t b = 0; b < x->g.nblocks; b++) {
		if (x->map[b] > COW_ZERO) {
			cnbd_error("cow: %s: its map is damaged at block %llu (state %u)",
				   x->overlay_path, (unsigned long long)b, x->map[b]);
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

int cow_shared_create(struct cow_export *x)
{
	bool shared = x->g.persistent;

	x->sh_len = cow_shared_len(&x->g);
	if (shared) {
		x->shared_fd = memfd_create("cnbd-cow-map", MFD_CLOEXEC);
		if (x->shared_fd < 0 || ftruncate(x->shared_fd, (off_t)x->sh_len) < 0)
			return -1;
	}
	x->sh = mmap(NULL, x->sh_len, PROT_READ | PROT_WRITE,
		     shared ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS,
		     shared ? x->shared_fd : -1, 0);
	if (x->sh == MAP_FAILED) {
		x->sh = NULL;
		return -1;
	}
	layout(x);
	if (init_locks(x->sh, shared) < 0)
		return -1;
	return shared ? load_map(x) : 0;
}

int cow_shared_attach(struct cow_export *x, int fd, bool readonly)
{
	struct stat st;

	x->shared_fd = fd;
	x->sh_len = cow_shared_len(&x->g);
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != x->sh_len) {
		errno = EINVAL;
		return -1;
	}
	x->sh = mmap(NULL, x->sh_len, PROT_READ | (readonly ? 0 : PROT_WRITE), MAP_SHARED,
		     fd, 0);
	if (x->sh == MAP_FAILED) {
		x->sh = NULL;
		return -1;
	}
	layout(x);
	return 0;
}

void cow_shared_free(struct cow_export *x)
{
	if (x->sh)
		munmap(x->sh, x->sh_len);
	if (x->shared_fd >= 0)
		close(x->shared_fd);
	x->sh = NULL;
	x->shared_fd = -1;
}

void cow_lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) == EOWNERDEAD)
		pthread_mutex_consistent(m);
}

uint8_t cow_state(const struct cow_export *x, uint64_t block)
{
	return __atomic_load_n(&x->map[block], __ATOMIC_ACQUIRE);
}

/* The map byte, then its page's dirty bit: a flush that clears the bit
 * and then copies the page sees this byte, or leaves the bit for the next
 * flush. */
void cow_set_state(struct cow_export *x, uint64_t block, uint8_t state)
{
	uint64_t page = block / COW_MAP_PAGE;

	__atomic_store_n(&x->map[block], state, __ATOMIC_RELEASE);
	if (x->g.persistent)
		__atomic_fetch_or(&x->dirty[page / 64], 1ULL << (page % 64), __ATOMIC_ACQ_REL);
}

static void mark_all_dirty(struct cow_export *x)
{
	for (size_t w = 0; w < dirty_words(&x->g); w++)
		__atomic_store_n(&x->dirty[w], ~0ULL, __ATOMIC_RELEASE);
}

/* A flusher that died may have taken dirty bits it never wrote back. */
static void lock_flush(struct cow_export *x)
{
	if (pthread_mutex_lock(&x->sh->flush_lock) == EOWNERDEAD) {
		mark_all_dirty(x);
		pthread_mutex_consistent(&x->sh->flush_lock);
	}
}

static uint64_t page_len(const struct cow_geom *g, uint64_t page)
{
	uint64_t left = g->nblocks - page * COW_MAP_PAGE;

	return left < COW_MAP_PAGE ? left : COW_MAP_PAGE;
}

/* Takes every dirty bit: the pages this flush writes. Their count. */
static size_t take_bits(struct cow_export *x, uint64_t *taken)
{
	size_t n = 0;

	for (size_t w = 0; w < dirty_words(&x->g); w++) {
		taken[w] = __atomic_exchange_n(&x->dirty[w], 0, __ATOMIC_ACQ_REL);
		n += (size_t)__builtin_popcountll(taken[w]);
	}
	return n;
}

/* Each taken page: copied (copy != NULL) or written from the copy. A
 * page's bytes copied after its bit was taken include every change made
 * before the take; a later change keeps its bit for the next flush. */
static int each_page(struct cow_export *x, const uint64_t *taken, uint8_t *copy,
		     const uint8_t *written)
{
	size_t n = 0;

	for (size_t w = 0; w < dirty_words(&x->g); w++) {
		for (unsigned bit = 0; bit < 64; bit++) {
			uint64_t page = w * 64 + bit, first = page * COW_MAP_PAGE;

			if (!(taken[w] & (1ULL << bit)) || page >= map_pages(&x->g))
				continue;
			for (uint64_t i = 0; copy && i < page_len(&x->g, page); i++)
				copy[n * COW_MAP_PAGE + i] = cow_state(x, first + i);
			if (written && pwrite_full(x->fd, written + n * COW_MAP_PAGE,
						   page_len(&x->g, page),
						   x->g.map_offset + first) < 0)
				return -1;
			n++;
		}
	}
	return 0;
}

static int persist_locked(struct cow_export *x, uint64_t *taken)
{
	size_t n = take_bits(x, taken);
	uint8_t *copy;
	int rc;

	if (!n)
		return fdatasync(x->fd);
	copy = malloc(n * COW_MAP_PAGE);
	if (!copy)
		return -1;
	/* The copy before the first sync: every block it marks had its data
	 * written before it was marked, so that sync covers it. */
	each_page(x, taken, copy, NULL);
	rc = fdatasync(x->fd);
	if (!rc)
		rc = each_page(x, taken, NULL, copy);
	if (!rc)
		rc = fdatasync(x->fd);
	free(copy);
	return rc;
}

int cow_persist(struct cow_export *x)
{
	size_t words = dirty_words(&x->g);
	uint64_t *taken;
	int rc, saved;

	if (!x->g.persistent || x->readonly)
		return 0;	/* a per-connection overlay ends with its connection */
	taken = calloc(words, sizeof(*taken));
	if (!taken)
		return -1;
	lock_flush(x);
	rc = persist_locked(x, taken);
	saved = errno;
	if (rc < 0)
		for (size_t w = 0; w < words; w++)
			__atomic_fetch_or(&x->dirty[w], taken[w], __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&x->sh->flush_lock);
	free(taken);
	errno = saved;
	return rc;
}

/* In the master, with no connection: nothing else writes the map. */
int cow_clear(struct cow_export *x)
{
	static const uint8_t zeros[LOAD_CHUNK];

	for (uint64_t at = 0; at < x->g.nblocks; at += LOAD_CHUNK) {
		uint64_t n = x->g.nblocks - at < LOAD_CHUNK ? x->g.nblocks - at : LOAD_CHUNK;

		if (pwrite_full(x->fd, zeros, n, x->g.map_offset + at) < 0)
			return -1;
	}
	if (fdatasync(x->fd) < 0)
		return -1;
	memset(x->map, COW_BASE, x->g.nblocks);
	memset(x->dirty, 0, dirty_words(&x->g) * sizeof(uint64_t));
	/* The data is unreferenced now; give its room back where we can. */
	if (fallocate(x->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)x->g.data_offset, (off_t)x->g.size) < 0 && errno != EOPNOTSUPP)
		return -1;
	return 0;
}
