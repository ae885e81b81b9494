/* SPDX-License-Identifier: MIT */
/*
 * lib/proto/messages.h against bytes written out by hand from the
 * protocol document (doc/proto.md, "Request message", "Simple reply
 * message", "Structured reply chunk message", option haggling): every
 * field at its offset, big-endian, and each decoder refusing a wrong
 * magic. The engine and the client library both build and parse their
 * messages with these, so a field in the wrong place would agree with
 * itself; only fixed bytes can catch it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto/messages.h"

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(NBD_OPTION_HEADER_SIZE, 16);
	assert_int_equal(NBD_OPTION_REPLY_SIZE, 20);
	assert_int_equal(NBD_REQUEST_SIZE, 28);
	assert_int_equal(NBD_SIMPLE_REPLY_SIZE, 16);
	assert_int_equal(NBD_CHUNK_HEADER_SIZE, 20);
	assert_int_equal(NBD_DATA_CHUNK_SIZE, 28);
	assert_int_equal(NBD_ERROR_CHUNK_SIZE, 26);
	assert_int_equal(NBD_STATUS_CHUNK_SIZE, 24);
}

/* C: IHAVEOPT, option 7 (GO), length 0x0102. */
static const uint8_t option_bytes[16] = {
	'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T',
	0x00, 0x00, 0x00, 0x07,
	0x00, 0x00, 0x01, 0x02,
};

static void test_option(void **state)
{
	uint8_t out[16];
	struct proto_option o;

	(void)state;
	proto_option_encode(out, NBD_OPT_GO, 0x0102);
	assert_memory_equal(out, option_bytes, sizeof(out));
	assert_true(proto_option_decode(option_bytes, &o));
	assert_int_equal(o.option, NBD_OPT_GO);
	assert_int_equal(o.length, 0x0102);
	out[0] = 'i';
	assert_false(proto_option_decode(out, &o));
	assert_true(o.magic == 0x69484156454f5054ULL);
}

/* S: 0x3e889045565a9, option 3 (LIST), reply type 2^31 + 1 (ERR_UNSUP),
 * length 0x0a0b0c0d. */
static const uint8_t option_reply_bytes[20] = {
	0x00, 0x03, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9,
	0x00, 0x00, 0x00, 0x03,
	0x80, 0x00, 0x00, 0x01,
	0x0a, 0x0b, 0x0c, 0x0d,
};

static void test_option_reply(void **state)
{
	uint8_t out[20];
	struct proto_option_reply r;

	(void)state;
	proto_option_reply_encode(out, NBD_OPT_LIST, NBD_REP_ERR_UNSUP, 0x0a0b0c0d);
	assert_memory_equal(out, option_reply_bytes, sizeof(out));
	assert_true(proto_option_reply_decode(option_reply_bytes, &r));
	assert_int_equal(r.option, NBD_OPT_LIST);
	assert_int_equal(r.type, NBD_REP_ERR_UNSUP);
	assert_int_equal(r.length, 0x0a0b0c0d);
	out[7] = 0;
	assert_false(proto_option_reply_decode(out, &r));
}

/* C: 0x25609513, flags FUA|NO_HOLE, type 6 (WRITE_ZEROES), cookie,
 * offset, length: every byte distinct so a misplaced field shows. */
static const uint8_t request_bytes[28] = {
	0x25, 0x60, 0x95, 0x13,
	0x00, 0x03,
	0x00, 0x06,
	0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
	0x31, 0x32, 0x33, 0x34,
};

static void test_request(void **state)
{
	struct proto_request r = {
		.flags = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE,
		.type = NBD_CMD_WRITE_ZEROES,
		.cookie = 0x1112131415161718ULL,
		.offset = 0x2122232425262728ULL,
		.count = 0x31323334,
	};
	struct proto_request d;
	uint8_t out[28];

	(void)state;
	proto_request_encode(out, &r);
	assert_memory_equal(out, request_bytes, sizeof(out));
	assert_true(proto_request_decode(request_bytes, &d));
	assert_int_equal(d.magic, NBD_REQUEST_MAGIC);
	assert_int_equal(d.flags, r.flags);
	assert_int_equal(d.type, r.type);
	assert_true(d.cookie == r.cookie);
	assert_true(d.offset == r.offset);
	assert_int_equal(d.count, r.count);
	out[3] = 0x14;
	assert_false(proto_request_decode(out, &d));
	assert_int_equal(d.magic, 0x25609514);
}

/* S: 0x67446698, error 28 (ENOSPC), cookie. */
static const uint8_t simple_reply_bytes[16] = {
	0x67, 0x44, 0x66, 0x98,
	0x00, 0x00, 0x00, 0x1c,
	0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
};

