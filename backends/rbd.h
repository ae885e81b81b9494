/* SPDX-License-Identifier: MIT */
/*
 * rbd backend, internal: what the master prepares (struct rbd_export) and
 * what each worker connects with (struct rbd_conn).
 */
#ifndef CNBD_BACKEND_RBD_H
#define CNBD_BACKEND_RBD_H

#include <stdbool.h>
#include <stddef.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "cnbd/backend.h"

/* Made by open_export in the master, as root, before any fork. It holds
 * no cluster connection: librados starts threads, and a fork after that
 * would leave the child with a handle whose threads are gone. What the
 * worker will need from root-only files is read into memory here. */
struct rbd_export {
	char *pool;
	char *image;
	char *nspace;		/* NULL: the default namespace */
	char *snap;		/* NULL: the image head, writable */
	char *id;		/* client id without "client.", e.g. admin */
	char *conf_path;	/* for messages only */
	char *conf_text;	/* ceph.conf, as read by the master */
	size_t conf_len;
	char *keyring_path;	/* for messages only; NULL without a key */
	char *key;		/* the base64 secret; NULL: none (auth none) */
	unsigned timeout;	/* seconds to reach the monitors */
	unsigned osd_timeout;	/* seconds per OSD op; 0: wait for ever */
};

/* One per worker: the cluster connection and the open image. */
struct rbd_conn {
	struct rbd_export *exp;
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t image;
	bool readonly;		/* snapshot or read-only export */
};

/* rbd_params.c (master) */
struct rbd_export *rbd_export_new(const struct cnbd_param *params,
				  size_t nparams);
void rbd_export_free(struct rbd_export *exp);

/* rbd_keyring.c (master): the secret of entity (e.g. "client.admin")
 * in a keyring file's text, or the text itself when it is a bare key.
 * NULL when there is none; malloc'd otherwise. */
char *rbd_keyring_find(const char *text, const char *entity);

/* rbd_pack.c: the export handed from the master to a worker */
int rbd_export_pack(void *handle, bool readonly, struct cnbd_pack *pack);
void *rbd_export_unpack(struct cnbd_pack *pack, bool readonly);

/* rbd_connect.c (worker) */
int rbd_conn_open(struct rbd_conn *c);
void rbd_conn_close(struct rbd_conn *c);

/* rbd_extents.c (worker) */
int rbd_backend_extents(void *conn, uint32_t count, uint64_t offset,
			uint32_t flags, struct cnbd_extents *extents);

#endif /* CNBD_BACKEND_RBD_H */
