/* SPDX-License-Identifier: MIT */
/*
 * Statistics: what each connection did, counted by its worker in a page
 * of shared memory that the master reads.
 *
 * Each worker gets a page of its own (a sealed memfd made by the master
 * at accept: the worker cannot shrink or grow it, so the master's read
 * of its mapping can never fault), and nothing else: no worker can reach
 * another's page. The master maps it read-only, copies it out under a
 * sequence count (the worker makes it odd while it writes), and only
 * believes a copy that is consistent and only ever grew, within bounds
 * (stats_check). What it believes it adds, as a difference, to the
 * export the master itself leased the worker: so a lying worker can
 * only inflate the counts of its own export, never touch another's.
 *
 * All counters are uint64_t, and the whole record is an array of them,
 * so that it can be copied, checked and added word by word.
 */
#ifndef CNBD_SERVER_STATS_H
#define CNBD_SERVER_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Commands, in the order they are shown; STATS_OTHER is any other
 * request type (answered EINVAL). */
enum stats_cmd {
	STATS_READ,
	STATS_WRITE,
	STATS_FLUSH,
	STATS_TRIM,
	STATS_CACHE,
	STATS_WRITE_ZEROES,
	STATS_BLOCK_STATUS,
	STATS_OTHER,
	STATS_NCMD
};

/* The NBD errors a reply can carry (the protocol has these only), and
 * any other value. */
enum stats_error {
	STATS_EPERM,
	STATS_EIO,
	STATS_ENOMEM,
	STATS_EINVAL,
	STATS_ENOSPC,
	STATS_EOVERFLOW,
	STATS_ENOTSUP,
	STATS_ESHUTDOWN,
	STATS_EOTHER,
	STATS_NERR
};

/* Latency buckets: bucket b counts requests that took less than 2^b
 * microseconds (and, for b > 0, at least 2^(b-1)); the last counts the
 * rest (18 minutes and more). */
#define STATS_BUCKETS	32

struct stats_command {
	uint64_t requests;		/* answered */
	uint64_t bytes;			/* the requests' lengths */
	uint64_t errors;		/* answered with an error */
	uint64_t ns;			/* the sum of their latencies */
	uint64_t latency[STATS_BUCKETS];
};

struct stats_counters {
	struct stats_command cmd[STATS_NCMD];
	uint64_t errors[STATS_NERR];	/* by error, whatever the command */
};

#define STATS_WORDS	(sizeof(struct stats_counters) / sizeof(uint64_t))

/* The shared page. seq is odd while the worker writes. */
struct stats_page {
	uint64_t seq;
	struct stats_counters c;
};

/* What a worker's counters may grow by: requests at 10 million a second
 * (the fastest a worker is measured at is a few hundred thousand), and
 * time spent by at most 256 requests at once (the engine's bound).
 * More is a lie. */
#define STATS_MAX_REQUESTS_PER_S	10000000ULL
#define STATS_MAX_INFLIGHT		256ULL

/* The master's record of one worker's page. */
struct worker_stats {
	const struct stats_page *map;
	struct stats_counters base;	/* what the page said at the lease */
	struct stats_counters last;	/* the last copy believed */
	int64_t since;			/* ms (CLOCK_MONOTONIC) of the lease */
	bool counting;			/* leased, and believed so far */
	bool bad;			/* said something unbelievable: ignored */
};

/* One export's counts, by name (like leases: a reload that changes the
 * export does not reset them). */
struct stats_entry {
	char *name;
	struct stats_counters c;	/* of connections, ended and live */
	uint64_t connections;		/* leases granted */
};

struct stats_table {
	struct stats_entry *v;
	size_t n;
};

/* master_stats.c: a worker's page, made at accept (its fd, for the
 * worker, in *fd); NULL when it cannot be made. */
struct worker_stats *worker_stats_new(int *fd);
void worker_stats_free(struct worker_stats *ws);

/* stats_counters.c */
enum stats_cmd stats_cmd_of(uint16_t nbd_cmd);
enum stats_error stats_error_of(uint32_t nbd_error);
unsigned stats_bucket(uint64_t ns);
const char *stats_cmd_name(enum stats_cmd c);		/* "write_zeroes" */
const char *stats_error_name(enum stats_error e);	/* "ENOSPC" */
/* Whether next may follow prev, elapsed_ms after base (what the page
 * said when the worker got its lease): every counter grew or stayed,
 * each command's errors and buckets agree with its requests, the errors
 * by kind with the errors by command, nothing sums past 2^64, and the
 * growth since base is within the bounds above. false with the reason
 * in why. */
bool stats_check(const struct stats_counters *base, const struct stats_counters *prev,
		 const struct stats_counters *next, uint64_t elapsed_ms,
		 char *why, size_t whylen);
/* total += next - prev, saturating: a total never wraps. */
void stats_add_delta(struct stats_counters *total, const struct stats_counters *prev,
		     const struct stats_counters *next);
/* out = a - b (b was earlier). */
void stats_diff(struct stats_counters *out, const struct stats_counters *a,
		const struct stats_counters *b);

/* stats_page.c */
/* In the master: a sealed memfd of one page, and its read-only mapping.
 * 0, or -1 with errno. */
int stats_page_new(int *fd, const struct stats_page **map);
void stats_page_unmap(const struct stats_page *map);
/* A consistent copy of the counters (a few tries while the worker
 * writes). 0, or -1 when none was had. */
int stats_page_read(const struct stats_page *map, struct stats_counters *out);
/* In a worker: the page at fd, writable. NULL with errno. */
struct stats_page *stats_page_attach(int fd);
/* One answered request, counted under the page's sequence count. Any
 * thread; the caller serialises writers. */
void stats_page_record(struct stats_page *p, uint16_t nbd_cmd, uint32_t count,
		       uint32_t nbd_error, uint64_t ns);

#endif
