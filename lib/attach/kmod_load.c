/* SPDX-License-Identifier: MIT */
/*
 * Loading nbd with libkmod: kmod_module_probe_insert_module() is what
 * modprobe itself calls, so /etc/modprobe.d options (nbds_max, max_part)
 * and dependencies apply exactly as they would for modprobe.
 */
#include <errno.h>
#include <libkmod.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "attach/kmod_load.h"

static int probe(struct kmod_ctx *ctx, const char *module, char *err, size_t errlen)
{
	struct kmod_list *list = NULL, *l;
	struct utsname u;
	int rc;

	rc = kmod_module_new_from_lookup(ctx, module, &list);
	if (rc < 0 || !list) {
		uname(&u);
		snprintf(err, errlen,
			 "kernel module %s not found for kernel %s (is the kernel's modules package installed?)",
			 module, u.release);
		return -1;
	}
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		rc = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
		if (rc < 0)
			snprintf(err, errlen, "cannot load kernel module %s: %s",
				 kmod_module_get_name(mod), strerror(-rc));
		else if (rc > 0)
			snprintf(err, errlen, "kernel module %s is blacklisted",
				 kmod_module_get_name(mod));
		kmod_module_unref(mod);
		if (rc)
			break;
	}
	kmod_module_unref_list(list);
	return rc ? -1 : 0;
}

int kmod_load(const char *module, char *err, size_t errlen)
{
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);
	int rc;

	if (!ctx) {
		snprintf(err, errlen, "cannot initialise libkmod");
		return -1;
	}
	kmod_load_resources(ctx);
	rc = probe(ctx, module, err, errlen);
	kmod_unref(ctx);
	return rc;
}
