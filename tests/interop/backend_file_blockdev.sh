#!/bin/bash
# The file backend on a block device (a loop device): the master opens it
# as root, workers running as nobody serve it through the inherited
# descriptor. Size from BLKGETSIZE64; unaligned zero and trim (ioctls take
# whole blocks, the edges are written); FAST_ZERO; FUA; a read-only device
# served with writes refused (EPERM).
#
# Loop devices need root. `make check` needs no root, so without it this
# test says so and passes; CI and the kernel VM run it as root.
. "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" != 0 ]; then
	echo "loop devices need root"
	exit 77	# skipped, never passed (and a failure under CI)
fi
need losetup truncate nbdinfo nbdsh python3
cnbd_tmpdir

nbdsh() {
	# Debian's python has the libnbd bindings; another python3 may not.
	PATH=/usr/bin:$PATH command nbdsh "$@"
}

loops=()
# Detaching a device the server still holds only marks it for autoclear:
# it goes when the server (stopped by _cnbd_cleanup) closes it.
_detach_loops() {
	local rc=$? d
	set +e
	for d in "${loops[@]}"; do
		losetup -d "$d" 2>/dev/null
	done
	(exit $rc)
	_cnbd_cleanup
}
trap _detach_loops EXIT

truncate -s 64M "$tmp/disk.img"
truncate -s 8M "$tmp/ro.img"
printf 'read-only data' | dd of="$tmp/ro.img" conv=notrunc status=none
rw=$(losetup --find --show "$tmp/disk.img") || fail "losetup failed"
loops+=("$rw")
ro=$(losetup --find --show --read-only "$tmp/ro.img") || fail "losetup -r failed"
loops+=("$ro")

port=$(free_port)
conf=$tmp/server.conf
write_config "$conf" "$port" rw backend=file "path=$rw"
add_export "$conf" ro backend=file "path=$ro"
start_server "$conf"
grep -q '^user = nobody' "$conf" || fail "the workers are not unprivileged"

nbdsh -u "nbd://127.0.0.1:$port/rw" -c '
import errno
def err_is(e, code):
    # libnbd gives the errno name ("EPERM"); older ones the number.
    return e.errno in (code, errno.errorcode[code])
assert h.get_size() == 64 << 20, h.get_size()
assert h.can_trim() and h.can_zero() and h.can_fast_zero()
assert h.can_fua() and h.can_flush() and h.can_multi_conn()
assert not h.is_read_only()
pat = bytes((i * 7) % 251 for i in range(1 << 20))
h.pwrite(pat, 0)
h.pwrite(b"\xcd" * 1000, 12345, nbd.CMD_FLAG_FUA)
assert h.pread(1000, 12345) == b"\xcd" * 1000
# Unaligned zero: the aligned middle by ioctl, the edges written.
h.pwrite(pat, 0)
h.zero(100000, 1000)
assert h.pread(100000, 1000) == bytes(100000)
assert h.pread(1000, 0) == pat[:1000]
assert h.pread(1000, 101000) == pat[101000:102000]
h.pwrite(pat, 0)
h.zero(65536, 4096, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(65536, 4096) == bytes(65536)
assert h.pread(4096, 0) == pat[:4096]
# FAST_ZERO either zeroes or fails with ENOTSUP and changes nothing.
h.pwrite(pat, 0)
try:
    h.zero(65536, 8192, nbd.CMD_FLAG_FAST_ZERO)
    assert h.pread(65536, 8192) == bytes(65536)
except nbd.Error as e:
    assert err_is(e, errno.ENOTSUP), e
    assert h.pread(65536, 8192) == pat[8192:8192 + 65536]
# An unaligned trim never disturbs the partial blocks at its edges.
h.pwrite(pat, 0)
h.trim(300000, 1000)
assert h.pread(1000, 0) == pat[:1000]
assert h.pread(1000, 301000) == pat[301000:302000]
h.flush()
h.cache(1 << 20, 0)
' || fail "block device I/O through nbdsh failed"

# A block device keeps no allocation map: it is all data.
nbdinfo --map "nbd://127.0.0.1:$port/rw" >"$tmp/map" || fail "nbdinfo --map failed"
[ "$(awk '{ print $1, $2, $3 }' "$tmp/map")" = "0 67108864 0" ] ||
	{ cat "$tmp/map" >&2; fail "wrong map for a block device"; }

# Data reached the device itself.
dd if="$rw" bs=1000 skip=0 count=1 status=none | cmp - <(python3 -c '
import sys
sys.stdout.buffer.write(bytes((i * 7) % 251 for i in range(1000)))') ||
	fail "the device does not hold what was written"

nbdsh -u "nbd://127.0.0.1:$port/ro" -c '
import errno
def err_is(e, code):
    return e.errno in (code, errno.errorcode[code])
assert h.get_size() == 8 << 20
assert h.pread(14, 0) == b"read-only data"
try:
    h.pwrite(b"x" * 512, 0)
except nbd.Error as e:
    assert err_is(e, errno.EPERM), e
else:
    raise AssertionError("a write to a read-only device succeeded")
assert h.pread(14, 0) == b"read-only data"
' || fail "read-only block device not served read-only"
server_alive
echo ok
