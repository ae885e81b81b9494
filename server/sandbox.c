/* SPDX-License-Identifier: MIT */
/*
 * The worker's seccomp filter. An allow-list: whatever is not named here
 * traps (SIGSYS), so a new libc or kernel syscall fails closed. Each
 * conditional rule says why the condition is enough; docs/server.md
 * ("The worker's sandbox") gives the list in prose.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <malloc.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

/* Served from descriptors the worker already holds; none of these names
 * a path, a process or a new socket. */
static const int allowed[] = {
	/* data */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(sendfile), SCMP_SYS(splice),
	SCMP_SYS(lseek), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(fallocate),
	SCMP_SYS(fadvise64), SCMP_SYS(fstat), SCMP_SYS(close),
	/* sockets it was given (SCM_RIGHTS arrives through recvmsg) */
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
	SCMP_SYS(shutdown), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	/* waiting */
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	/* memory (mmap and mprotect: see add_memory) */
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(brk),
	/* threads */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	/* signals (rt_sigaction: see add_conditional) */
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(rt_sigtimedwait),
	/* time */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	/* who am I */
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getresuid), SCMP_SYS(getresgid),
	/* the end */
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	SCMP_SYS(getrandom),
};

/* fcntl commands: descriptor and status flags only. Not F_SETOWN or
 * F_SETSIG, which would aim SIGIO at another process. */
static const int fcntl_cmds[] = {
	F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC,
};

/* ioctl requests the backends make in a worker: the file backend's on a
 * block device (size, sector size, discard, zero-out). */
static const unsigned long ioctl_cmds[] = {
	BLKGETSIZE64, BLKSSZGET, BLKDISCARD, BLKZEROOUT,
};

/* Flags that would make a clone more than a thread of this process. */
#define CLONE_NOT_A_THREAD \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
	 CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_PARENT | CLONE_VFORK)

static int report_fd = -1;
static int reported;

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	struct sandbox_report r = {
		.magic = SANDBOX_REPORT_MAGIC,
		.syscall_nr = si->si_syscall,
		.arch = si->si_arch,
	};
	static const struct timespec forever = { 3600, 0 };

	(void)sig;
	(void)uctx;
	/* One report per process: a second thread trapping meanwhile waits
	 * for the first one's exit to end it. */
	if (__atomic_exchange_n(&reported, 1, __ATOMIC_SEQ_CST)) {
		for (;;)
			nanosleep(&forever, NULL);
	}
	if (report_fd >= 0) {
		ssize_t n = write(report_fd, &r, sizeof(r));

		(void)n;	/* nothing more to do if the master is gone */
	}
	_exit(SANDBOX_EXIT_CODE);
}

static int install_handler(int fd)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	/* No other handler runs on top of the report. */
	sigfillset(&sa.sa_mask);
	report_fd = fd;
	return sigaction(SIGSYS, &sa, NULL);
}

static int add_list(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* glibc's fstat is newfstatat(fd, "", st, AT_EMPTY_PATH). The path is a
 * pointer seccomp cannot read, so the rule pins what it can: exactly
 * that flag, and a real descriptor (not AT_FDCWD). A non-empty path
 * would still be looked up, but only under a directory descriptor the
 * worker holds (it holds none), and stat reveals no contents. */
static int add_fstatat(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 2,
				SCMP_A0(SCMP_CMP_LT, 0x80000000u),
				SCMP_A3(SCMP_CMP_EQ, AT_EMPTY_PATH));
}

/* Threads yes (executors, the lifeline watch), processes no: a clone
 * must share the thread group. clone3 passes its flags in memory that
 * seccomp cannot read: it says ENOSYS, and glibc falls back to clone. */
static int add_clone(scmp_filter_ctx ctx)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				  SCMP_A0(SCMP_CMP_MASKED_EQ,
					  CLONE_THREAD | CLONE_NOT_A_THREAD, CLONE_THREAD));

	if (rc < 0)
		return rc;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

/* No page turns executable once serving began: what the worker runs
 * was mapped before (the binary, libraries, backends dlopened by then).
 * A backend that maps code later declares SANDBOX_NEEDS_EXEC_MAP. */
static int add_memory(scmp_filter_ctx ctx, unsigned needs)
{
	int rc;

	if (needs & SANDBOX_NEEDS_EXEC_MAP) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 0);
		if (rc < 0)
			return rc;
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 0);
	}
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc < 0)
		return rc;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
}

