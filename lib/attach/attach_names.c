/* SPDX-License-Identifier: MIT */
/*
 * The devices this process's attachments hold. A device named in the
 * options is held from the start; a free one is chosen, and held, under
 * the same lock, so two attachments of one process never choose the same
 * device (sysfs still calls it free until the first of them is bound).
 * Other processes are told apart by the kernel: a device someone serves
 * is not free (sysfs_nbd.c).
 */
#include <stdio.h>
#include <string.h>

#include "attach/supervisor_priv.h"
#include "attach/sysfs_nbd.h"

static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cnbd_attach *attachments;

/* Called with names_lock held; a's own name is its to change only. */
static bool held_locked(const char *name, const struct cnbd_attach *self)
{
	bool held = false;

	for (struct cnbd_attach *a = attachments; a && !held; a = a->next) {
		if (a == self)
			continue;
		pthread_mutex_lock(&a->lock);
		held = !strcmp(a->name, name);
		pthread_mutex_unlock(&a->lock);
	}
	return held;
}

static bool held(const char *name)
{
	return held_locked(name, NULL);
}

static void set_name(struct cnbd_attach *a, const char *name)
{
	pthread_mutex_lock(&a->lock);
	snprintf(a->name, sizeof(a->name), "%s", name);
	pthread_mutex_unlock(&a->lock);
}

int names_add(struct cnbd_attach *a)
{
	int rc = -1;

	pthread_mutex_lock(&names_lock);
	if (!a->name[0] || !held_locked(a->name, a)) {
		a->next = attachments;
		attachments = a;
		rc = 0;
	}
	pthread_mutex_unlock(&names_lock);
	return rc;
}

void names_remove(struct cnbd_attach *a)
{
	pthread_mutex_lock(&names_lock);
	for (struct cnbd_attach **p = &attachments; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	pthread_mutex_unlock(&names_lock);
}

void names_choose(struct cnbd_attach *a)
{
	char name[32] = "";

	pthread_mutex_lock(&names_lock);
	if (nbd_first_free(name, sizeof(name), held) < 0)
		name[0] = '\0';
	set_name(a, name);
	pthread_mutex_unlock(&names_lock);
}

bool names_take(struct cnbd_attach *a, const char *name)
{
	bool clash;

	pthread_mutex_lock(&names_lock);
	clash = held_locked(name, a);
	if (!clash)
		set_name(a, name);
	pthread_mutex_unlock(&names_lock);
	return !clash;
}

void names_forget(struct cnbd_attach *a)
{
	set_name(a, "");
}
