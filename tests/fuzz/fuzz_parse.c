/* SPDX-License-Identifier: MIT */
/*
 * Target parse: the value parsers every configuration key goes through
 * (lib/common/parse.c, and the backend host calls built on them), on the input
 * as a string. Results are checked against what the header promises.
 */
#include <stdlib.h>

#include "cnbd/backend.h"
#include "fuzz_target.h"
#include "fuzz_text.h"
#include "common/parse.h"

void fuzz_parse(const uint8_t *data, size_t len)
{
	static const uint64_t maxes[] = { 0, 1, 0xffff, UINT32_MAX, UINT64_MAX };
	char *text = fuzz_text(data, len);
	int64_t size;
	uint64_t u;
	int b;

	if (parse_size(text, &size) == 0 && size < 0)
		abort();
	b = parse_bool(text);
	if (b < -1 || b > 1)
		abort();
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
		if (parse_uint(text, maxes[i], &u) == 0 && u > maxes[i])
			abort();
	if (cnbd_parse_size("fuzz", text) < -1)
		abort();
	b = cnbd_parse_bool("fuzz", text);
	if (b < -1 || b > 1)
		abort();
	free(text);
}

FUZZ_TARGET(fuzz_parse)