static void test_simple_reply(void **state)
{
	struct proto_simple_reply r;
	uint8_t out[16];

	(void)state;
	proto_simple_reply_encode(out, NBD_ENOSPC, 0x4142434445464748ULL);
	assert_memory_equal(out, simple_reply_bytes, sizeof(out));
	assert_true(proto_simple_reply_decode(simple_reply_bytes, &r));
	assert_int_equal(r.error, NBD_ENOSPC);
	assert_true(r.cookie == 0x4142434445464748ULL);
	/* A structured chunk where a simple reply was expected: refused,
	 * with its magic there to say so. */
	assert_false(proto_simple_reply_decode((const uint8_t *)"\x66\x8e\x33\xef"
					       "\0\0\0\0\0\0\0\0\0\0\0\0", &r));
	assert_int_equal(r.magic, NBD_STRUCTURED_REPLY_MAGIC);
}

/* S: 0x668e33ef, flags DONE, type 1 (OFFSET_DATA), cookie, length 8 + 512,
 * then the offset. */
static const uint8_t data_chunk_bytes[28] = {
	0x66, 0x8e, 0x33, 0xef,
	0x00, 0x01,
	0x00, 0x01,
	0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
	0x00, 0x00, 0x02, 0x08,
	0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
};

static void test_data_chunk(void **state)
{
	struct proto_chunk c;
	uint8_t out[28];

	(void)state;
	proto_data_chunk_encode(out, NBD_REPLY_FLAG_DONE, 0x5152535455565758ULL,
				0x6162636465666768ULL, 512);
	assert_memory_equal(out, data_chunk_bytes, sizeof(out));
	assert_true(proto_chunk_decode(data_chunk_bytes, &c));
	assert_int_equal(c.flags, NBD_REPLY_FLAG_DONE);
	assert_int_equal(c.type, NBD_REPLY_TYPE_OFFSET_DATA);
	assert_true(c.cookie == 0x5152535455565758ULL);
	assert_int_equal(c.length, 8 + 512);
	assert_true(proto_data_chunk_offset(data_chunk_bytes + NBD_CHUNK_HEADER_SIZE) ==
		    0x6162636465666768ULL);
	assert_false(proto_chunk_decode(request_bytes, &c));
	assert_int_equal(c.magic, NBD_REQUEST_MAGIC);
}

/* S: an ERROR chunk (type 2^15 + 1), DONE, error 5 (EIO), message of 3. */
static const uint8_t error_chunk_bytes[26] = {
	0x66, 0x8e, 0x33, 0xef,
	0x00, 0x01,
	0x80, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
	0x00, 0x00, 0x00, 0x09,
	0x00, 0x00, 0x00, 0x05,
	0x00, 0x03,
};

static void test_error_chunk(void **state)
{
	uint8_t out[26];
	uint32_t error;
	uint16_t msglen;

	(void)state;
	proto_error_chunk_encode(out, NBD_REPLY_FLAG_DONE, 9, NBD_EIO, 3);
	assert_memory_equal(out, error_chunk_bytes, sizeof(out));
	proto_error_chunk_decode(error_chunk_bytes + NBD_CHUNK_HEADER_SIZE, &error, &msglen);
	assert_int_equal(error, NBD_EIO);
	assert_int_equal(msglen, 3);
}

/* S: BLOCK_STATUS (type 5), not DONE, context 1, two descriptors:
 * 4096 bytes of hole+zero, then 0x01020304 bytes of data. */
static const uint8_t status_chunk_bytes[40] = {
	0x66, 0x8e, 0x33, 0xef,
	0x00, 0x00,
	0x00, 0x05,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x14,
	0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00,
};

static void test_status_chunk(void **state)
{
	uint8_t out[40];
	struct proto_chunk c;
	uint32_t len, flags;

	(void)state;
	proto_status_chunk_encode(out, 0, 2, 1, 2);
	proto_extent_encode(out + 24, 4096, NBD_STATE_HOLE | NBD_STATE_ZERO);
	proto_extent_encode(out + 32, 0x01020304, 0);
	assert_memory_equal(out, status_chunk_bytes, sizeof(out));
	assert_true(proto_chunk_decode(status_chunk_bytes, &c));
	assert_int_equal(c.type, NBD_REPLY_TYPE_BLOCK_STATUS);
	assert_int_equal(c.length, 4 + 2 * NBD_EXTENT_SIZE);
	assert_int_equal(proto_status_chunk_context(status_chunk_bytes + 20), 1);
	proto_extent_decode(status_chunk_bytes + 32, &len, &flags);
	assert_int_equal(len, 0x01020304);
	assert_int_equal(flags, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_option),
		cmocka_unit_test(test_option_reply),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_simple_reply),
		cmocka_unit_test(test_data_chunk),
		cmocka_unit_test(test_error_chunk),
		cmocka_unit_test(test_status_chunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
