/* SPDX-License-Identifier: MIT */
/*
 * The parent waits on a pipe until the child is ready, so that the exit
 * status of "nbd-serverd" tells an init script whether the server runs,
 * and the pid file exists by the time the parent is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "common/log.h"

int pidfile_write(const char *path)
{
	char buf[32];
	int fd, len;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_error("pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, len) != len) {
		log_error("pidfile %s: cannot write it", path);
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

void pidfile_remove(const char *path)
{
	if (path)
		unlink(path);
}

__attribute__((noreturn))
static void wait_for_child(int rfd)
{
	char ok;

	_exit(read(rfd, &ok, 1) == 1 ? 0 : 1);
}

static int detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (int i = 0; i <= 2; i++)
		if (dup2(fd, i) < 0)
			return -1;
	if (fd > 2)
		close(fd);
	return 0;
}

int daemonize(const char *pidfile)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_error("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		wait_for_child(p[0]);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") < 0 || detach_stdio() < 0) {
		log_error("cannot detach: %s", strerror(errno));
		_exit(1);
	}
	log_init("nbd-serverd", true, log_debug_enabled());
	if (pidfile && pidfile_write(pidfile) < 0)
		_exit(1);
	if (write(p[1], "", 1) != 1)
		log_warn("cannot tell the starting process that the server is ready");
	close(p[1]);
	return 0;
}
