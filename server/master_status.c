/* SPDX-License-Identifier: MIT */
/*
 * What systemctl status shows of the server: "3 exports (disk0, iso,
 * scratch), 2 connections". Built on each round of the master's loop,
 * which is cheap next to a fork, and sent only when it changed, at most
 * once a second (service_notify.h).
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "master.h"

/* Room left for names once the counts are in. */
#define NAMES_MAX	(SERVICE_STATUS_MAX - 64)

/* "disk0, iso, ..." with as many names as fit, each escaped: names are
 * the operator's, but the text must stay ASCII (service_notify.h). */
static void export_names(const struct export_list *t, char *out, size_t len)
{
	char name[LOG_ESCAPE_SIZE];
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < t->n; i++) {
		const char *e = log_escape(t->v[i]->def.exp.name, name, sizeof(name));
		size_t need = strlen(e) + (i ? 2 : 0);

		/* Room is kept for ", ..." after the last that fits. */
		if (used + need + 5 >= len) {
			snprintf(out + used, len - used, "%s...", i ? ", " : "");
			return;
		}
		used += snprintf(out + used, len - used, "%s%s", i ? ", " : "", e);
	}
}

int master_status_update(struct master *m)
{
	char text[SERVICE_STATUS_MAX], names[NAMES_MAX];
	size_t nw = m->workers.n, ne = m->exports.n;

	if (!service_notify_enabled())
		return -1;
	export_names(&m->exports, names, sizeof(names));
	snprintf(text, sizeof(text), "%zu export%s%s%s%s, %zu connection%s", ne,
		 ne == 1 ? "" : "s", ne ? " (" : "", names, ne ? ")" : "", nw,
		 nw == 1 ? "" : "s");
	return service_status_update(&m->status, text, master_now_ms());
}
