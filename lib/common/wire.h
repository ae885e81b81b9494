/* SPDX-License-Identifier: MIT */
/* Socket I/O that either moves every byte or fails, and big-endian
 * helpers for building and parsing wire messages. */
#ifndef CNBD_WIRE_H
#define CNBD_WIRE_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

/* 0 when all len bytes moved; -1 with errno otherwise. End of stream
 * before len bytes is ECONNRESET. EINTR is retried. */
int read_full(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
/* Modifies iov as it goes. */
int writev_full(int fd, struct iovec *iov, int iovcnt);
/* The same with extra send flags (MSG_MORE: more follows at once). */
int writev_full_flags(int fd, struct iovec *iov, int iovcnt, int flags);
/* Read and throw away len bytes. */
int discard_full(int fd, uint64_t len);

static inline void put_be16(uint8_t *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }
static inline void put_be32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static inline void put_be64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static inline uint16_t get_be16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static inline uint32_t get_be32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static inline uint64_t get_be64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

#endif
