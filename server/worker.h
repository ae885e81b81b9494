/* SPDX-License-Identifier: MIT */
/*
 * A worker: nbd-serverd executed afresh for one connection (see
 * worker_spawn.h for what it starts with). It knows no export until it
 * asks the master (monitor.h), holds only the export its client chose,
 * and serves from inside a sandbox that lets it do nothing else.
 */
#ifndef CNBD_SERVER_WORKER_H
#define CNBD_SERVER_WORKER_H

/* nbd-serverd --worker ...: the worker's main(). */
int worker_main(int argc, char **argv);

#endif
