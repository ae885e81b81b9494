/* SPDX-License-Identifier: MIT */
/*
 * server/sandbox.c in forked children: each child drops to nobody when
 * the test runs as root (as a worker would), enters the sandbox and
 * tries one thing. A forbidden thing must end it with SANDBOX_EXIT_CODE
 * and one report naming the syscall; an allowed one must work. The
 * child reports its own failures on stderr and by its exit status: a
 * cmocka assertion there would unwind into the child's copy of the
 * test runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cnbd/protocol.h"
#include "engine_harness.h"
#include "sandbox.h"

#define NOBODY		65534
#define SETUP_FAILED	100	/* the child could not even enter */

/* ---- running a child ----------------------------------------------- */

struct child {
	unsigned needs;
	/* Before sandbox_enter, after the drop; nonzero fails the child. */
	int (*pre)(struct child *c);
	/* In the sandbox; its result is the exit status. */
	int (*fn)(struct child *c);
	pid_t sibling;		/* another process of the same uid */
	int chan[2];		/* parent <-> child, when a case wants one */
	int tmp_fd;		/* a file opened before the sandbox */
	void *data;
	/* Filled by run(). */
	int status;
	bool have_report;
	struct sandbox_report report;
};

static void say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line))
		n = sizeof(line);
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere to say it */
	}
}

#define CHILD_CHECK(cond) do { \
	if (!(cond)) { \
		say("child: check failed at line %d: %s (errno %d %s)\n", \
		    __LINE__, #cond, errno, strerror(errno)); \
		return 1; \
	} \
} while (0)

static void drop_to_nobody(void)
{
	if (geteuid() != 0)
		return;
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		_exit(SETUP_FAILED);
}

static void run(struct child *c)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		drop_to_nobody();
		if (c->pre && c->pre(c) != 0)
			_exit(SETUP_FAILED);
		if (sandbox_enter(c->needs, sv[1]) < 0) {
			say("sandbox_enter: %s\n", strerror(errno));
			_exit(SETUP_FAILED);
		}
		_exit(c->fn(c));
	}
	close(sv[1]);
	if (c->chan[0] > 0) {
		close(c->chan[1]);
		c->chan[1] = -1;
	}
	while (waitpid(pid, &c->status, 0) < 0)
		assert_int_equal(errno, EINTR);
	c->have_report = sandbox_read_report(sv[0], &c->report) == 1;
	close(sv[0]);
}

static void expect_trap(struct child *c, const char *syscall)
{
	char *name;

	assert_true(WIFEXITED(c->status));
	assert_int_equal(WEXITSTATUS(c->status), SANDBOX_EXIT_CODE);
	assert_true(c->have_report);
	assert_int_equal(c->report.magic, SANDBOX_REPORT_MAGIC);
	name = sandbox_syscall_name(c->report.arch, c->report.syscall_nr);
	assert_non_null(name);
	assert_string_equal(name, syscall);
	free(name);
}

static void expect_ok(struct child *c)
{
	if (c->have_report) {
		char *name = sandbox_syscall_name(c->report.arch, c->report.syscall_nr);

		print_error("unexpected trap on %s\n", name);
		free(name);
	}
	assert_false(c->have_report);
	assert_true(WIFEXITED(c->status));
	assert_int_equal(WEXITSTATUS(c->status), 0);
}

/* A process of the same (dropped) uid, waiting to be killed by us. */
static pid_t start_sibling(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		drop_to_nobody();
		for (;;)
			pause();
	}
	return pid;
}

