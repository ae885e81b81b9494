/* SPDX-License-Identifier: MIT */
/* The counters of stats.h: where a request is counted, and whether what
 * a worker's page says can be believed. */
#include <stdio.h>
#include <string.h>

#include "cnbd/protocol.h"
#include "stats.h"

enum stats_cmd stats_cmd_of(uint16_t nbd_cmd)
{
	switch (nbd_cmd) {
	case NBD_CMD_READ: return STATS_READ;
	case NBD_CMD_WRITE: return STATS_WRITE;
	case NBD_CMD_FLUSH: return STATS_FLUSH;
	case NBD_CMD_TRIM: return STATS_TRIM;
	case NBD_CMD_CACHE: return STATS_CACHE;
	case NBD_CMD_WRITE_ZEROES: return STATS_WRITE_ZEROES;
	case NBD_CMD_BLOCK_STATUS: return STATS_BLOCK_STATUS;
	default: return STATS_OTHER;
	}
}

enum stats_error stats_error_of(uint32_t nbd_error)
{
	switch (nbd_error) {
	case NBD_EPERM: return STATS_EPERM;
	case NBD_EIO: return STATS_EIO;
	case NBD_ENOMEM: return STATS_ENOMEM;
	case NBD_EINVAL: return STATS_EINVAL;
	case NBD_ENOSPC: return STATS_ENOSPC;
	case NBD_EOVERFLOW: return STATS_EOVERFLOW;
	case NBD_ENOTSUP: return STATS_ENOTSUP;
	case NBD_ESHUTDOWN: return STATS_ESHUTDOWN;
	default: return STATS_EOTHER;
	}
}

unsigned stats_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = us ? 64 - (unsigned)__builtin_clzll(us) : 0;

	return b < STATS_BUCKETS ? b : STATS_BUCKETS - 1;
}

const char *stats_cmd_name(enum stats_cmd c)
{
	static const char *const names[STATS_NCMD] = {
		"read", "write", "flush", "trim", "cache", "write_zeroes",
		"block_status", "other",
	};

	return (unsigned)c < STATS_NCMD ? names[c] : "?";
}

const char *stats_error_name(enum stats_error e)
{
	static const char *const names[STATS_NERR] = {
		"EPERM", "EIO", "ENOMEM", "EINVAL", "ENOSPC", "EOVERFLOW",
		"ENOTSUP", "ESHUTDOWN", "other",
	};

	return (unsigned)e < STATS_NERR ? names[e] : "?";
}

static const uint64_t *words(const struct stats_counters *c)
{
	return (const uint64_t *)c;
}

/* Totals over the commands, saturating. */
static uint64_t total_requests(const struct stats_counters *c, uint64_t *ns)
{
	uint64_t n = 0;

	*ns = 0;
	for (int i = 0; i < STATS_NCMD; i++) {
		if (__builtin_add_overflow(n, c->cmd[i].requests, &n))
			n = UINT64_MAX;
		if (__builtin_add_overflow(*ns, c->cmd[i].ns, ns))
			*ns = UINT64_MAX;
	}
	return n;
}

static bool requests_wrap(const struct stats_counters *c)
{
	uint64_t ns;

	return total_requests(c, &ns) == UINT64_MAX;
}

/* Each command's errors and buckets agree with its requests, and its
 * bytes fit requests of at most 4 GiB - 1 (a request's length field). */
static bool consistent(const struct stats_counters *c, char *why, size_t whylen)
{
	uint64_t errors = 0, by_kind = 0;

	if (requests_wrap(c)) {
		snprintf(why, whylen, "2^64 requests or more");
		return false;
	}
	for (int i = 0; i < STATS_NCMD; i++) {
		const struct stats_command *k = &c->cmd[i];
		uint64_t sum = 0;

		bool wrapped = false;

		for (int b = 0; b < STATS_BUCKETS; b++)
			wrapped |= __builtin_add_overflow(sum, k->latency[b], &sum);
		if (wrapped || sum != k->requests || k->errors > k->requests) {
			snprintf(why, whylen, "%s: %llu requests, %llu in the histogram, %llu errors",
				 stats_cmd_name(i), (unsigned long long)k->requests,
				 (unsigned long long)sum, (unsigned long long)k->errors);
			return false;
		}
		if (k->bytes / UINT32_MAX > k->requests) {
			snprintf(why, whylen, "%s: %llu bytes in %llu requests",
				 stats_cmd_name(i), (unsigned long long)k->bytes,
				 (unsigned long long)k->requests);
			return false;
		}
		errors += k->errors;	/* each at most its requests: no wrap */
	}
	for (int e = 0; e < STATS_NERR; e++) {
		if (__builtin_add_overflow(by_kind, c->errors[e], &by_kind))
			by_kind = UINT64_MAX;
	}
	if (by_kind != errors) {
		snprintf(why, whylen, "%llu errors by command, %llu by kind",
			 (unsigned long long)errors, (unsigned long long)by_kind);
		return false;
	}
	return true;
}


bool stats_check(const struct stats_counters *base, const struct stats_counters *prev,
		 const struct stats_counters *next, uint64_t elapsed_ms,
		 char *why, size_t whylen)
{
	uint64_t before_ns, after_ns, before = total_requests(base, &before_ns);
	uint64_t after = total_requests(next, &after_ns);
	uint64_t span_ms = elapsed_ms + 1000;

	for (size_t i = 0; i < STATS_WORDS; i++) {
		if (words(next)[i] < words(prev)[i]) {
			snprintf(why, whylen, "a counter went down (word %zu)", i);
			return false;
		}
	}
	if (!consistent(next, why, whylen))
		return false;
	if (after - before > STATS_MAX_REQUESTS_PER_S * span_ms / 1000) {
		snprintf(why, whylen, "%llu requests in %llu ms",
			 (unsigned long long)(after - before), (unsigned long long)elapsed_ms);
		return false;
	}
	if (after_ns - before_ns > STATS_MAX_INFLIGHT * span_ms * 1000000ULL) {
		snprintf(why, whylen, "%llu s of requests in %llu ms",
			 (unsigned long long)((after_ns - before_ns) / 1000000000ULL),
			 (unsigned long long)elapsed_ms);
		return false;
	}
	return true;
}

void stats_add_delta(struct stats_counters *total, const struct stats_counters *prev,
		     const struct stats_counters *next)
{
	uint64_t *t = (uint64_t *)total;

	for (size_t i = 0; i < STATS_WORDS; i++) {
		uint64_t d = words(next)[i] - words(prev)[i];

		t[i] = t[i] > UINT64_MAX - d ? UINT64_MAX : t[i] + d;
	}
}

void stats_diff(struct stats_counters *out, const struct stats_counters *a,
		const struct stats_counters *b)
{
	uint64_t *o = (uint64_t *)out;

	for (size_t i = 0; i < STATS_WORDS; i++)
		o[i] = words(a)[i] - words(b)[i];
}
