/* SPDX-License-Identifier: MIT */
/*
 * The drop is done by libcap-ng and then checked by reading the state
 * back from the kernel: a drop that silently did less than asked (an
 * old kernel, a seccomp filter, a libcap-ng change) must stop the
 * worker, not let it serve as root.
 */
#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"
#include "privdrop.h"

int privdrop_resolve(const char *user, bool user_given, const char *fallback,
		     struct privdrop_target *t, char *err, size_t errlen)
{
	struct passwd *pw;

	memset(t, 0, sizeof(*t));
	if (geteuid() != 0)
		return 0;
	errno = 0;
	pw = getpwnam(user);
	if (!pw && !user_given && fallback) {
		log_warn("user '%s' does not exist: workers run as '%s' instead", user, fallback);
		user = fallback;
		pw = getpwnam(user);
	}
	if (!pw) {
		snprintf(err, errlen, "user '%s' does not exist%s", user,
			 user_given ? " (check 'user =' in [server])" : "");
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, errlen, "user '%s' has uid or gid 0: workers must not run as root", user);
		return -1;
	}
	t->enabled = true;
	t->uid = pw->pw_uid;
	t->gid = pw->pw_gid;
	snprintf(t->user, sizeof(t->user), "%s", user);
	return 0;
}

static bool bounding_set_empty(void)
{
	for (int cap = 0; cap <= 63; cap++) {
		int rc = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (rc < 0 && errno == EINVAL)
			break;		/* past the last capability this kernel knows */
		if (rc != 0)
			return false;
	}
	return true;
}

static int verify(const struct privdrop_target *t)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	gid_t groups[1];

	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return -1;
	if (ruid != t->uid || euid != t->uid || suid != t->uid) {
		log_error("privilege drop: uid is %u/%u/%u, not %u", ruid, euid, suid, t->uid);
		return -1;
	}
	if (rgid != t->gid || egid != t->gid || sgid != t->gid) {
		log_error("privilege drop: gid is %u/%u/%u, not %u", rgid, egid, sgid, t->gid);
		return -1;
	}
	if (getgroups(0, groups) != 0) {
		log_error("privilege drop: supplementary groups remain");
		return -1;
	}
	/* Read back from the kernel: libcap-ng's idea of the state is what
	 * we asked for, not what we got. */
	if (capng_get_caps_process() != 0) {
		log_error("privilege drop: cannot read this process's capabilities");
		return -1;
	}
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE || !bounding_set_empty()) {
		log_error("privilege drop: capabilities remain");
		return -1;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		log_error("privilege drop: no_new_privs is not set");
		return -1;
	}
	/* The classic test: with everything dropped, root is out of reach. */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		log_error("privilege drop: could become root again");
		return -1;
	}
	return 0;
}

int privdrop_apply(const struct privdrop_target *t)
{
	int rc;

	if (!t->enabled)
		return 0;
	/* Keep nothing across the uid change. */
	capng_clear(CAPNG_SELECT_ALL);
	rc = capng_change_id(t->uid, t->gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (rc < 0) {
		log_error("privilege drop to '%s' failed (capng_change_id: %d, %s)",
			  t->user, rc, strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("privilege drop: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return verify(t);
}
