/* SPDX-License-Identifier: MIT */
/*
 * Log lines a worker can cause, at a bounded rate: a compromised worker
 * asking the master the same refused thing in a loop must not be able to
 * fill the disk or take a core writing log lines. At most LOG_RATE_BURST
 * lines per LOG_RATE_WINDOW_MS; the rest are counted, and the count is
 * said with the next line that gets through.
 */
#ifndef CNBD_SERVER_LOG_RATE_H
#define CNBD_SERVER_LOG_RATE_H

#include <stdint.h>

#define LOG_RATE_BURST		20
#define LOG_RATE_WINDOW_MS	10000

struct log_rate {
	int64_t window_start;	/* ms, CLOCK_MONOTONIC */
	unsigned in_window;
	unsigned suppressed;
};

/* Logs the line at priority if the rate allows, else counts it. */
void log_rated(struct log_rate *r, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
