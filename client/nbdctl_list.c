/* SPDX-License-Identifier: MIT */
/* nbdctl list: the devices the client daemon attached, one per line. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_client.h"
#include "common/control_text.h"
#include "nbdctl.h"

#define LIST_TIMEOUT_S	10

static void field(const char *line, const char *key, char *out, size_t outlen)
{
	if (control_field(line, key, out, outlen) < 0)
		snprintf(out, outlen, "-");
}

static int print_line(void *opaque, const char *line)
{
	char dev[32], state[32], binding[16], size[32], conns[16], reconnects[16], tls[16];
	char *uri = malloc(strlen(line) + 1);
	char error[1024];
	bool *header = opaque;

	if (!*header) {
		printf("%-8s %-13s %-8s %14s %5s %10s %-6s %s\n", "DEVICE", "STATE", "BINDING",
		       "SIZE", "CONNS", "RECONNECTS", "TLS", "URI");
		*header = true;
	}
	field(line, "device", dev, sizeof(dev));
	field(line, "state", state, sizeof(state));
	field(line, "binding", binding, sizeof(binding));
	field(line, "size", size, sizeof(size));
	field(line, "connections", conns, sizeof(conns));
	field(line, "reconnects", reconnects, sizeof(reconnects));
	field(line, "tls", tls, sizeof(tls));
	if (!uri)
		return -1;
	field(line, "uri", uri, strlen(line) + 1);
	printf("%-8s %-13s %-8s %14s %5s %10s %-6s ", dev, state, binding, size, conns,
	       reconnects, tls);
	nbdctl_print_escaped(uri);
	putchar('\n');
	free(uri);
	if (control_field(line, "error", error, sizeof(error)) == 0 && error[0]) {
		printf("         last error: ");
		nbdctl_print_escaped(error);
		putchar('\n');
	}
	return 0;
}

static int list_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	bool header = false;

	(void)argv;
	if (argc != 1)
		return nbdctl_usage(&nbdctl_list_command);
	return nbdctl_daemon_call(opts, "list", "list", LIST_TIMEOUT_S, print_line, &header);
}

const struct nbdctl_command nbdctl_list_command = {
	.name = "list",
	.usage = "",
	.summary = "the devices the daemon attached: device, state, binding, size, connections, reconnects, TLS, URI",
	.run = list_run,
};
