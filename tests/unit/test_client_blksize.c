/* SPDX-License-Identifier: MIT */
/* The kernel block size chosen from the server's constraints: within
 * 512..4096, never below the server's minimum, the preferred size when
 * the kernel can take it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "clientlib/client.h"

static uint32_t pick(bool have, uint32_t min, uint32_t pref, uint32_t max)
{
	struct client_export ex = { .have_block_size = have, .min_block = min,
				    .pref_block = pref, .max_payload = max };
	char err[256] = "";
	uint32_t blk = 0;

	if (client_kernel_block_size(&ex, &blk, err, sizeof(err)) < 0)
		return 0;
	return blk;
}

static void test_choices(void **state)
{
	(void)state;
	/* No BLOCK_SIZE information: 512, which every server takes. */
	assert_int_equal(pick(false, 1, 4096, 32 << 20), 512);
	assert_int_equal(pick(true, 1, 4096, 32 << 20), 4096);
	assert_int_equal(pick(true, 512, 1024, 32 << 20), 1024);
	assert_int_equal(pick(true, 1, 2048, 0xffffffff), 2048);
	/* Preferred above the page size: the largest the kernel takes. */
	assert_int_equal(pick(true, 1, 65536, 32 << 20), 4096);
	assert_int_equal(pick(true, 512, 1 << 20, 32 << 20), 4096);
	/* Preferred below 512: the kernel's floor. */
	assert_int_equal(pick(true, 1, 256, 32 << 20), 512);
	/* The minimum wins over the preferred. */
	assert_int_equal(pick(true, 2048, 2048, 32 << 20), 2048);
	assert_int_equal(pick(true, 4096, 4096, 4096), 4096);
}

static void test_impossible(void **state)
{
	struct client_export ex = { .have_block_size = true, .min_block = 8192,
				    .pref_block = 8192, .max_payload = 1 << 20 };
	char err[256] = "";
	uint32_t blk;

	(void)state;
	assert_int_equal(client_kernel_block_size(&ex, &blk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "minimum block size 8192 exceeds"));
	ex.min_block = 512;
	ex.pref_block = 4096;
	ex.max_payload = 2048;
	assert_int_equal(client_kernel_block_size(&ex, &blk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "maximum payload 2048"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_impossible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
