/* SPDX-License-Identifier: MIT */
/*
 * nbdctl: the command line for cnbd. A dispatcher over a table of
 * commands; global options come before the command's name.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "control_client.h"
#include "nbdctl.h"

static const struct nbdctl_command *const commands[] = {
	&nbdctl_attach_command,
	&nbdctl_detach_command,
	&nbdctl_list_command,
	&nbdctl_exports_command,
	&nbdctl_udev_add_command,
	&nbdctl_udev_name_command,
};

static void help_line(FILE *out, const struct nbdctl_command *cmd)
{
	fprintf(out, "  %s%s%s\n      %s\n", cmd->name, cmd->usage[0] ? " " : "",
		cmd->usage, cmd->summary);
}

static void help(FILE *out)
{
	fprintf(out,
		"usage: nbdctl [--socket PATH] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		help_line(out, commands[i]);
	if (&nbdctl_server_command)
		help_line(out, &nbdctl_server_command);
	fprintf(out,
		"\n"
		"Options:\n"
		"  --socket PATH  the client daemon's control socket (default %s)\n"
		"  --help, --version\n", CONTROL_DEFAULT_SOCKET);
}

int nbdctl_usage(const struct nbdctl_command *cmd)
{
	fprintf(stderr, "usage: nbdctl %s %s\n", cmd->name, cmd->usage);
	return 2;
}

int nbdctl_daemon_call(const struct nbdctl_options *opts, const char *name,
		       const char *request, int timeout,
		       int (*fn)(void *opaque, const char *line), void *opaque)
{
	char err[1024];

	if (control_call("nbd-clientd", opts->socket, request, timeout, fn, opaque, err,
			 sizeof(err)) == CONTROL_OK)
		return 0;
	fprintf(stderr, "nbdctl %s: %s\n", name, err);
	return 1;
}

void nbdctl_print_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static const struct nbdctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	if (!strcmp(name, "server")) {
		if (&nbdctl_server_command)
			return &nbdctl_server_command;
		fprintf(stderr, "nbdctl: this build has no server commands\n");
		return NULL;
	}
	fprintf(stderr, "nbdctl: unknown command '%s' (see nbdctl --help)\n", name);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct nbdctl_options opts = { .socket = CONTROL_DEFAULT_SOCKET };
	const struct nbdctl_command *cmd;
	int c, first;

	/* A peer that hangs up is an error to report, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	/* '+': options after the command's name belong to the command. */
	while ((c = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opts.socket = optarg;
			break;
		case 'h':
			help(stdout);
			return 0;
		case 'V':
			printf("nbdctl %s\n", CNBD_VERSION);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		help(stderr);
		return 2;
	}
	first = optind;
	cmd = find_command(argv[first]);
	if (!cmd)
		return 2;
	/* Each command parses its own options from a fresh start (0 makes
	 * GNU getopt reinitialise). */
	optind = 0;
	return cmd->run(argc - first, argv + first, &opts);
}
