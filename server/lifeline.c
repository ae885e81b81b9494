/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "lifeline.h"
#include "common/log.h"

int lifeline_create(struct lifeline *l)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_error("pipe: %s", strerror(errno));
		return -1;
	}
	l->rd = fds[0];
	l->wr = fds[1];
	return 0;
}

static void *watch(void *arg)
{
	int fd = (int)(long)arg;
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	log_info("the master is gone: ending this connection");
	_exit(1);
}

int lifeline_watch(const struct lifeline *l)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* It only waits: a small stack is plenty. */
	pthread_attr_setstacksize(&attr, 64 * 1024);
	rc = pthread_create(&t, &attr, watch, (void *)(long)l->rd);
	pthread_attr_destroy(&attr);
	if (rc) {
		log_error("cannot watch the master: %s", strerror(rc));
		return -1;
	}
	return 0;
}