/* Signals to itself only (raise, abort, pthread_kill: tgkill on its own
 * thread group). tkill names a bare thread id, which may be another
 * process's: not allowed. The SIGSYS handler stays ours, or a trap
 * could be made to return. */
static int add_signals(scmp_filter_ctx ctx)
{
	scmp_datum_t self = (scmp_datum_t)getpid();
	int rc;

	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
			      SCMP_A0(SCMP_CMP_EQ, self));
	if (rc < 0)
		return rc;
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
			      SCMP_A0(SCMP_CMP_EQ, self));
	if (rc < 0)
		return rc;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
				SCMP_A0(SCMP_CMP_NE, SIGSYS));
}

static int add_each(scmp_filter_ctx ctx, int nr, unsigned arg,
		    const unsigned long *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct scmp_arg_cmp cmp = {
			.arg = arg, .op = SCMP_CMP_EQ, .datum_a = values[i],
		};
		int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Calls allowed with some arguments only. */
static int add_conditional(scmp_filter_ctx ctx)
{
	/* Its own limits only (pid 0): sandbox_limit_processes, getrlimit.
	 * Raising a hard limit needs a capability the worker dropped. */
	static const unsigned long self[] = { 0 };
	static const unsigned long names[] = { PR_SET_NAME, PR_GET_NAME };
	unsigned long cmds[sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0])];
	int rc;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		cmds[i] = (unsigned long)fcntl_cmds[i];
	rc = add_each(ctx, SCMP_SYS(fcntl), 1, cmds, sizeof(cmds) / sizeof(cmds[0]));
	if (rc == 0)
		rc = add_each(ctx, SCMP_SYS(ioctl), 1, ioctl_cmds,
			      sizeof(ioctl_cmds) / sizeof(ioctl_cmds[0]));
	/* isatty() (stdio; a sanitizer's report asks before its first
	 * line): "not a terminal". */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_EQ, TCGETS));
	if (rc == 0)
		rc = add_each(ctx, SCMP_SYS(prlimit64), 0, self, 1);

	if (rc == 0)
		rc = add_each(ctx, SCMP_SYS(prctl), 0, names, 2);
	return rc;
}

/* A client of a remote cluster: TCP over IPv4 or IPv6, nothing local
 * (no AF_UNIX, no netlink), and no listening. */
static int add_network(scmp_filter_ctx ctx)
{
	static const unsigned long domains[] = { AF_INET, AF_INET6 };
	static const int calls[] = {
		SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(getsockname),
		SCMP_SYS(getpeername), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg),
	};
	/* What librados does as it connects, each seen trapping in
	 * tests/interop/rbd_interop.sh: its own event loop and wake-up
	 * pipes, the host name, its configuration copied into a memfd and
	 * read back by path. Files only for reading: no O_CREAT, O_TRUNC
	 * or write access. */
	static const int cluster_client[] = {
		SCMP_SYS(uname), SCMP_SYS(pipe2), SCMP_SYS(epoll_create),
		SCMP_SYS(memfd_create),
	};
	int rc = add_each(ctx, SCMP_SYS(socket), 0, domains, 2);

	for (size_t i = 0; rc == 0 && i < sizeof(calls) / sizeof(calls[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	for (size_t i = 0; rc == 0 && i < sizeof(cluster_client) / sizeof(cluster_client[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, cluster_client[i], 0);
	const unsigned long writing = O_ACCMODE | O_CREAT | O_TRUNC |
				      (O_TMPFILE & ~O_DIRECTORY);

	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, writing, O_RDONLY));
	/* It names its threads by writing /proc/self/task/TID/comm and
	 * carries on when it cannot: any open for writing fails (EACCES)
	 * instead of ending the worker. */
	for (unsigned long acc = O_WRONLY; rc == 0 && acc <= O_RDWR; acc++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, acc));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT));
	return rc;
}

