/* SPDX-License-Identifier: MIT */
/*
 * The worker's sandbox: a seccomp allow-list (libseccomp) that leaves a
 * worker only what serving one connection needs, and RLIMIT_NPROC 0.
 * Anything else traps: the SIGSYS handler sandbox_enter installs writes
 * one struct sandbox_report to report_fd and ends the process with
 * SANDBOX_EXIT_CODE. docs/server.md ("The worker's sandbox") lists what
 * is allowed and why.
 */
#ifndef CNBD_SERVER_SANDBOX_H
#define CNBD_SERVER_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

/* What a worker may need beyond serving from descriptors it was given
 * (a bit set for sandbox_enter's needs): */
/* socket (AF_INET, AF_INET6), connect, bind, getsockname, getpeername,
 * sendmmsg/recvmmsg: a backend that talks to a cluster from the worker
 * (rbd). Never listen or accept. */
#define SANDBOX_NEEDS_NETWORK	(1U << 0)
/* mmap/mprotect with PROT_EXEC: a backend whose library maps code after
 * the worker started serving (a JIT, a lazily dlopened plugin). Without
 * it, no page becomes executable once the sandbox is on. */
#define SANDBOX_NEEDS_EXEC_MAP	(1U << 1)

/* The worker's exit status after a violation: 128 + SIGSYS, what a shell
 * shows for a process that seccomp killed, and no status a worker uses
 * otherwise (0, 1, 2). The master tells it from a real signal death by
 * WIFEXITED. */
#define SANDBOX_EXIT_CODE	159

#define SANDBOX_REPORT_MAGIC	0x53424f58u	/* "SBOX" */

/* Written once, with one write(2), by the SIGSYS handler. */
struct sandbox_report {
	uint32_t magic;		/* SANDBOX_REPORT_MAGIC */
	int32_t syscall_nr;	/* siginfo's si_syscall */
	uint32_t arch;		/* si_arch: an AUDIT_ARCH_* (= SCMP_ARCH_*) */
};

/* In a worker, after the privilege drop and before the first byte from
 * the network. Installs the SIGSYS handler, then the filter on every
 * thread of the process (TSYNC). report_fd (may be -1) must stay open;
 * a SOCK_SEQPACKET or SOCK_DGRAM socket keeps the record whole. 0, or
 * -1 with errno (nothing is half installed: on error no filter is). */
int sandbox_enter(unsigned needs, int report_fd);

/* The same in two steps, so that the filter is compiled once (by the
 * master) and only loaded by each worker: the BPF program for needs into
 * buf (at most SANDBOX_PROGRAM_MAX bytes), 0 or -1 with errno; then, in
 * the worker, load it with the SIGSYS handler as sandbox_enter does. */
#define SANDBOX_PROGRAM_MAX	16384
int sandbox_program(unsigned needs, void *buf, size_t max, size_t *len);
int sandbox_enter_program(const void *prog, size_t len, int report_fd);

/* RLIMIT_NPROC 0, soft and hard. For an unprivileged uid the kernel then
 * refuses every new task, threads included (pthread_create returns
 * EAGAIN): call it after the last thread was created. For uid 0 (or
 * CAP_SYS_RESOURCE/CAP_SYS_ADMIN) the kernel ignores the limit. Allowed
 * inside the sandbox. 0, or -1 with errno. */
int sandbox_limit_processes(void);

/* In the master, on report_fd's other end: 1 with a report in r, 0 when
 * there is none (end of file, would block, or bytes that are not a
 * report), -1 with errno on a read error. */
int sandbox_read_report(int fd, struct sandbox_report *r);

/* The syscall's name ("fork", "openat", ...) for the log, or "syscall N"
 * when libseccomp does not know it; malloc'd, the caller frees it; NULL
 * only without memory. arch 0 means this process's own. */
char *sandbox_syscall_name(uint32_t arch, int nr);

#endif
