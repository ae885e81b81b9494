/* SPDX-License-Identifier: MIT */
/*
 * unit-sandbox: runs a program under what a systemd unit's settings would
 * impose, for tests that the daemons work under their own units without a
 * systemd to run them:
 *
 *   unit-sandbox [--keep-caps CAP,...] [--no-new-privs] [--deny SYSCALL]...
 *                [--families AF_UNIX,AF_INET,...] [--mdwe] [--umask MODE]
 *                -- PROGRAM ARG...
 *
 * --keep-caps: CapabilityBoundingSet= (every other capability leaves the
 * bounding set, so root's exec of PROGRAM gets only these); --deny:
 * SystemCallFilter=~ (each call fails with EPERM, as SystemCallErrorNumber=
 * EPERM says; names this architecture lacks are skipped); --families:
 * RestrictAddressFamilies= (socket(2) of any other family fails with
 * EAFNOSUPPORT, as systemd's filter does); --mdwe: MemoryDenyWriteExecute=
 * (systemd's rules: no mapping both writable and executable, no mprotect
 * or pkey_mprotect to executable, no shmat with SHM_EXEC). The test
 * expands the unit's groups (systemd-analyze syscall-filter) and passes
 * the names.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cap-ng.h>
#include <seccomp.h>

#define MAX_DENY	512

static void die(const char *what)
{
	perror(what);
	exit(125);
}

static void keep_caps(const char *list)
{
	char *copy = strdup(list);
	bool keep[CAP_LAST_CAP + 1] = { false };

	for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		/* libcap-ng's names lack the CAP_ prefix and are lower case. */
		char name[64];
		int v;

		snprintf(name, sizeof(name), "%s", strncmp(w, "CAP_", 4) ? w : w + 4);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		v = capng_name_to_capability(name);
		if (v < 0 || v > CAP_LAST_CAP) {
			fprintf(stderr, "unit-sandbox: unknown capability %s\n", w);
			exit(125);
		}
		keep[v] = true;
	}
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!keep[c] && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			die("PR_CAPBSET_DROP");
	free(copy);
}

static int family(const char *name)
{
	static const struct { const char *name; int af; } known[] = {
		{ "AF_UNIX", AF_UNIX }, { "AF_INET", AF_INET }, { "AF_INET6", AF_INET6 },
		{ "AF_NETLINK", AF_NETLINK }, { "AF_PACKET", AF_PACKET },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i].name, name))
			return known[i].af;
	fprintf(stderr, "unit-sandbox: unknown address family %s\n", name);
	exit(125);
}

static void restrict_families(scmp_filter_ctx ctx, const char *list)
{
	bool allowed[AF_MAX] = { false };
	char *copy = strdup(list);

	for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
		allowed[family(w)] = true;
	for (int af = 0; af < AF_MAX; af++)
		if (!allowed[af] &&
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, af)) < 0)
			die("seccomp_rule_add socket");
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_GE, AF_MAX)) < 0)
		die("seccomp_rule_add socket");
	free(copy);
}

static void deny_write_execute(scmp_filter_ctx ctx)
{
	const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);

	if (seccomp_rule_add(ctx, eperm, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE,
				     PROT_EXEC | PROT_WRITE)) < 0 ||
	    seccomp_rule_add(ctx, eperm, SCMP_SYS(mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) < 0 ||
	    seccomp_rule_add(ctx, eperm, SCMP_SYS(pkey_mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) < 0 ||
	    seccomp_rule_add(ctx, eperm, SCMP_SYS(shmat), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC)) < 0)
		die("seccomp_rule_add (write-execute)");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keep-caps", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, 'n' },
		{ "deny", required_argument, NULL, 'd' },
		{ "families", required_argument, NULL, 'f' },
		{ "mdwe", no_argument, NULL, 'm' },
		{ "umask", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	const char *deny[MAX_DENY], *families = NULL;
	size_t ndeny = 0;
	bool mdwe = false;
	scmp_filter_ctx ctx;
	int c;

	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': keep_caps(optarg); break;
		case 'n':
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
				die("PR_SET_NO_NEW_PRIVS");
			break;
		case 'd':
			if (ndeny == MAX_DENY)
				return 125;
			deny[ndeny++] = optarg;
			break;
		case 'f': families = optarg; break;
		case 'm': mdwe = true; break;
		case 'u': umask(strtoul(optarg, NULL, 8)); break;
		default:
			fprintf(stderr, "usage: unit-sandbox [OPTION]... -- PROGRAM ARG...\n");
			return 125;
		}
	}
	if (optind >= argc)
		return 125;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		die("seccomp_init");
	for (size_t i = 0; i < ndeny; i++) {
		int nr = seccomp_syscall_resolve_name(deny[i]);

		if (nr != __NR_SCMP_ERROR &&
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) < 0)
			die(deny[i]);
	}
	if (families)
		restrict_families(ctx, families);
	if (mdwe)
		deny_write_execute(ctx);
	/* Without no_new_privs the kernel wants CAP_SYS_ADMIN for a filter:
	 * libseccomp sets it unless told not to, as systemd does. */
	if (seccomp_load(ctx) < 0)
		die("seccomp_load");
	seccomp_release(ctx);
	execvp(argv[optind], argv + optind);
	die(argv[optind]);
}
