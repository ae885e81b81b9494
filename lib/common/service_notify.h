/* SPDX-License-Identifier: MIT */
/*
 * Telling the service manager how a daemon is (sd_notify(3)): READY=1
 * once it serves, RELOADING=1 and READY=1 around a reload, STOPPING=1,
 * and a STATUS= line that systemctl status shows. Nothing happens when
 * NOTIFY_SOCKET is not set (not under systemd, or not Type=notify).
 * The daemons link -lsystemd for these.
 */
#ifndef CNBD_SERVICE_NOTIFY_H
#define CNBD_SERVICE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* A STATUS= text longer than this is cut with "...". */
#define SERVICE_STATUS_MAX	256
/* STATUS= is sent at most this often, however fast things change. */
#define SERVICE_STATUS_INTERVAL_MS	1000

bool service_notify_enabled(void);
void service_notify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC, which newer systemd wants with it. */
void service_notify_reloading(void);
void service_notify_stopping(void);

/* What was last sent, and when. Texts are ASCII (names escaped with
 * log_escape), so that a cut never splits a character: systemd ignores
 * a STATUS= that is not UTF-8. */
struct service_status {
	char sent[SERVICE_STATUS_MAX];
	int64_t sent_at_ms;		/* CLOCK_MONOTONIC; 0: never */
};

/* Sends STATUS=text if it differs from what was sent and the interval
 * has passed since the last one; otherwise keeps it for later. Returns
 * the milliseconds until a kept change is due (call again by then, with
 * the text as it is then), or -1 when nothing waits. */
int service_status_update(struct service_status *s, const char *text, int64_t now_ms);

#endif