/* What glibc would otherwise read from files on first use, inside the
 * sandbox, where open traps (each was seen killing a sandboxed engine):
 * - malloc counts the CPUs (reading /sys/devices/system/cpu/online)
 *   when it makes its ninth arena, which a busy engine's executors
 *   reach: a fixed arena limit (glibc's default, 8 per CPU) skips that;
 * - a thread arena's heap shrinking after a large free reads
 *   /proc/sys/vm/overcommit_memory once: a trim threshold no heap
 *   reaches (a thread heap is at most 64 MiB) means no heap shrinks.
 *   A fixed trim threshold also fixes glibc's mmap threshold at 128
 *   KiB, so every larger request buffer (a 1 MiB read under TLS or
 *   from a layer, a 1 MiB write) would be a fresh mapping whose pages
 *   fault and are cleared on each request (docs/performance.md): the
 *   threshold is raised to glibc's maximum (32 MiB, the largest request
 *   a client is told of), and the heaps keep the connection's peak of
 *   request buffers, as they keep the rest;
 * - the time zone, read on the first localtime (syslog's time stamp). */
#define REQUEST_BUFFER_HEAP_MAX	(32 << 20)	/* glibc's largest mmap threshold */

static void settle_lazy_files(void)
{
	mallopt(M_ARENA_MAX, 8 * get_nprocs());
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	mallopt(M_MMAP_THRESHOLD, REQUEST_BUFFER_HEAP_MAX);
	tzset();
}

/* The rules, compiled by libseccomp and exported as the BPF program
 * the kernel loads. */
int sandbox_program(unsigned needs, void *buf, size_t max, size_t *len)
{
	scmp_filter_ctx ctx;
	ssize_t n;
	int rc, fd = -1;

	if (needs & ~(SANDBOX_NEEDS_NETWORK | SANDBOX_NEEDS_EXEC_MAP)) {
		errno = EINVAL;
		return -1;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		errno = ENOMEM;
		return -1;
	}
	/* A syscall of another ABI (int 0x80) traps and is reported like
	 * any other. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	if (rc == 0)
		rc = add_list(ctx);
	if (rc == 0)
		rc = add_fstatat(ctx);
	if (rc == 0)
		rc = add_clone(ctx);
	if (rc == 0)
		rc = add_memory(ctx, needs);
	if (rc == 0)
		rc = add_signals(ctx);
	if (rc == 0)
		rc = add_conditional(ctx);
	if (rc == 0 && (needs & SANDBOX_NEEDS_NETWORK))
		rc = add_network(ctx);
	/* libseccomp 2.5 exports to a descriptor only. */
	if (rc == 0 && (fd = memfd_create("cnbd-sandbox", MFD_CLOEXEC)) < 0)
		rc = -errno;
	if (rc == 0)
		rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc == 0) {
		n = pread(fd, buf, max, 0);
		if (n < 0 || (size_t)n == max || n % sizeof(struct sock_filter))
			rc = n < 0 ? -errno : -EMSGSIZE;
		else
			*len = (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

int sandbox_enter_program(const void *prog, size_t len, int fd)
{
	struct sock_fprog fprog = {
		.len = (unsigned short)(len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)prog,
	};
	struct sigaction old;

	if (!len || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		errno = EINVAL;
		return -1;
	}
	settle_lazy_files();
	/* Without no_new_privs an unprivileged process may not load one. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	if (sigaction(SIGSYS, NULL, &old) < 0 || install_handler(fd) < 0)
		return -1;
	/* Every thread, the ones started before too (the lifeline). */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0) {
		int e = errno;

		sigaction(SIGSYS, &old, NULL);
		errno = e > 0 ? e : ESRCH;	/* > 0: a thread it could not sync */
		return -1;
	}
	return 0;
}

int sandbox_enter(unsigned needs, int fd)
{
	static unsigned char prog[SANDBOX_PROGRAM_MAX];
	size_t len;

	if (sandbox_program(needs, prog, sizeof(prog), &len) < 0)
		return -1;
	return sandbox_enter_program(prog, len, fd);
}

int sandbox_limit_processes(void)
{
	const struct rlimit none = { 0, 0 };

	return setrlimit(RLIMIT_NPROC, &none);
}

int sandbox_read_report(int fd, struct sandbox_report *r)
{
	ssize_t n;

	do
		n = recv(fd, r, sizeof(*r), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ENOTSOCK) {
		do
			n = read(fd, r, sizeof(*r));
		while (n < 0 && errno == EINTR);
	}
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	return n == sizeof(*r) && r->magic == SANDBOX_REPORT_MAGIC;
}

char *sandbox_syscall_name(uint32_t arch, int nr)
{
	char *name = seccomp_syscall_resolve_num_arch(arch ? arch : SCMP_ARCH_NATIVE, nr);

	if (!name && asprintf(&name, "syscall %d", nr) < 0)
		return NULL;
	return name;
}