static void check_sibling_alive_and_end(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	assert_int_equal(kill(pid, 0), 0);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* ---- forbidden ------------------------------------------------------ */

static int do_fork(struct child *c)
{
	(void)c;
	if (fork() == 0)
		_exit(0);	/* must never run: the worker's copy would escape */
	return 2;
}

static int do_fork_syscall(struct child *c)
{
	(void)c;
	if (syscall(SYS_fork) == 0)
		_exit(0);
	return 2;
}

static int do_vfork_syscall(struct child *c)
{
	(void)c;
	if (syscall(SYS_vfork) == 0)
		_exit(0);
	return 2;
}

static int do_execve(struct child *c)
{
	char *argv[] = { "true", NULL };
	char *envp[] = { NULL };

	(void)c;
	execve("/bin/true", argv, envp);
	return 2;
}

static int do_kill(struct child *c)
{
	kill(c->sibling, SIGTERM);
	return 2;
}

static int do_tgkill_other(struct child *c)
{
	syscall(SYS_tgkill, c->sibling, c->sibling, SIGTERM);
	return 2;
}

static int do_tkill(struct child *c)
{
	syscall(SYS_tkill, c->sibling, SIGTERM);
	return 2;
}

static int do_ptrace(struct child *c)
{
	ptrace(PTRACE_ATTACH, c->sibling, NULL, NULL);
	return 2;
}

static int do_open(struct child *c)
{
	(void)c;
	open("/etc/passwd", O_RDONLY);
	return 2;
}

static int do_stat_path(struct child *c)
{
	struct stat st;

	(void)c;
	stat("/etc/passwd", &st);
	return 2;
}

static int do_socket(struct child *c)
{
	(void)c;
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 2;
}

static int do_mmap_exec(struct child *c)
{
	(void)c;
	mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 2;
}

static int do_mprotect_exec(struct child *c)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)c;
	CHILD_CHECK(p != MAP_FAILED);
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 2;
}

static int do_sigsys_handler(struct child *c)
{
	(void)c;
	/* Replacing the handler would let a trapped call return. */
	signal(SIGSYS, SIG_IGN);
	return 2;
}

static int do_ftruncate(struct child *c)
{
	if (ftruncate(c->tmp_fd, 0) < 0)
		return 3;
	return 2;
}

static int do_fcntl_setown(struct child *c)
{
	fcntl(c->tmp_fd, F_SETOWN, c->sibling);
	return 2;
}

static int do_raise_nproc_limit(struct child *c)
{
	/* Another process's limits are out of reach. */
	const struct rlimit lots = { 1000, 1000 };

	prlimit(c->sibling, RLIMIT_NPROC, &lots, NULL);
	return 2;
}

static int open_tmp(struct child *c)
{
	char path[] = "/tmp/cnbd-sandbox.XXXXXX";

	c->tmp_fd = mkstemp(path);
	if (c->tmp_fd < 0)
		return 1;
	unlink(path);
	return 0;
}

struct forbidden_case {
	const char *what;
	int (*fn)(struct child *c);
	const char *syscall;
	bool sibling;
};

static const struct forbidden_case forbidden[] = {
	{ "fork()", do_fork, "clone", false },
	{ "syscall(SYS_fork)", do_fork_syscall, "fork", false },
	{ "syscall(SYS_vfork)", do_vfork_syscall, "vfork", false },
	{ "execve", do_execve, "execve", false },
	{ "kill another", do_kill, "kill", true },
	{ "tgkill another", do_tgkill_other, "tgkill", true },
	{ "tkill", do_tkill, "tkill", true },
	{ "ptrace attach", do_ptrace, "ptrace", true },
	{ "open", do_open, "openat", false },
	{ "stat a path", do_stat_path, "newfstatat", false },
	{ "socket", do_socket, "socket", false },
	{ "mmap PROT_EXEC", do_mmap_exec, "mmap", false },
	{ "mprotect PROT_EXEC", do_mprotect_exec, "mprotect", false },
	{ "SIGSYS handler", do_sigsys_handler, "rt_sigaction", false },
	{ "ftruncate", do_ftruncate, "ftruncate", false },
	{ "F_SETOWN", do_fcntl_setown, "fcntl", true },
	{ "prlimit of another", do_raise_nproc_limit, "prlimit64", true },
};

static void test_forbidden(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		const struct forbidden_case *f = &forbidden[i];
		struct child c = { .fn = f->fn, .pre = open_tmp, .sibling = -1 };

		print_message("forbidden: %s -> %s\n", f->what, f->syscall);
		if (f->sibling)
			c.sibling = start_sibling();
		run(&c);
		expect_trap(&c, f->syscall);
		if (f->sibling)
			check_sibling_alive_and_end(c.sibling);
	}
}

/* Threads started before sandbox_enter are filtered too (TSYNC). */
static void *thread_opens(void *arg)
{
	int *go = arg;

	while (!__atomic_load_n(go, __ATOMIC_SEQ_CST))
		usleep(1000);
	open("/etc/passwd", O_RDONLY);
	return NULL;
}

static int go_flag;

static int start_thread_before(struct child *c)
{
	pthread_t t;

	(void)c;
	return pthread_create(&t, NULL, thread_opens, &go_flag);
}

