/* SPDX-License-Identifier: MIT */
/*
 * hostile: a test-only backend that plays a compromised worker. It is a
 * RAM disk, but a WRITE at offset 0 whose data starts with "HOSTILE:"
 * makes the worker attack what is around it, from inside, with the
 * worker's own privileges: what code execution in a worker could do.
 * tests/interop/server_hostile_worker.py checks that each attack fails
 * or costs only the attacking worker. Never installed.
 *
 *   [evil]
 *   backend = hostile
 *   size = 1M            ; default 1M, at least 8K
 *
 * Commands (the bytes after "HOSTILE:", up to '\n' or the write's end):
 *   fork               fork(); the child names itself "hostile-child",
 *                      keeps the client socket and sleeps 30 s
 *   kill:PID           kill(PID, SIGKILL): another client's worker
 *   execve[:PATH]      execve("/bin/sh", "-c", "touch PATH"); PATH
 *                      defaults to /tmp/hostile-exec
 *   open-shadow        open("/etc/shadow") and read from it
 *   open-path:PATH     open(PATH) and read from it: another export's file
 *   flood-master       100000 monitor requests (lease requests the master
 *                      refuses, and questions about exports) to each
 *                      AF_UNIX SOCK_SEQPACKET socket among fds 3..64: the
 *                      worker's monitor socket
 *   mmap-exec          an anonymous mapping with PROT_EXEC
 *   ask:lease:NAME     a lease on another export (a tls = require one)
 *   ask:sign           a signature with the server's private key
 *   ask:psk:IDENTITY   a PSK's key
 *   stats:inflate      its statistics page (held since the backend was
 *                      loaded, as code in the worker could) made to say
 *                      10^15 more reads, consistently: histogram too
 *   stats:down         every counter of the page set back to 0
 *   stats:garbage      every word of the page set to all ones
 *   stats:stuck        the page's sequence count left odd (being written)
 *
 * The outcome is one line of text at offset 4096 (RESULT_OFFSET), NUL
 * padded to RESULT_SIZE bytes, for the client to READ back: "fork: 0
 * child 1234" when an attack worked, "fork: -1 EPERM" when it failed.
 * No line (or no connection) means the worker died trying. Not parallel
 * and not nonblocking: one attack at a time, on an executor thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cnbd/backend.h"
/* A test double of a compromised worker speaks the worker's own
 * protocol to the master: what an attacker would read off the binary. */
#include "../server/monitor.h"
#include "../server/stats.h"
#include "../server/worker_spawn.h"

#define DEFAULT_SIZE	(1LL << 20)
#define RESULT_OFFSET	4096
#define RESULT_SIZE	256
#define MAGIC		"HOSTILE:"
#define FLOOD_COUNT	100000

struct hostile {
	int fd;
	char *map;
	int64_t size;
};

/* The worker's statistics page: descriptor WORKER_FD_STATS while the
 * backends are loaded (the worker maps and closes it after). Code in a
 * worker can take whatever the worker holds: this is that code. In the
 * master, which loads backends too, that descriptor is something else. */
static int stats_fd = -1;

__attribute__((constructor))
static void take_stats_page(void)
{
	char path[64], link[64] = "";

	snprintf(path, sizeof(path), "/proc/self/fd/%d", WORKER_FD_STATS);
	if (readlink(path, link, sizeof(link) - 1) > 0 &&
	    !strncmp(link, "/memfd:cnbd-stats", 17))
		stats_fd = dup(WORKER_FD_STATS);
}

/* "-1 EACCES" for the last failure. */
static void fail_text(char *out, size_t len, const char *what)
{
	const char *name = strerrorname_np(errno);

	snprintf(out, len, "%s: -1 %s", what, name ? name : "?");
}

static void attack_fork(char *out, size_t len)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* The worker's copy: the client socket and the storage,
		 * outside anything the master counts. */
		prctl(PR_SET_NAME, "hostile-child", 0, 0, 0);
		sleep(30);
		_exit(0);
	}
	if (pid < 0) {
		fail_text(out, len, "fork");
		return;
	}
	snprintf(out, len, "fork: 0 child %d", (int)pid);
}

