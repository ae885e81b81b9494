/* SPDX-License-Identifier: MIT */
/*
 * One fuzz target = one function taking bytes. The same object file is
 * linked two ways: into a libFuzzer binary (clang, built with
 * -DCNBD_LIBFUZZER, which turns FUZZ_TARGET into LLVMFuzzerTestOneInput)
 * and into tests/unit/test_fuzz_regress (gcc, plain or ASan), which
 * replays the seed corpus and every saved crash through the function
 * itself, so a fixed bug stays fixed without clang installed.
 */
#ifndef CNBD_FUZZ_TARGET_H
#define CNBD_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

void fuzz_server_options(const uint8_t *data, size_t len);
void fuzz_server_requests(const uint8_t *data, size_t len);
void fuzz_client_replies(const uint8_t *data, size_t len);
void fuzz_config(const uint8_t *data, size_t len);
void fuzz_uri(const uint8_t *data, size_t len);
void fuzz_parse(const uint8_t *data, size_t len);

/* Process-wide set-up every target needs once (SIGPIPE ignored). */
void fuzz_init_once(void);

#ifdef CNBD_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
#define FUZZ_TARGET(fn)							\
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)	\
	{								\
		fuzz_init_once();					\
		fn(data, len);						\
		return 0;						\
	}
#else
#define FUZZ_TARGET(fn)
#endif

#endif
