/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <unistd.h>

#include "seek_extents.h"

#define HOLE_TYPE	(CNBD_EXTENT_HOLE | CNBD_EXTENT_ZERO)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Where the next data at or after pos starts; end when there is none
 * (ENXIO: a hole runs to the end of the file, or pos is past it). -1 when
 * lseek failed for another reason. */
static int64_t next_data(int fd, uint64_t pos, uint64_t end)
{
	off_t r = lseek(fd, (off_t)pos, SEEK_DATA);

	if (r < 0)
		return errno == ENXIO ? (int64_t)end : -1;
	return (int64_t)min_u64((uint64_t)r, end);
}

/* Where the hole after the data at pos starts (at most end). There is
 * always a virtual hole at the end of the file, so ENXIO means the file
 * was truncated under us: returns pos, and the caller calls the rest
 * data, which is never wrong to report. */
static int64_t next_hole(int fd, uint64_t pos, uint64_t end)
{
	off_t r = lseek(fd, (off_t)pos, SEEK_HOLE);

	if (r < 0)
		return errno == ENXIO ? (int64_t)pos : -1;
	return (int64_t)min_u64((uint64_t)r, end);
}

static bool seek_unsupported(int err)
{
	return err == EINVAL || err == EOPNOTSUPP || err == ESPIPE;
}

int seek_extents(int fd, uint64_t offset, uint32_t count, bool req_one,
		 struct cnbd_extents *extents)
{
	uint64_t pos = offset, end = offset + count;
	int64_t data, hole;

	/* lseek moves the shared file position as a side effect; harmless,
	 * since every data call uses pread/pwrite with explicit offsets. */
	while (pos < end) {
		data = next_data(fd, pos, end);
		if (data < 0)
			goto unknown;
		if ((uint64_t)data > pos) {
			if (cnbd_add_extent(extents, pos, data - pos, HOLE_TYPE) < 0)
				return -1;
			pos = data;
		} else {
			hole = next_hole(fd, pos, end);
			if (hole < 0)
				goto unknown;
			if ((uint64_t)hole == pos)
				hole = end;
			if (cnbd_add_extent(extents, pos, hole - pos, 0) < 0)
				return -1;
			pos = hole;
		}
		if (req_one)
			break;
	}
	return 0;

unknown:
	if (!seek_unsupported(errno))
		return -1;
	/* The file system keeps no map: all of it may hold data. */
	return cnbd_add_extent(extents, pos, end - pos, 0);
}