static void attack_kill(const char *arg, char *out, size_t len)
{
	pid_t pid = (pid_t)atoi(arg);

	if (pid <= 1) {
		snprintf(out, len, "kill: bad pid '%.32s'", arg);
		return;
	}
	if (kill(pid, SIGKILL) < 0) {
		fail_text(out, len, "kill");
		return;
	}
	snprintf(out, len, "kill: 0 pid %d", (int)pid);
}

static void attack_execve(const char *arg, char *out, size_t len)
{
	char cmd[256];
	char *argv[] = { "sh", "-c", cmd, NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };

	snprintf(cmd, sizeof(cmd), "touch '%.200s'", *arg ? arg : "/tmp/hostile-exec");
	execve("/bin/sh", argv, envp);
	fail_text(out, len, "execve");
}

static void attack_open(const char *what, const char *path, char *out, size_t len)
{
	char data[17] = { 0 };
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fail_text(out, len, what);
		return;
	}
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	for (ssize_t i = 0; i < n; i++)
		if (data[i] < 0x20 || data[i] > 0x7e)
			data[i] = '.';
	snprintf(out, len, "%s: 0 read %zd bytes '%s'", what, n, n > 0 ? data : "");
}

/* The worker's way to its master: an AF_UNIX SOCK_SEQPACKET socketpair
 * (server/lease.h); the client's socket is TCP or an AF_UNIX stream.
 * Found with fstat and getsockopt only, which a sandboxed worker keeps. */
static bool master_socket(int fd)
{
	struct stat st;
	int domain, type;
	socklen_t dl = sizeof(domain), tl = sizeof(type);

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) < 0 || domain != AF_UNIX)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return false;
	return type == SOCK_SEQPACKET;
}

/* A request the master must look at: every other one a lease on an
 * export that is full or unknown (refused, each refusal a log line the
 * master must bound), the rest questions about exports. */
static void flood_message(long n, struct mon_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->type = n & 1 ? MON_LEASE : MON_FIND;
	rq->generation = (uint64_t)n;
	snprintf(rq->name, sizeof(rq->name), n & 2 ? "evil" : "hostile-%ld", n);
}

/* At most 2 s per socket: the point is the master's work, not ours. */
static long flood_one(int fd)
{
	static struct mon_request msg;
	struct timespec start, now;
	long sent = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (sent < FLOOD_COUNT) {
		flood_message(sent, &msg);
		if (send(fd, &msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(msg)) {
			sent++;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= 2)
			break;
		poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, 10);
	}
	return sent;
}

static void attack_flood(char *out, size_t len)
{
	size_t used;
	int targets = 0;

	used = (size_t)snprintf(out, len, "flood-master:");
	for (int fd = 3; fd <= 64 && used < len; fd++) {
		if (!master_socket(fd))
			continue;
		targets++;
		used += (size_t)snprintf(out + used, len - used, " fd %d sent %ld", fd,
					 flood_one(fd));
	}
	if (!targets && used < len)
		snprintf(out + used, len - used, " no socket found");
}

static void attack_mmap_exec(char *out, size_t len)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		fail_text(out, len, "mmap-exec");
		return;
	}
	munmap(p, 4096);
	snprintf(out, len, "mmap-exec: 0 mapped");
}

static int monitor_fd(void)
{
	for (int fd = 3; fd <= 64; fd++)
		if (master_socket(fd))
			return fd;
	return -1;
}

static struct mon_reply r;