static int let_thread_open(struct child *c)
{
	(void)c;
	__atomic_store_n(&go_flag, 1, __ATOMIC_SEQ_CST);
	sleep(10);
	return 2;
}

static void test_earlier_thread_filtered(void **state)
{
	struct child c = { .pre = start_thread_before, .fn = let_thread_open };

	(void)state;
	run(&c);
	expect_trap(&c, "openat");
}

/* ---- allowed -------------------------------------------------------- */

static void *thread_work(void *arg)
{
	size_t n = (size_t)arg;
	char *big = malloc(n << 20);	/* an mmap'd chunk; a new arena */

	if (!big)
		return (void *)1;
	memset(big, (int)n, n << 20);
	free(big);
	return NULL;
}

static int threads_join(struct child *c)
{
	pthread_t t[8];
	void *rv;

	(void)c;
	for (size_t i = 0; i < 8; i++)
		CHILD_CHECK(pthread_create(&t[i], NULL, thread_work, (void *)(i + 1)) == 0);
	for (size_t i = 0; i < 8; i++) {
		CHILD_CHECK(pthread_join(t[i], &rv) == 0);
		CHILD_CHECK(rv == NULL);
	}
	/* clone3 answers ENOSYS (glibc falls back to clone) */
	CHILD_CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	return 0;
}

static void test_threads(void **state)
{
	struct child c = { .fn = threads_join };

	(void)state;
	run(&c);
	expect_ok(&c);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* What the engine and the file and memory backends do while serving. */
static int engine_like_calls(struct child *c)
{
	static const struct timespec ms = { 0, 1000000 };
	char buf[4096], back[4096];
	struct iovec iov[2];
	struct stat st;
	struct timespec now;
	int sv[2] = { c->chan[0], c->chan[1] };
	int fl, one = 1;
	off_t off = 0;
	void *p;

	memset(buf, 'x', sizeof(buf));
	CHILD_CHECK(pwrite(c->tmp_fd, buf, sizeof(buf), 8192) == sizeof(buf));
	CHILD_CHECK(pread(c->tmp_fd, back, sizeof(back), 8192) == sizeof(back));
	CHILD_CHECK(!memcmp(buf, back, sizeof(buf)));
	iov[0] = (struct iovec){ buf, 100 };
	iov[1] = (struct iovec){ buf + 100, 100 };
	CHILD_CHECK(pwritev2(c->tmp_fd, iov, 2, 0, RWF_DSYNC) == 200);
	CHILD_CHECK(preadv2(c->tmp_fd, iov, 2, 0, 0) == 200);
	CHILD_CHECK(fstat(c->tmp_fd, &st) == 0 && st.st_size == 12288);
	CHILD_CHECK(lseek(c->tmp_fd, 0, SEEK_DATA) == 0);
	CHILD_CHECK(fallocate(c->tmp_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      8192, 4096) == 0);
	CHILD_CHECK(fdatasync(c->tmp_fd) == 0 && fsync(c->tmp_fd) == 0);
	CHILD_CHECK(posix_fadvise(c->tmp_fd, 0, 4096, POSIX_FADV_WILLNEED) == 0);
	/* the socket side: sendmsg, writev, sendfile, poll, options */
	CHILD_CHECK(setsockopt(sv[1], SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == 0);
	CHILD_CHECK((fl = fcntl(sv[1], F_GETFL)) >= 0);
	CHILD_CHECK(fcntl(sv[1], F_SETFL, fl | O_NONBLOCK) == 0);
	CHILD_CHECK(fcntl(sv[1], F_SETFL, fl) == 0);
	CHILD_CHECK(send(sv[1], "ping", 4, MSG_NOSIGNAL | MSG_MORE) == 4);
	CHILD_CHECK(writev(sv[1], iov, 1) == 100);
	CHILD_CHECK(sendfile(sv[1], c->tmp_fd, &off, 50) == 50);
	struct pollfd pfd = { .fd = sv[1], .events = POLLOUT };
	CHILD_CHECK(poll(&pfd, 1, 1000) == 1);
	/* signals to itself, time, names, memory */
	CHILD_CHECK(signal(SIGUSR1, on_usr1) != SIG_ERR);
	CHILD_CHECK(raise(SIGUSR1) == 0 && got_usr1);
	CHILD_CHECK(kill(getpid(), 0) == 0);
	CHILD_CHECK(clock_gettime(CLOCK_MONOTONIC, &now) == 0);
	CHILD_CHECK(nanosleep(&ms, NULL) == 0);
	CHILD_CHECK(getrandom(buf, 16, 0) == 16);
	CHILD_CHECK(prctl(PR_SET_NAME, "cnbd-worker", 0, 0, 0) == 0);
	p = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(p != MAP_FAILED);
	CHILD_CHECK(mprotect(p, 1 << 20, PROT_READ | PROT_WRITE) == 0);
	CHILD_CHECK(madvise(p, 1 << 20, MADV_DONTNEED) == 0);
	CHILD_CHECK(munmap(p, 1 << 20) == 0);
	CHILD_CHECK(shutdown(sv[1], SHUT_WR) == 0);
	CHILD_CHECK(close(c->tmp_fd) == 0);
	return 0;
}

static void test_engine_like_calls(void **state)
{
	struct child c = { .pre = open_tmp, .fn = engine_like_calls };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c.chan), 0);
	run(&c);
	expect_ok(&c);
	close(c.chan[0]);
}

