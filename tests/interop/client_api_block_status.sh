#!/bin/bash
# Block status (base:allocation) through the public client API, from a
# program built against the installed library: the allocation map it reads
# must be exactly the one nbdinfo --map (libnbd) reads from the same server,
# neighbours of one type merged: nbdkit's sparse-random plugin (about ten
# thousand extents), nbdkit's memory plugin after some writes, qemu-nbd and
# nbd-serverd on a sparse file. A server that grants no meta context
# (nbd-server) gets ENOTSUP from the client, without a request.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/client_api.sh"

need nbdkit qemu-nbd nbd-server nbdinfo
cnbd_tmpdir
client_api_build

# same_map PEER URI SIZE [MIN_LINES]
same_map() {
	local peer=$1 uri=$2 size=$3 min=${4:-2}
	tool "$uri" map 0 "$size" >"$tmp/ours" || fail "$peer: block status: $(cat "$tmp/ours")"
	nbdinfo --map "$uri" | awk '{ print $1, $2, $3 }' >"$tmp/theirs" ||
		fail "$peer: nbdinfo --map failed"
	diff -u "$tmp/theirs" "$tmp/ours" >&2 || fail "$peer: the API's map differs from nbdinfo's"
	[ "$(wc -l <"$tmp/ours")" -ge "$min" ] ||
		fail "$peer: only $(wc -l <"$tmp/ours") extents: not a test of anything"
	log "$peer: $(wc -l <"$tmp/ours") extents, as nbdinfo reads them"
}

# A file with data at 1 MiB, 5 MiB + 4 KiB and the last 64 KiB, holes
# elsewhere.
sparse_file() {
	truncate -s 16M "$1"
	for at in 256 1281 4080; do
		head -c 16384 /dev/urandom | dd of="$1" bs=4096 seek="$at" conv=notrunc status=none
	done
	[ "$(id -u)" != 0 ] || chown nobody "$1"
}

sock=$tmp/random.sock
nbdkit -f -U "$sock" sparse-random 1G seed=7 runlength=65536 percent=30 >"$tmp/nbdkit.log" 2>&1 &
kill_on_exit $!
wait_unix "$sock"
same_map sparse-random "nbd+unix:///?socket=$sock" $((1 << 30)) 1000

sock=$tmp/memory.sock
nbdkit -f -U "$sock" memory 64M >"$tmp/nbdkit-mem.log" 2>&1 &
kill_on_exit $!
wait_unix "$sock"
head -c 200000 /dev/urandom >"$tmp/data"
tool "nbd+unix:///?socket=$sock" write $((3 << 20)) "$tmp/data" >"$tmp/out" ||
	fail "write to nbdkit memory: $(cat "$tmp/out")"
tool "nbd+unix:///?socket=$sock" write $((40 << 20)) "$tmp/data" >"$tmp/out" ||
	fail "write to nbdkit memory: $(cat "$tmp/out")"
same_map memory "nbd+unix:///?socket=$sock" $((64 << 20)) 4
# A range in the middle: the map starts at its offset.
tool "nbd+unix:///?socket=$sock" map $((3 << 20)) 65536 >"$tmp/part" || fail "map of a range failed"
[ "$(cat "$tmp/part")" = "$((3 << 20)) 65536 0" ] || fail "map of written data: $(cat "$tmp/part")"

sparse_file "$tmp/qemu.img"
qemu-nbd -f raw -x disk -k "$tmp/qemu.sock" --persistent "$tmp/qemu.img" >"$tmp/qemu.log" 2>&1 &
kill_on_exit $!
wait_unix "$tmp/qemu.sock"
same_map qemu-nbd "nbd+unix:///disk?socket=$tmp/qemu.sock" $((16 << 20)) 6

sparse_file "$tmp/serverd.img"
port=$(free_port)
write_config "$tmp/serverd.conf" "$port" disk backend=file "path=$tmp/serverd.img"
start_server "$tmp/serverd.conf"
same_map nbd-serverd "nbd://127.0.0.1:$port/disk" $((16 << 20)) 6
server_alive

truncate -s 1M "$tmp/nbd-server.img"
start_nbd_server "disk=$tmp/nbd-server.img"
if tool "nbd://127.0.0.1:$NBD_SERVER_PORT/disk" map 0 4096 >"$tmp/out"; then
	fail "block status succeeded on a server that granted no meta context"
fi
grep -q "^errno=EOPNOTSUPP: BLOCK_STATUS: the server did not grant base:allocation" "$tmp/out" ||
	fail "nbd-server: unclear refusal: $(cat "$tmp/out")"
log "ok"
