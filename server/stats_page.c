/* SPDX-License-Identifier: MIT */
/*
 * A worker's statistics page (stats.h): a memfd the master makes and
 * seals, so that the worker, which writes it, can neither shrink it
 * (the master's next read of its mapping would fault: SIGBUS) nor grow
 * it; and a sequence count, so that the master copies a consistent
 * record or none. The worker's writes and the master's reads are relaxed
 * atomic accesses of whole words: the two are different processes, and
 * the other side may be writing at any moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stats.h"

#define PAGE_BYTES	4096
#define READ_TRIES	8

_Static_assert(sizeof(struct stats_page) <= PAGE_BYTES, "the page holds the counters");
_Static_assert(sizeof(struct stats_counters) % sizeof(uint64_t) == 0, "words only");

int stats_page_new(int *fd, const struct stats_page **map)
{
	int f = memfd_create("cnbd-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	if (f < 0)
		return -1;
	if (ftruncate(f, PAGE_BYTES) < 0 ||
	    fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	p = mmap(NULL, PAGE_BYTES, PROT_READ, MAP_SHARED, f, 0);
	if (p == MAP_FAILED)
		goto fail;
	*fd = f;
	*map = p;
	return 0;
fail:
	{
		int e = errno;

		close(f);
		errno = e;
	}
	return -1;
}

void stats_page_unmap(const struct stats_page *map)
{
	if (map)
		munmap((void *)map, PAGE_BYTES);
}

int stats_page_read(const struct stats_page *map, struct stats_counters *out)
{
	const uint64_t *src = (const uint64_t *)&map->c;
	uint64_t *dst = (uint64_t *)out;

	for (int t = 0; t < READ_TRIES; t++) {
		uint64_t before = __atomic_load_n(&map->seq, __ATOMIC_ACQUIRE);

		if (before & 1)
			continue;
		for (size_t i = 0; i < STATS_WORDS; i++)
			dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&map->seq, __ATOMIC_RELAXED) == before)
			return 0;
	}
	return -1;
}

struct stats_page *stats_page_attach(int fd)
{
	void *p = mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void add(uint64_t *w, uint64_t n)
{
	__atomic_store_n(w, __atomic_load_n(w, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

void stats_page_record(struct stats_page *p, uint16_t nbd_cmd, uint32_t count,
		       uint32_t nbd_error, uint64_t ns)
{
	struct stats_command *k = &p->c.cmd[stats_cmd_of(nbd_cmd)];
	uint64_t seq = p->seq;

	__atomic_store_n(&p->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	add(&k->requests, 1);
	add(&k->bytes, count);
	add(&k->ns, ns);
	add(&k->latency[stats_bucket(ns)], 1);
	if (nbd_error) {
		add(&k->errors, 1);
		add(&p->c.errors[stats_error_of(nbd_error)], 1);
	}
	__atomic_store_n(&p->seq, seq + 2, __ATOMIC_RELEASE);
}