/* A descriptor arrives over SCM_RIGHTS (the lease socket's way). */
static int receive_fd(struct child *c)
{
	char byte, data[6] = { 0 };
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *cm;
	int fd;

	CHILD_CHECK(recvmsg(c->chan[1], &m, MSG_CMSG_CLOEXEC) == 1);
	cm = CMSG_FIRSTHDR(&m);
	CHILD_CHECK(cm && cm->cmsg_type == SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	CHILD_CHECK(pread(fd, data, 5, 0) == 5);
	CHILD_CHECK(!strcmp(data, "hello"));
	CHILD_CHECK(send(c->chan[1], "ok", 2, 0) == 2);
	return 0;
}

static void test_scm_rights(void **state)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'f', answer[2] = { 0 };
	struct iovec iov = { &byte, 1 };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};
	struct child c = { .fn = receive_fd };
	struct cmsghdr *cm;
	int fd = memfd_create("sandbox-test", MFD_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "hello", 5, 0), 5);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, c.chan), 0);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	/* Sent before the child starts: it receives it inside the sandbox. */
	assert_int_equal(sendmsg(c.chan[0], &m, 0), 1);
	run(&c);
	expect_ok(&c);
	assert_int_equal(recv(c.chan[0], answer, 2, 0), 2);
	assert_memory_equal(answer, "ok", 2);
	close(c.chan[0]);
	close(fd);
}

/* The real engine (libcnbd's cnbd_serve_connection, in a thread that
 * was started before the sandbox) serves a client inside it: handshake,
 * GO, writes, reads, flush; its executor threads start inside. */
struct engine_world {
	struct harness h;
	struct tdisk disk;
	struct engine e;
};

static int engine_pre(struct child *c)
{
	struct engine_world *w = calloc(1, sizeof(*w));

	if (!w)
		return 1;
	tdisk_init(&w->disk, 1 << 20);
	harness_init(&w->h);
	harness_add(&w->h, "disk", NULL, &tdisk_full, &w->disk);
	engine_start(&w->e, &w->h, 0);
	c->data = w;
	return 0;
}

static int engine_serve(struct child *c)
{
	struct engine_world *w = c->data;
	struct export_info info;
	char buf[65536], back[65536];
	int fd = w->e.client_fd;

	cli_go(fd, "disk", &info);
	CHILD_CHECK(info.size == 1 << 20);
	for (int i = 0; i < 16; i++) {
		memset(buf, 'a' + i, sizeof(buf));
		CHILD_CHECK(cli_cmd(fd, 0, NBD_CMD_WRITE, i * sizeof(buf), sizeof(buf),
				    buf, NULL) == 0);
	}
	CHILD_CHECK(cli_cmd(fd, 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL) == 0);
	CHILD_CHECK(cli_cmd(fd, 0, NBD_CMD_READ, 3 * sizeof(buf), sizeof(back),
			    NULL, back) == 0);
	memset(buf, 'a' + 3, sizeof(buf));
	CHILD_CHECK(!memcmp(buf, back, sizeof(buf)));
	CHILD_CHECK(cli_cmd(fd, 0, NBD_CMD_TRIM, 0, 4096, NULL, NULL) == 0);
	cli_request(fd, 0, NBD_CMD_DISC, 0, 0, 0, NULL);
	CHILD_CHECK(engine_wait(&w->e, 5000) == 0);
	engine_stop(&w->e);
	return 0;
}

