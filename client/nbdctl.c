/* SPDX-License-Identifier: MIT */
/*
 * nbdctl: the command line for cnbd. A dispatcher over a table of
 * commands; global options come before the command's name.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_client.h"
#include "common/control_text.h"
#include "nbdctl.h"
#include "nbdctl_json.h"

static const struct nbdctl_command *const commands[] = {
	&nbdctl_attach_command,
	&nbdctl_detach_command,
	&nbdctl_list_command,
	&nbdctl_wait_command,
	&nbdctl_reload_command,
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

char *nbdctl_escape(const char *s)
{
	char *out = malloc(4 * strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		const unsigned char *p = (const unsigned char *)s;
		size_t len = 1;
		int32_t c = *p < 0x80 ? *p : utf8_decode(p, &len);

		/* C0 and C1 controls, DEL, and bytes that are not UTF-8 (a
		 * lone 0x9b is CSI to a Latin-1 terminal). */
		if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == '\\') {
			for (size_t i = 0; i < len; i++)
				o += sprintf(o, "\\x%02x", p[i]);
		} else {
			memcpy(o, s, len);
			o += len;
		}
		s += len;
	}
	*o = '\0';
	return out;
}

void nbdctl_print_escaped(const char *s)
{
	char *e = nbdctl_escape(s);

	fputs(e ? e : "?", stdout);
	free(e);
}

int nbdctl_print_info(void *opaque, const char *line)
{
	char value[CONTROL_LINE_MAX];
	const char *eq = strchr(line, '=');

	(void)opaque;
	if (!eq || control_unescape(eq + 1, value, sizeof(value)) < 0)
		return 1;
	printf("%.*s: ", (int)(eq - line), line);
	nbdctl_print_escaped(value);
	putchar('\n');
	return 0;
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
