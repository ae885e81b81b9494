/* SPDX-License-Identifier: MIT */
/*
 * Target server_options: the input is everything a client sends from
 * the start (client flags, then options), so the fuzzer explores the
 * server's negotiation: option framing, INFO/GO with information
 * requests, LIST, meta contexts, leases, EXPORT_NAME, and whatever
 * transmission follows a GO it manages to build.
 */
#include "fuzz_engine.h"
#include "fuzz_target.h"

void fuzz_server_options(const uint8_t *data, size_t len)
{
	fuzz_engine_serve(NULL, 0, data, len);
}

FUZZ_TARGET(fuzz_server_options)
