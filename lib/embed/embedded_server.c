/* SPDX-License-Identifier: MIT */
/*
 * The embeddable server object (cnbd/server.h): listeners, the export
 * table and one thread per connection, all around cnbd_serve_connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cnbd/server.h"
#include "embed/embedded_exports.h"
#include "common/listen.h"
#include "common/log.h"
#include "common/peer.h"

struct connection {
	int fd;
	struct cnbd_server *srv;
	struct connection *next;
};

struct cnbd_server {
	struct export_table exports;
	struct listener *listeners;
	size_t nlisteners;
	int stop_pipe[2];		/* cnbd_server_stop() writes here */
	pthread_mutex_t lock;		/* guards connections */
	pthread_cond_t idle;		/* signalled when one ends */
	struct connection *connections;
};

struct cnbd_server *cnbd_server_new(void)
{
	struct cnbd_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	if (pipe2(srv->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(srv);
		return NULL;
	}
	export_table_init(&srv->exports);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	return srv;
}

int cnbd_server_listen(struct cnbd_server *srv, const char *address)
{
	char err[256];

	if (listen_open(address, 0666, &srv->listeners, &srv->nlisteners,
			err, sizeof(err)) < 0) {
		log_error("%s", err);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int cnbd_server_add_export(struct cnbd_server *srv, const char *name,
			   const struct cnbd_backend *ops, void *handle,
			   const struct cnbd_export_options *opts)
{
	return export_table_add(&srv->exports, name, ops, handle, opts);
}

int cnbd_server_remove_export(struct cnbd_server *srv, const char *name)
{
	return export_table_remove(&srv->exports, name);
}

void cnbd_server_list_exports(struct cnbd_server *srv,
			      void (*fn)(void *arg, const struct cnbd_export_status *st),
			      void *arg)
{
	export_table_list(&srv->exports, fn, arg);
}

int cnbd_server_handle(struct cnbd_server *srv, int fd)
{
	struct export_pins pins = { .table = &srv->exports };
	struct cnbd_serve_hooks hooks = export_table_hooks;
	char peer[PEER_NAME_MAX];
	/* Threads share one log prefix, so each line names its peer. */
	struct cnbd_serve_options opts = { .handshake_timeout = 30, .peer = peer };
	int rc;

	peer_name(fd, peer, sizeof(peer));
	hooks.ctx = &pins;
	rc = cnbd_serve_connection(fd, &hooks, &opts);
	export_pins_release(&pins);
	return rc;
}

static void connection_forget(struct cnbd_server *srv, struct connection *c)
{
	pthread_mutex_lock(&srv->lock);
	for (struct connection **p = &srv->connections; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
	free(c);
}

static void *connection_thread(void *arg)
{
	struct connection *c = arg;

	cnbd_server_handle(c->srv, c->fd);
	connection_forget(c->srv, c);
	return NULL;
}

static void start_connection(struct cnbd_server *srv, int fd)
{
	struct connection *c = calloc(1, sizeof(*c));
	pthread_attr_t attr;
	pthread_t tid;

	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->srv = srv;
	pthread_mutex_lock(&srv->lock);
	c->next = srv->connections;
	srv->connections = c;
	pthread_mutex_unlock(&srv->lock);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, connection_thread, c)) {
		log_error("cannot start a connection thread");
		close(fd);
		connection_forget(srv, c);
	}
	pthread_attr_destroy(&attr);
}

int cnbd_server_run(struct cnbd_server *srv)
{
	size_t n = srv->nlisteners;
	struct pollfd *pfd = calloc(n + 1, sizeof(*pfd));

	if (!pfd || !n) {
		free(pfd);
		errno = n ? ENOMEM : EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = srv->listeners[i].fd, .events = POLLIN };
	pfd[n] = (struct pollfd){ .fd = srv->stop_pipe[0], .events = POLLIN };
	while (!(pfd[n].revents & POLLIN)) {
		if (poll(pfd, n + 1, -1) < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			int fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				start_connection(srv, fd);
		}
	}
	free(pfd);
	return 0;
}

void cnbd_server_stop(struct cnbd_server *srv)
{
	ssize_t rc = write(srv->stop_pipe[1], "x", 1);

	(void)rc;	/* a full pipe already says stop */
}

void cnbd_server_free(struct cnbd_server *srv)
{
	if (!srv)
		return;
	listen_close_all(srv->listeners, srv->nlisteners, true);
	listen_free(srv->listeners, srv->nlisteners);	/* and their paths */
	pthread_mutex_lock(&srv->lock);
	for (struct connection *c = srv->connections; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	while (srv->connections)
		pthread_cond_wait(&srv->idle, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	export_table_destroy(&srv->exports);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	close(srv->stop_pipe[0]);
	close(srv->stop_pipe[1]);
	free(srv);
}