/* One request to the master and its answer (in r), as a worker would ask. */
static void ask_master(struct mon_request *rq, char *out, size_t len, const char *what)
{
	int fds[MON_FDS_MAX];
	size_t nfds = MON_FDS_MAX;
	int fd = monitor_fd();

	if (fd < 0 || monitor_call(fd, rq, &r, fds, &nfds) < 0) {
		snprintf(out, len, "%s: no answer", what);
		return;
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (r.status)
		snprintf(out, len, "%s: refused (%d): %.128s", what, r.status, r.why);
	else
		snprintf(out, len, "%s: 0 granted, %zu descriptors, %u bytes", what, nfds, r.len);
}

/* ask:lease:NAME, ask:sign, ask:psk:IDENTITY: what a worker compromised
 * by a plaintext client would ask for (another export, a tls = require
 * one, a signature with the server's key, a PSK). */
static void attack_ask(const char *what, char *out, size_t len)
{
	static struct mon_request rq;

	memset(&rq, 0, sizeof(rq));
	if (!strncmp(what, "lease:", 6)) {
		rq.type = MON_FIND;
		snprintf(rq.name, sizeof(rq.name), "%.63s", what + 6);
		ask_master(&rq, out, len, what);	/* its generation */
		rq.type = MON_LEASE;
		rq.generation = r.exp.generation;
		ask_master(&rq, out, len, what);
	} else if (!strcmp(what, "sign")) {
		rq.type = MON_SIGN;
		rq.len = 32;
		ask_master(&rq, out, len, what);
	} else if (!strncmp(what, "psk:", 4)) {
		rq.type = MON_PSK;
		rq.len = (uint32_t)strnlen(what + 4, 64);
		memcpy(rq.data, what + 4, rq.len);
		ask_master(&rq, out, len, what);
	} else {
		snprintf(out, len, "ask: unknown question '%.64s'", what);
	}
}

/* stats:inflate, stats:down, stats:garbage, stats:stuck: lies in its
 * own statistics page, which is all of the statistics it can reach. */
static void attack_stats(const char *what, char *out, size_t len)
{
	struct stats_page *p = stats_fd >= 0 ?
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, stats_fd, 0) : MAP_FAILED;

	if (p == MAP_FAILED) {
		fail_text(out, len, what);
		return;
	}
	__atomic_fetch_add(&p->seq, 1, __ATOMIC_SEQ_CST);
	if (!strcmp(what, "inflate")) {
		p->c.cmd[STATS_READ].requests += 1000000000000000ULL;
		p->c.cmd[STATS_READ].latency[3] += 1000000000000000ULL;
		p->c.cmd[STATS_READ].bytes += 4096ULL * 1000000000000000ULL;
	} else if (!strcmp(what, "down")) {
		memset(&p->c, 0, sizeof(p->c));
	} else if (!strcmp(what, "garbage")) {
		memset(&p->c, 0xff, sizeof(p->c));
	}
	if (strcmp(what, "stuck"))
		__atomic_fetch_add(&p->seq, 1, __ATOMIC_SEQ_CST);
	munmap(p, 4096);
	snprintf(out, len, "stats:%.64s: 0 written", what);
}

static void attack(struct hostile *h, const char *cmd)
{
	char out[RESULT_SIZE] = { 0 };

	if (!strcmp(cmd, "fork"))
		attack_fork(out, sizeof(out));
	else if (!strncmp(cmd, "kill:", 5))
		attack_kill(cmd + 5, out, sizeof(out));
	else if (!strcmp(cmd, "execve") || !strncmp(cmd, "execve:", 7))
		attack_execve(cmd[6] ? cmd + 7 : "", out, sizeof(out));
	else if (!strcmp(cmd, "open-shadow"))
		attack_open("open-shadow", "/etc/shadow", out, sizeof(out));
	else if (!strncmp(cmd, "open-path:", 10))
		attack_open("open-path", cmd + 10, out, sizeof(out));
	else if (!strcmp(cmd, "flood-master"))
		attack_flood(out, sizeof(out));
	else if (!strcmp(cmd, "mmap-exec"))
		attack_mmap_exec(out, sizeof(out));
	else if (!strncmp(cmd, "ask:", 4))
		attack_ask(cmd + 4, out, sizeof(out));
	else if (!strncmp(cmd, "stats:", 6))
		attack_stats(cmd + 6, out, sizeof(out));
	else
		snprintf(out, sizeof(out), "unknown command '%.64s'", cmd);
	memcpy(h->map + RESULT_OFFSET, out, sizeof(out));
}

