/* SPDX-License-Identifier: MIT */
/* Statistics counters (server/stats.h): where a request is counted, the
 * page's writer and reader, and which copies of a worker's page the
 * master believes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "cnbd/protocol.h"
#include "../../server/stats.h"

static char why[256];

static void test_buckets(void **state)
{
	(void)state;
	assert_int_equal(stats_bucket(0), 0);
	assert_int_equal(stats_bucket(999), 0);		/* under 1 us */
	assert_int_equal(stats_bucket(1000), 1);	/* 1 us: under 2 */
	assert_int_equal(stats_bucket(1999), 1);
	assert_int_equal(stats_bucket(2000), 2);
	assert_int_equal(stats_bucket(3999), 2);
	assert_int_equal(stats_bucket(4000), 3);
	assert_int_equal(stats_bucket(1000000), 10);	/* 1 ms: 512..1023 us */
	assert_int_equal(stats_bucket(UINT64_MAX), STATS_BUCKETS - 1);
	assert_int_equal(stats_cmd_of(NBD_CMD_WRITE_ZEROES), STATS_WRITE_ZEROES);
	assert_int_equal(stats_cmd_of(99), STATS_OTHER);
	assert_int_equal(stats_error_of(NBD_ENOSPC), STATS_ENOSPC);
	assert_int_equal(stats_error_of(1234), STATS_EOTHER);
	assert_string_equal(stats_cmd_name(STATS_BLOCK_STATUS), "block_status");
	assert_string_equal(stats_error_name(STATS_ESHUTDOWN), "ESHUTDOWN");
}

/* The writer and the reader of a real page, sealed so that it cannot
 * change size. */
static void test_page(void **state)
{
	const struct stats_page *ro;
	struct stats_page *rw;
	struct stats_counters c;
	int fd;

	(void)state;
	assert_int_equal(stats_page_new(&fd, &ro), 0);
	assert_int_equal(ftruncate(fd, 0), -1);		/* F_SEAL_SHRINK */
	assert_int_equal(ftruncate(fd, 8192), -1);	/* F_SEAL_GROW */
	rw = stats_page_attach(fd);
	assert_non_null(rw);
	stats_page_record(rw, NBD_CMD_READ, 4096, 0, 1500);
	stats_page_record(rw, NBD_CMD_READ, 512, NBD_EIO, 3000000);
	stats_page_record(rw, NBD_CMD_FLUSH, 0, 0, 10);
	assert_int_equal(stats_page_read(ro, &c), 0);
	assert_int_equal(c.cmd[STATS_READ].requests, 2);
	assert_int_equal(c.cmd[STATS_READ].bytes, 4608);
	assert_int_equal(c.cmd[STATS_READ].errors, 1);
	assert_int_equal(c.cmd[STATS_READ].ns, 3001500);
	assert_int_equal(c.cmd[STATS_READ].latency[1], 1);
	assert_int_equal(c.cmd[STATS_READ].latency[12], 1);	/* 3 ms: 2048..4095 us */
	assert_int_equal(c.cmd[STATS_FLUSH].latency[0], 1);
	assert_int_equal(c.errors[STATS_EIO], 1);
	/* A writer that stops midway (odd count): no copy at all. */
	rw->seq++;
	assert_int_equal(stats_page_read(ro, &c), -1);
	munmap(rw, 4096);
	stats_page_unmap(ro);
	close(fd);
}

static struct stats_counters some(uint64_t reads)
{
	struct stats_counters c = { 0 };

	c.cmd[STATS_READ].requests = reads;
	c.cmd[STATS_READ].bytes = reads * 4096;
	c.cmd[STATS_READ].latency[4] = reads;
	c.cmd[STATS_READ].ns = reads * 10000;
	return c;
}

static void test_check(void **state)
{
	struct stats_counters zero = { 0 }, a = some(100), b = some(200), bad;

	(void)state;
	assert_true(stats_check(&zero, &zero, &a, 1000, why, sizeof(why)));
	assert_true(stats_check(&zero, &a, &b, 1000, why, sizeof(why)));
	assert_false(stats_check(&zero, &b, &a, 1000, why, sizeof(why)));
	assert_string_equal(why, "a counter went down (word 0)");
	/* Histogram and requests disagree. */
	bad = b;
	bad.cmd[STATS_READ].latency[4]--;
	assert_false(stats_check(&zero, &a, &bad, 1000, why, sizeof(why)));
	/* A histogram that agrees only after wrapping past 2^64. */
	bad = b;
	bad.cmd[STATS_READ].latency[5] = UINT64_MAX;
	bad.cmd[STATS_READ].latency[6] = 1;
	assert_false(stats_check(&zero, &a, &bad, 1000, why, sizeof(why)));
	/* More errors than requests; errors by kind that do not add up. */
	bad = b;
	bad.cmd[STATS_READ].errors = 201;
	bad.errors[STATS_EIO] = 201;
	assert_false(stats_check(&zero, &a, &bad, 1000, why, sizeof(why)));
	bad = b;
	bad.cmd[STATS_READ].errors = 3;
	bad.errors[STATS_EIO] = 2;
	assert_false(stats_check(&zero, &a, &bad, 1000, why, sizeof(why)));
	bad.errors[STATS_EINVAL] = 1;
	assert_true(stats_check(&zero, &a, &bad, 1000, why, sizeof(why)));
	/* Bytes no request of 4 GiB - 1 could name. */
	bad = b;
	bad.cmd[STATS_READ].bytes = 201ULL * UINT32_MAX;
	assert_false(stats_check(&zero, &a, &bad, 1000, why, sizeof(why)));
	/* Growth since the lease: 10^7 requests a second, 256 in flight. */
	bad = some(20000000);
	assert_true(stats_check(&zero, &zero, &bad, 1000, why, sizeof(why)));
	bad = some(20000001);
	assert_false(stats_check(&zero, &zero, &bad, 1000, why, sizeof(why)));
	assert_string_equal(why, "20000001 requests in 1000 ms");
	bad = some(1);
	bad.cmd[STATS_READ].ns = 256ULL * 2 * 1000000000ULL + 1;
	assert_false(stats_check(&zero, &zero, &bad, 1000, why, sizeof(why)));
}

static void test_add(void **state)
{
	struct stats_counters total = some(5), a = some(100), b = some(300);

	(void)state;
	stats_add_delta(&total, &a, &b);
	assert_int_equal(total.cmd[STATS_READ].requests, 205);
	assert_int_equal(total.cmd[STATS_READ].latency[4], 205);
	total.cmd[STATS_READ].bytes = UINT64_MAX - 10;
	stats_add_delta(&total, &a, &b);	/* saturates, never wraps */
	assert_true(total.cmd[STATS_READ].bytes == UINT64_MAX);
	stats_diff(&total, &b, &a);
	assert_int_equal(total.cmd[STATS_READ].requests, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
