/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker_list.h"

int worker_list_add(struct worker_list *l, pid_t pid, int fd)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct worker *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct worker){ .pid = pid, .fd = fd, .sandbox_syscall = -1 };
	return 0;
}

struct worker *worker_list_get(const struct worker_list *l, pid_t pid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].pid == pid)
			return &l->v[i];
	return NULL;
}

void worker_list_remove(struct worker_list *l, pid_t pid)
{
	struct worker *w = worker_list_get(l, pid);

	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->lease);
	acl_peer_free(&w->peer);
	worker_stats_free(w->stats);
	*w = l->v[--l->n];
}

unsigned worker_list_leases(const struct worker_list *l, const char *name)
{
	unsigned n = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].lease && !strcmp(l->v[i].lease, name))
			n++;
	return n;
}

void worker_list_free(struct worker_list *l)
{
	while (l->n)
		worker_list_remove(l, l->v[0].pid);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