static void hostile_close_export(void *handle)
{
	struct hostile *h = handle;

	if (h->map)
		munmap(h->map, h->size);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

static void *hostile_open_export(const struct cnbd_param *params, size_t n)
{
	struct hostile *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->fd = -1;
	h->size = DEFAULT_SIZE;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(params[i].key, "size")) {
			h->size = cnbd_parse_size("hostile: size", params[i].value);
			if (h->size < RESULT_OFFSET + RESULT_SIZE) {
				cnbd_error("hostile: size must be at least 8K");
				errno = EINVAL;
				goto fail;
			}
		} else {
			cnbd_error("hostile: unknown parameter '%s' (known: size)", params[i].key);
			errno = EINVAL;
			goto fail;
		}
	}
	/* Shared like the memory backend's, so the outcome outlives the
	 * worker's connection. */
	h->fd = memfd_create("cnbd-hostile", MFD_CLOEXEC);
	if (h->fd < 0 || ftruncate(h->fd, h->size) < 0) {
		cnbd_error("hostile: cannot make a %lld-byte disk: %s",
			   (long long)h->size, strerror(errno));
		goto fail;
	}
	h->map = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->map == MAP_FAILED) {
		h->map = NULL;
		cnbd_error("hostile: cannot map the disk: %s", strerror(errno));
		goto fail;
	}
	return h;
fail:
	hostile_close_export(h);
	return NULL;
}

static int hostile_export_pack(void *handle, bool readonly, struct cnbd_pack *pack)
{
	struct hostile *h = handle;

	(void)readonly;
	if (cnbd_pack_fd(pack, h->fd) < 0)
		return -1;
	return cnbd_pack_bytes(pack, &h->size, sizeof(h->size));
}

/* Mapped here, before any attack: the map exists when the sandbox is
 * already on, as a real backend's would. */
static void *hostile_export_unpack(struct cnbd_pack *pack, bool readonly)
{
	struct hostile *h = calloc(1, sizeof(*h));

	(void)readonly;
	if (!h)
		return NULL;
	h->fd = cnbd_unpack_fd(pack);
	if (h->fd < 0 || cnbd_unpack_bytes(pack, &h->size, sizeof(h->size)) < 0)
		goto fail;
	h->map = mmap(NULL, h->size, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->map == MAP_FAILED) {
		h->map = NULL;
		goto fail;
	}
	return h;
fail:
	hostile_close_export(h);
	return NULL;
}

static int64_t hostile_get_size(void *conn)
{
	return ((struct hostile *)conn)->size;
}

static int hostile_pread(void *conn, void *buf, uint32_t count, uint64_t offset,
			 uint32_t flags)
{
	struct hostile *h = conn;

	(void)flags;
	memcpy(buf, h->map + offset, count);
	return 0;
}

static int hostile_pwrite(void *conn, const void *buf, uint32_t count,
			  uint64_t offset, uint32_t flags)
{
	struct hostile *h = conn;
	size_t magic = strlen(MAGIC);

	(void)flags;
	memcpy(h->map + offset, buf, count);
	if (offset == 0 && count > magic && !memcmp(buf, MAGIC, magic)) {
		char cmd[RESULT_SIZE];
		size_t n = count - magic < sizeof(cmd) - 1 ? count - magic : sizeof(cmd) - 1;

		memcpy(cmd, (const char *)buf + magic, n);
		cmd[n] = '\0';
		cmd[strcspn(cmd, "\n")] = '\0';
		attack(h, cmd);
	}
	return 0;
}

static int hostile_flush(void *conn, uint32_t flags)
{
	(void)conn;
	(void)flags;
	return 0;
}

static const struct cnbd_backend hostile = {
	CNBD_BACKEND_HEADER,
	.name = "hostile",
	.version = "1.0",
	.description = "a RAM disk whose worker attacks its surroundings on command (tests only)",
	.params_help = "size=SIZE   disk size (default 1M); WRITE \"HOSTILE:<attack>\" at 0",
	.open_export = hostile_open_export,
	.close_export = hostile_close_export,
	.export_pack = hostile_export_pack,
	.export_unpack = hostile_export_unpack,
	.get_size = hostile_get_size,
	.pread = hostile_pread,
	.pwrite = hostile_pwrite,
	.flush = hostile_flush,
};

CNBD_BACKEND_REGISTER(hostile)
