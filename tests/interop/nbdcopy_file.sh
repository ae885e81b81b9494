#!/bin/bash
# nbdcopy 64 MiB of random data into a file export (file in /dev/shm, or
# in the temporary directory) and back out: the sha256 sums match, and
# the file itself holds the data.
. "$(dirname "$0")/../lib/common.sh"
need nbdcopy sha256sum head truncate
cnbd_tmpdir

dir=$tmp
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	dir=$(mktemp -d /dev/shm/cnbd-test.XXXXXX)
	remove_on_exit "$dir"
	chmod 755 "$dir"
fi
img=$dir/disk.img
truncate -s 64M "$img"
chmod 666 "$img"

port=$(free_port)
write_config "$tmp/cnbd.conf" "$port" disk backend=file "path=$img"
start_server "$tmp/cnbd.conf"

head -c 64M /dev/urandom >"$tmp/in.img"
uri="nbd://127.0.0.1:$port/disk"
nbdcopy --connections=4 --requests=16 "$tmp/in.img" "$uri" || fail "nbdcopy in failed"
nbdcopy --connections=4 --requests=16 "$uri" "$tmp/out.img" || fail "nbdcopy out failed"
in=$(sha256sum <"$tmp/in.img")
out=$(sha256sum <"$tmp/out.img")
[ "$in" = "$out" ] || fail "data differ: in $in, out $out"
file=$(sha256sum <"$img")
[ "$file" = "$in" ] || fail "the exported file differs from what was copied in"
server_alive
echo "ok: $in"
