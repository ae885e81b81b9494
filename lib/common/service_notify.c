/* SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.h"
#include "common/service_notify.h"

bool service_notify_enabled(void)
{
	const char *s = getenv("NOTIFY_SOCKET");

	return s && *s;
}

/* A failure is said once: the daemon serves on regardless, and a
 * manager that cannot be told would fill the log otherwise. */
static void notify(const char *state)
{
	static atomic_bool complained;
	int rc;

	if (!service_notify_enabled())
		return;
	rc = sd_notify(0, state);
	if (rc < 0 && !atomic_exchange(&complained, true)) {
		log_warn("cannot notify the service manager (NOTIFY_SOCKET): %s", strerror(-rc));
	}
}

void service_notify_ready(void)
{
	notify("READY=1");
}

void service_notify_reloading(void)
{
	struct timespec ts;
	char state[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	notify(state);
}

void service_notify_stopping(void)
{
	notify("STOPPING=1");
}

/* text as it goes out: cut to fit, with "..." to say so. */
static void cut(const char *text, char *out, size_t outlen)
{
	if (snprintf(out, outlen, "%s", text) >= (int)outlen)
		memcpy(out + outlen - 4, "...", 3);
}

int service_status_update(struct service_status *s, const char *text, int64_t now_ms)
{
	char now_text[SERVICE_STATUS_MAX], state[SERVICE_STATUS_MAX + 8];
	int64_t due = s->sent_at_ms + SERVICE_STATUS_INTERVAL_MS;

	if (!service_notify_enabled())
		return -1;
	cut(text, now_text, sizeof(now_text));
	if (!strcmp(s->sent, now_text))
		return -1;
	if (s->sent_at_ms && now_ms < due)
		return (int)(due - now_ms);
	snprintf(s->sent, sizeof(s->sent), "%s", now_text);
	snprintf(state, sizeof(state), "STATUS=%s", now_text);
	notify(state);
	s->sent_at_ms = now_ms;
	return -1;
}
