/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <unistd.h>

#include "stats.h"
#include "worker_stats.h"

static struct stats_page *page;
/* Request threads answer at once; the page has one writer at a time. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int worker_stats_attach(int fd)
{
	page = stats_page_attach(fd);
	close(fd);
	return page ? 0 : -1;
}

static void request_done(void *ctx, uint16_t type, uint32_t count, uint32_t nbd_error,
			 uint64_t ns)
{
	(void)ctx;
	pthread_mutex_lock(&lock);
	stats_page_record(page, type, count, nbd_error, ns);
	pthread_mutex_unlock(&lock);
}

void worker_stats_hooks(struct cnbd_serve_hooks *hooks)
{
	if (page)
		hooks->request_done = request_done;
}
