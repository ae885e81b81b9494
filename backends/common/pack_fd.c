/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "pack_fd.h"

int pack_storage_fd(struct cnbd_pack *pack, int fd, bool readonly)
{
	char self[64];
	int ro, rc;

	if (!readonly)
		return cnbd_pack_fd(pack, fd);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	ro = open(self, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return -1;
	rc = cnbd_pack_fd(pack, ro);
	close(ro);
	return rc;
}
