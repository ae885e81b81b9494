/* SPDX-License-Identifier: MIT */
/*
 * What the two floors (floor_server.c: recv/writev, floor_uring.c:
 * io_uring) share, so that they differ only in their transmission loop:
 * the export, the handshake subset, the simple reply header, and the
 * listener with one thread per connection.
 */
#ifndef FLOOR_HANDSHAKE_H
#define FLOOR_HANDSHAKE_H

#include <stdint.h>

#define FLOOR_REQ_BYTES		28
#define FLOOR_REPLY_BYTES	16

extern uint64_t floor_export_size;

/* 0 when transmission starts, -1 to drop the connection. */
int floor_handshake(int fd);

/* The 16-byte simple reply (no error) to the 28-byte request `req`. */
void floor_put_reply(uint8_t *h, const uint8_t *req);

/* Listens on 127.0.0.1:port and runs serve(fd) in a detached thread per
 * connection (TCP_NODELAY set); never returns. */
void floor_listen_loop(const char *prog, uint16_t port, void *(*serve)(void *));

#endif
