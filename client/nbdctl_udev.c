/* SPDX-License-Identifier: MIT */
/*
 * The two commands the udev rules run (udev/60-cnbd.rules):
 *   nbdctl udev-add nbdN    a device appeared: tell the daemon, return at
 *                           once; without a daemon say so and exit 0, so
 *                           that a missing daemon never stalls udev.
 *   nbdctl udev-name nbdN[pM]  the name for /dev/nbd/by-export/, from the
 *                           daemon or else from sysfs's backend attribute
 *                           (the export's name when it is an NBD URI).
 */
#include <stdio.h>
#include <string.h>

#include "cnbd/protocol.h"
#include "control_client.h"
#include "common/control_text.h"
#include "nbdctl.h"
#include "attach/sysfs_nbd.h"
#include "clientlib/uri.h"

/* udev gives a RUN program little time; these answers are immediate. */
#define UDEV_TIMEOUT_S	2

static int udev_add_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	char request[64], err[512];

	if (argc != 2)
		return nbdctl_usage(&nbdctl_udev_add_command);
	if (!nbd_name_valid(argv[1])) {
		fprintf(stderr, "nbdctl udev-add: '%s' is not a device name like nbd0\n",
			argv[1]);
		return 2;
	}
	snprintf(request, sizeof(request), "udev-add %s", argv[1]);
	switch (control_call("nbd-clientd", opts->socket, request, UDEV_TIMEOUT_S, NULL, NULL, err,
			     sizeof(err))) {
	case CONTROL_OK:
		return 0;
	case CONTROL_UNREACHABLE:
		fprintf(stderr, "nbdctl udev-add: %s (not running?): nothing to do for %s\n",
			err, argv[1]);
		return 0;
	default:
		fprintf(stderr, "nbdctl udev-add: %s\n", err);
		return 1;
	}
}

const struct nbdctl_command nbdctl_udev_add_command = {
	.name = "udev-add",
	.usage = "nbdN",
	.summary = "(udev) a device appeared: the daemon attaches what its devices file binds to it",
	.run = udev_add_run,
};

static int take_name(void *opaque, const char *line)
{
	char *name = opaque;

	return control_field(line, "export", name, NBD_MAX_STRING + 1);
}

/*
 * A symlink name udev will take literally: bytes outside a safe set, and
 * a leading '.', become \xHH (as udev's own by-label links do), so that
 * '/' cannot make directories and ".." cannot climb.
 */
static void print_link_name(const char *name, unsigned part)
{
	for (const char *p = name; *p; p++) {
		unsigned char c = *p;

		if ((c < 0x80 && (strchr("#+-.:=@_", c) || (c >= '0' && c <= '9') ||
				  (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) &&
		    !(p == name && c == '.'))
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	if (part)
		printf("-part%u", part);
	putchar('\n');
}

/* nbd-clientd's netlink binding leaves the URI as the backend: the link
 * is named by its export, as the daemon would answer. A URI too long for
 * the kernel to show was given as its digest: no name without the daemon. */
static void export_of_uri(char *name)
{
	char err[256];
	struct nbd_uri uri;

	if (!strncmp(name, "nbd-clientd:", 12)) {
		name[0] = '\0';
		return;
	}

	if ((!strncmp(name, "nbd://", 6) || !strncmp(name, "nbd+unix://", 11) ||
	     !strncmp(name, "nbds://", 7) || !strncmp(name, "nbds+unix://", 12)) &&
	    uri_parse_tls(name, &uri, err, sizeof(err)) == 0)
		snprintf(name, NBD_MAX_STRING + 1, "%s", uri.export_name);
}

static int udev_name_run(int argc, char **argv, const struct nbdctl_options *opts)
{
	char base[32], request[64], err[512], name[NBD_MAX_STRING + 1] = "";
	unsigned part;

	if (argc != 2)
		return nbdctl_usage(&nbdctl_udev_name_command);
	if (!nbd_split_partition(argv[1], base, sizeof(base), &part)) {
		fprintf(stderr, "nbdctl udev-name: '%s' is not a device name like nbd0 or nbd0p1\n",
			argv[1]);
		return 2;
	}
	snprintf(request, sizeof(request), "udev-name %s", base);
	if (control_call("nbd-clientd", opts->socket, request, UDEV_TIMEOUT_S, take_name, name, err,
			 sizeof(err)) != CONTROL_OK) {
		/* Not ours, or no daemon: a netlink binding by anyone may
		 * have left the export's identity in sysfs. */
		name[0] = '\0';
		nbd_backend(base, name, sizeof(name));
		export_of_uri(name);
	}
	if (!name[0]) {
		fprintf(stderr, "nbdctl udev-name: no export name known for %s\n", base);
		return 1;
	}
	print_link_name(name, part);
	return 0;
}

const struct nbdctl_command nbdctl_udev_name_command = {
	.name = "udev-name",
	.usage = "nbdN[pM]",
	.summary = "(udev) print the export name for /dev/nbd/by-export/",
	.run = udev_name_run,
};
