/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "common/log.h"
#include "log_rate.h"
#include "master.h"

void log_rated(struct log_rate *r, int priority, const char *fmt, ...)
{
	int64_t now = master_now_ms();
	char line[768];
	va_list ap;

	if (now - r->window_start >= LOG_RATE_WINDOW_MS) {
		r->window_start = now;
		r->in_window = 0;
	}
	if (r->in_window >= LOG_RATE_BURST) {
		r->suppressed++;
		return;
	}
	r->in_window++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->suppressed)
		log_msg(priority, "%s (and %u more like it, not logged)", line, r->suppressed);
	else
		log_msg(priority, "%s", line);
	r->suppressed = 0;
}
