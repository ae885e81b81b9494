/* SPDX-License-Identifier: MIT */
/* nbdctl reload: the client daemon reads its devices file again, as on
 * SIGHUP (client/devices_apply.h says what a reload changes). */
#include "nbdctl.h"

/* Attaching is not waited for: the reload only starts it. */
#define RELOAD_TIMEOUT_S	30

static int reload_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	(void)argv;
	if (argc != 1)
		return nbdctl_usage(&nbdctl_reload_command);
	return nbdctl_daemon_call(opts, "reload", "reload", RELOAD_TIMEOUT_S, nbdctl_print_info,
				  NULL);
}

const struct nbdctl_command nbdctl_reload_command = {
	.name = "reload",
	.usage = "",
	.summary = "read the devices file again: attach its new entries (the daemon's SIGHUP)",
	.run = reload_run,
};
