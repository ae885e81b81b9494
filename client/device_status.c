/* SPDX-License-Identifier: MIT */
/*
 * What systemctl status shows of the client daemon: "2 devices: nbd0
 * connected, nbd1 reconnecting". The main loop builds it once a second
 * under systemd and it is sent when it changed (service_notify.h). Names
 * and states are ASCII: device names and specs are checked as such.
 */
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "device_status.h"
#include "common/service_notify.h"

/* The table lists newest first; the oldest first reads better. */
static size_t describe_locked(char *out, size_t len)
{
	struct device *v[64];
	size_t n = 0, used = 0, total = 0;

	for (struct device *d = device_first_locked(); d; d = d->next, total++)
		if (n < sizeof(v) / sizeof(v[0]))
			v[n++] = d;
	out[0] = '\0';
	for (size_t i = n; i-- > 0 && used < len; ) {
		struct cnbd_attach_status st;
		int w;

		device_status(v[i], &st);
		w = snprintf(out + used, len - used, "%s%s %s", used ? ", " : "",
			     st.device[0] ? st.device : device_label(v[i]),
			     cnbd_attach_state_name(st.state));

		used += w > 0 ? (size_t)w : 0;
	}
	return total;
}

int device_status_update(struct service_status *s, int64_t now_ms)
{
	char text[SERVICE_STATUS_MAX], list[SERVICE_STATUS_MAX];
	size_t n;

	if (!service_notify_enabled())
		return -1;
	pthread_mutex_lock(&device_lock);
	n = describe_locked(list, sizeof(list));
	pthread_mutex_unlock(&device_lock);
	snprintf(text, sizeof(text), "%zu device%s%s%s", n, n == 1 ? "" : "s",
		 n ? ": " : "", list);
	return service_status_update(s, text, now_ms);
}
