/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "backend/backend_load.h"
#include "backend/backend_lookup.h"
#include "backend/stack.h"
#include "export_open.h"
#include "export_stack.h"
#include "common/log.h"

static int open_storage(struct export_config *ec, const char *backend_dir,
			bool require_root_owned, char *err, size_t errlen);

/* Where cnbd_backend_lookup() loads from while an export is opened:
 * the directory of that export's own backend, with the same checks. */
struct lookup_ctx {
	const char *dir;
	bool require_root_owned;
};

static const struct cnbd_backend *resolve_in_dir(void *ctx, const char *name,
						 char *err, size_t errlen)
{
	const struct lookup_ctx *l = ctx;

	return backend_load(l->dir, name, l->require_root_owned, err, errlen);
}

struct description {
	int err;		/* 0, or the errno of what failed */
	int step;		/* 0: open_conn, 1: get_size */
	uint64_t size;
	uint16_t flags;
};

/* Opens a connection of the export, learns its size and flags, closes it. */
static void probe(const struct cnbd_export *e, struct description *d)
{
	const struct cnbd_backend *be = e->backend;
	void *conn = be->open_conn ? be->open_conn(e->handle, e->readonly) : e->handle;
	int64_t size;

	memset(d, 0, sizeof(*d));
	if (!conn) {
		d->err = errno ? errno : EIO;
		return;
	}
	size = be->get_size(conn);
	if (size < 0) {
		d->err = errno ? errno : EIO;
		d->step = 1;
	} else {
		d->size = size;
		d->flags = cnbd_export_flags(e, conn);
	}
	if (be->open_conn && be->close_conn)
		be->close_conn(conn);
}

/* A backend that reaches its storage over the network starts threads
 * and connections as it opens one (librados): that happens in a child
 * that ends at once, not in the master, which forks workers. */
static void probe_in_child(const struct cnbd_export *e, struct description *d)
{
	int fds[2], status;
	pid_t pid;

	memset(d, 0, sizeof(*d));
	d->err = EIO;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		probe(e, d);
		_exit(write(fds[1], d, sizeof(*d)) == sizeof(*d) ? 0 : 1);
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], d, sizeof(*d)) != sizeof(*d))
		d->err = EIO;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
}

/* What LIST and INFO say of the export before a worker holds it: its
 * size and flags through a connection opened and closed at once. When
 * that fails the export still serves (a worker opens its own connection
 * at GO, and says why it cannot); INFO says it cannot describe it. */
static void describe(struct export_config *ec)
{
	struct cnbd_export *e = &ec->exp;
	struct description d;
	char where[512];

	if (e->backend->flags & CNBD_BACKEND_NEEDS_NETWORK)
		probe_in_child(e, &d);
	else
		probe(e, &d);
	e->size = d.size;
	e->flags = d.flags;	/* 0: not described */
	if (!d.err)
		return;
	config_where(ec, where, sizeof(where));
	log_warn("%sexport '%s': backend '%s' cannot %s: %s: INFO cannot describe it until a reload",
		 where, e->name, ec->backend_name,
		 d.step ? "tell its size" : "open a connection", strerror(d.err));
}

/* A worker is a fresh program: it can serve an export only if the
 * backend can hand it over. */
static int check_handover(struct export_config *ec, char *err, size_t errlen)
{
	const struct cnbd_backend *be = ec->exp.backend;
	char where[512];

	if (!be->open_export || (be->export_pack && be->export_unpack))
		return 0;
	config_where(ec, where, sizeof(where));
	snprintf(err, errlen,
		 "%sexport '%s': backend '%s' keeps export state but cannot hand it to a worker (no export_pack/export_unpack, backend ABI 1.2): rebuild it against this cnbd/backend.h",
		 where, ec->exp.name, ec->backend_name);
	return -1;
}

int export_open(struct export_config *ec, const char *backend_dir,
		bool require_root_owned, char *err, size_t errlen)
{
	struct lookup_ctx lookup = { backend_dir, require_root_owned };

	backend_lookup_set(resolve_in_dir, &lookup);
	int rc = open_storage(ec, backend_dir, require_root_owned, err, errlen);

	backend_lookup_set(NULL, NULL);
	if (rc < 0)
		return -1;
	if (check_handover(ec, err, errlen) < 0) {
		export_close(ec);
		return -1;
	}
	describe(ec);
	return 0;
}

static int open_storage(struct export_config *ec, const char *backend_dir,
			bool require_root_owned, char *err, size_t errlen)
{
	struct cnbd_export *e = &ec->exp;
	char why[1024], where[512];
	int stacked;

	config_where(ec, where, sizeof(where));
	e->backend = backend_load(backend_dir, ec->backend_name,
				  require_root_owned, why, sizeof(why));
	if (!e->backend) {
		snprintf(err, errlen, "%sexport '%s': %s", where, e->name, why);
		return -1;
	}
	stacked = export_open_stack(ec, e->backend, backend_dir, require_root_owned,
				    why, sizeof(why));
	if (stacked < 0) {
		snprintf(err, errlen, "%sexport '%s': %s", where, e->name, why);
		return -1;
	}
	if (stacked) {
		log_debug("export '%s': stack %s opened", e->name, e->backend->name);
		return 0;
	}
	if (!e->backend->open_export) {
		/* A backend without export-level state serves with a NULL
		 * handle, and has nowhere to take parameters. */
		if (!ec->nparams)
			return 0;
		snprintf(err, errlen, "%sexport '%s': backend '%s' takes no parameters (got '%s')",
			 where, e->name, ec->backend_name, ec->params[0].key);
		return -1;
	}
	errno = 0;
	log_clear_last_error();
	e->handle = e->backend->open_export(ec->params, ec->nparams);
	if (!e->handle) {
		/* The backend's own reason (cnbd_error) beats a bare errno:
		 * it also reaches nbdctl through the control socket. */
		const char *reason = log_last_error();

		snprintf(err, errlen, "%sexport '%s': backend '%s' cannot open it: %s",
			 where, e->name, ec->backend_name,
			 reason[0] ? reason : errno ? strerror(errno) : "failed");
		return -1;
	}
	log_debug("export '%s': backend '%s' opened", e->name, ec->backend_name);
	return 0;
}

void export_close(struct export_config *ec)
{
	struct cnbd_export *e = &ec->exp;

	bool stacked = e->handle && stack_of(e->backend, e->handle);

	if (e->handle && e->backend->close_export)
		e->backend->close_export(e->handle);
	e->handle = NULL;
	if (stacked)
		e->backend = NULL;	/* the stack's ops went with it */
}

int export_open_all(struct server_config *cfg, bool require_root_owned,
		    char *err, size_t errlen)
{
	for (size_t i = 0; i < cfg->nexports; i++) {
		if (export_open(&cfg->exports[i], cfg->backend_dir, require_root_owned,
				err, errlen) < 0) {
			export_close_all(cfg);
			return -1;
		}
	}
	return 0;
}

void export_close_all(struct server_config *cfg)
{
	for (size_t i = 0; i < cfg->nexports; i++)
		export_close(&cfg->exports[i]);
}

void export_close_list(struct export_list *t)
{
	for (size_t i = 0; i < t->n; i++)
		export_close(&t->v[i]->def);
}