static void test_real_engine(void **state)
{
	struct child c = { .pre = engine_pre, .fn = engine_serve };

	(void)state;
	run(&c);
	expect_ok(&c);
}

/* SANDBOX_NEEDS_NETWORK: TCP sockets, and still nothing local. */
static int network_ok(struct child *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)c;
	CHILD_CHECK(fd >= 0);
	close(fd);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	CHILD_CHECK(fd >= 0 || errno == EAFNOSUPPORT);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int network_unix(struct child *c)
{
	(void)c;
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 2;
}

static void test_network_needs(void **state)
{
	struct child ok = { .needs = SANDBOX_NEEDS_NETWORK, .fn = network_ok };
	struct child local = { .needs = SANDBOX_NEEDS_NETWORK, .fn = network_unix };
	struct child exec = { .needs = SANDBOX_NEEDS_EXEC_MAP, .fn = do_mmap_exec };

	(void)state;
	run(&ok);
	expect_ok(&ok);
	run(&local);
	expect_trap(&local, "socket");
	/* do_mmap_exec returns 2 after a mapping that worked */
	run(&exec);
	assert_false(exec.have_report);
	assert_true(WIFEXITED(exec.status) && WEXITSTATUS(exec.status) == 2);
}

/* ---- RLIMIT_NPROC 0 ------------------------------------------------- */

static void *idle(void *arg)
{
	return arg;
}

/* Threads made before the limit go on; no thread and no process after
 * it. The kernel counts tasks per uid, threads included, against the
 * limit of the caller. */
static int nproc_limit(struct child *c)
{
	pthread_t before, after;
	void *rv;
	int rc;

	(void)c;
	CHILD_CHECK(pthread_create(&before, NULL, idle, (void *)7) == 0);
	CHILD_CHECK(sandbox_limit_processes() == 0);
	rc = pthread_create(&after, NULL, idle, NULL);
	if (getuid() == 0) {
		/* root is exempt: the drop must come first */
		CHILD_CHECK(rc == 0);
		pthread_join(after, NULL);
	} else {
		CHILD_CHECK(rc == EAGAIN);
	}
	CHILD_CHECK(pthread_join(before, &rv) == 0 && rv == (void *)7);
	return 0;
}

static void test_nproc_in_sandbox(void **state)
{
	struct child c = { .fn = nproc_limit };

	(void)state;
	run(&c);
	expect_ok(&c);
}

/* Without any filter, the limit alone refuses fork and threads. */
static void test_nproc_alone(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		pid_t p;

		drop_to_nobody();
		if (sandbox_limit_processes() < 0)
			_exit(3);
		p = fork();
		if (p == 0)
			_exit(0);
		if (p > 0 || errno != EAGAIN)
			_exit(4);
		if (pthread_create(&t, NULL, idle, NULL) != EAGAIN)
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the master's side ---------------------------------------------- */

static void test_read_report(void **state)
{
	struct sandbox_report r = { .magic = SANDBOX_REPORT_MAGIC, .syscall_nr = SYS_execve };
	struct sandbox_report got;
	int sv[2];
	char *name;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(sandbox_read_report(sv[0], &got), 0);	/* nothing yet */
	assert_int_equal(write(sv[1], "junk", 4), 4);
	assert_int_equal(sandbox_read_report(sv[0], &got), 0);	/* not a report */
	assert_int_equal(write(sv[1], &r, sizeof(r)), sizeof(r));
	assert_int_equal(sandbox_read_report(sv[0], &got), 1);
	assert_int_equal(got.syscall_nr, SYS_execve);
	name = sandbox_syscall_name(0, got.syscall_nr);
	assert_string_equal(name, "execve");
	free(name);
	name = sandbox_syscall_name(0, 99999);
	assert_string_equal(name, "syscall 99999");
	free(name);
	close(sv[1]);
	assert_int_equal(sandbox_read_report(sv[0], &got), 0);	/* end of file */
	close(sv[0]);
	errno = 0;
	assert_int_equal(sandbox_enter(1U << 30, -1), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_earlier_thread_filtered),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_engine_like_calls),
		cmocka_unit_test(test_scm_rights),
		cmocka_unit_test(test_real_engine),
		cmocka_unit_test(test_network_needs),
		cmocka_unit_test(test_nproc_in_sandbox),
		cmocka_unit_test(test_nproc_alone),
		cmocka_unit_test(test_read_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
