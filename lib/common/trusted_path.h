/* SPDX-License-Identifier: MIT */
/*
 * Opening a file or directory that root will trust (load code from, read
 * configuration or keys from): every component from "/" is opened with
 * openat(O_NOFOLLOW) and checked on its descriptor, and the caller gets
 * the descriptor of the object checked, never a path to open again.
 */
#ifndef CNBD_TRUSTED_PATH_H
#define CNBD_TRUSTED_PATH_H

#include <stdbool.h>
#include <stddef.h>

enum trusted_kind {
	TRUSTED_FILE,	/* a regular file, opened O_RDONLY */
	TRUSTED_DIR,	/* a directory, opened O_RDONLY | O_DIRECTORY */
};

/*
 * Opens path (a relative one is taken from the working directory) by
 * walking it from "/". Each component must be owned by root and not
 * writable by group or others; a directory above the one holding the
 * final object may instead be world-writable with the sticky bit (like
 * /tmp). Symbolic links and ".." components are refused. Returns the
 * final component's descriptor (O_CLOEXEC), or -1 with a message in err
 * naming the component and why: "PATH: COMPONENT is owned by uid 1000,
 * not root", "PATH: COMPONENT is writable by group or others (mode
 * 0775)", "PATH: COMPONENT is a symbolic link", or "PATH: strerror".
 * errno says which: EPERM for a refusal by these rules, ELOOP for a
 * link, EINVAL for a final object of the wrong type, else the system's
 * (ENOENT: not there).
 */
int trusted_open(const char *path, enum trusted_kind kind, char *err, size_t errlen);

/*
 * trusted_open when check is true (the caller runs as root); otherwise a
 * plain open of the same kind (a user's own files: there is nobody to
 * defend against). The same descriptor and error forms either way.
 */
int trusted_open_if(const char *path, enum trusted_kind kind, bool check,
		    char *err, size_t errlen);

#endif
