/* SPDX-License-Identifier: MIT */
#ifndef CNBD_BACKEND_ID_H
#define CNBD_BACKEND_ID_H

/* The identifier the kernel is given for a device of this URI: the URI,
 * or its digest when the kernel could not show it whole (backend_id.c).
 * malloc'd; NULL when out of memory. */
#define BACKEND_ID_MAX	4000
char *backend_id(const char *uri);

#endif
