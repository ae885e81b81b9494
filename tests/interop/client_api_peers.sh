#!/bin/bash
# The public client API (<cnbd/client.h>), from a program built against the
# installed library only, against nbdkit (memory), nbd-server, qemu-nbd and
# nbd-serverd: what it reports of the export agrees with nbdinfo; writes
# with 16 and 32 requests in flight (FUA where offered) read back the same
# through the API, through the server's own file or another client, and
# through examples/copy (8 reads in flight) as a whole image; zero (NO_HOLE,
# FAST_ZERO), trim, cache and flush where offered; simple replies when
# structured ones are declined; a read past the end is EINVAL with a
# sentence, whether the client refuses it or the server answers it.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/client_api.sh"

need nbdkit nbd-server qemu-nbd nbdinfo nbdsh sha256sum python3
cnbd_tmpdir
client_api_build
COPY=$CNBD_BUILD/examples/copy
[ -x "$COPY" ] || fail "$COPY is not built"

size=$((64 << 20))
head -c $((1 << 20)) /dev/urandom >"$tmp/small"
head -c $((12 << 20)) /dev/urandom >"$tmp/big"
# What every export holds after check's writes: small at 4 KiB, big at 8 MiB.
python3 - "$tmp" "$size" <<'EOF'
import sys
tmp, size = sys.argv[1], int(sys.argv[2])
img = bytearray(size)
small = open(tmp + "/small", "rb").read()
big = open(tmp + "/big", "rb").read()
img[4096:4096 + len(small)] = small
img[8 << 20:(8 << 20) + len(big)] = big
open(tmp + "/expected", "wb").write(img)
EOF
want_image=$(sum <"$tmp/expected")

field() {	# NAME: from $tmp/info
	sed -n "s/^$1=//p" "$tmp/info"
}

# The bytes [OFFSET, OFFSET+LEN) of the export, read by another client.
peer_read() {	# URI OFFSET LEN
	PATH=/usr/bin:$PATH nbdsh -u "$1" -c "
import sys
sys.stdout.buffer.write(h.pread($3, $2))"
}

expect_error() {	# PEER ERRNO TEXT ARGS...
	local peer=$1 err=$2 text=$3
	shift 3
	if tool "$@" >"$tmp/out" 2>/dev/null; then
		fail "$peer: '$*' succeeded"
	fi
	grep -q "^errno=$err: .*$text" "$tmp/out" ||
		fail "$peer: '$*' should fail with $err ($text): $(cat "$tmp/out")"
}

# check PEER URI [FILE]: FILE is the server's storage, when it has one.
check() {
	local peer=$1 uri=$2 file=${3-} fua= got
	tool "$uri" info >"$tmp/info" || fail "$peer: connect: $(cat "$tmp/info")"
	log "$peer: $(tr '\n' ' ' <"$tmp/info")"
	[ "$(field size)" = "$size" ] || fail "$peer: size $(field size), not $size"
	nbdinfo --json "$uri" >"$tmp/nbdinfo.json" || fail "$peer: nbdinfo failed"
	# nbd-server 3.24 answers NBD_OPT_INFO (what nbdinfo asks) with size
	# 0; GO, which the API uses, has the real size.
	python3 - "$tmp/nbdinfo.json" "$tmp/info" "$peer" <<'EOF' || fail "$peer: the API and nbdinfo disagree"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
ours = dict(l.rstrip("\n").split("=", 1) for l in open(sys.argv[2]))
for mine, theirs in (("read_only", "is_read_only"), ("can_flush", "can_flush"),
                     ("can_fua", "can_fua"), ("can_trim", "can_trim"),
                     ("can_zero", "can_zero"), ("can_fast_zero", "can_fast_zero"),
                     ("can_cache", "can_cache"), ("can_multi_conn", "can_multi_conn")):
    assert int(ours[mine]) == int(e[theirs]), (mine, ours[mine], e[theirs])
if not (sys.argv[3] == "nbd-server" and e["export-size"] == 0):
    assert int(ours["size"]) == e["export-size"], (ours["size"], e["export-size"])
assert ours["description"] == e.get("description", ""), (ours["description"], e.get("description"))
for mine, theirs in (("min_block", "block_size_minimum"), ("pref_block", "block_size_preferred"),
                     ("max_block", "block_size_maximum")):
    if theirs in e:
        assert int(ours[mine]) == e[theirs], (mine, ours[mine], e[theirs])
EOF
	[ "$(field can_fua)" = 1 ] && fua=-f

	tool -n 16 -c 65536 $fua "$uri" write 4096 "$tmp/small" >"$tmp/out" ||
		fail "$peer: write with 16 in flight: $(cat "$tmp/out")"
	tool -n 32 -c $((1 << 20)) "$uri" write $((8 << 20)) "$tmp/big" >"$tmp/out" ||
		fail "$peer: write with 32 in flight: $(cat "$tmp/out")"
	tool -c 100000 "$uri" read 4096 $((1 << 20)) "$tmp/back" >"$tmp/out" ||
		fail "$peer: read: $(cat "$tmp/out")"
	cmp -s "$tmp/small" "$tmp/back" || fail "$peer: 1 MiB read back differs"
	if [ -n "$file" ]; then
		cmp -s "$tmp/expected" "$file" || fail "$peer: the server's file differs from what was written"
	else
		got=$(peer_read "$uri" $((8 << 20)) $((12 << 20)) | sum)
		[ "$got" = "$(sum <"$tmp/big")" ] || fail "$peer: nbdsh reads other bytes than were written"
	fi
	"$COPY" -n 8 "$uri" "$tmp/copy.img" || fail "$peer: examples/copy failed"
	[ "$(sum <"$tmp/copy.img")" = "$want_image" ] || fail "$peer: examples/copy made a different image"

	if [ "$(field structured)" = 1 ]; then
		tool -S "$uri" info >"$tmp/plain" || fail "$peer: without structured replies: $(cat "$tmp/plain")"
		grep -qx structured=0 "$tmp/plain" || fail "$peer: structured replies negotiated anyway"
		tool -S "$uri" read 4096 $((1 << 20)) "$tmp/back" >"$tmp/out" ||
			fail "$peer: read with simple replies: $(cat "$tmp/out")"
		cmp -s "$tmp/small" "$tmp/back" || fail "$peer: read with simple replies differs"
	fi

	if [ "$(field can_cache)" = 1 ]; then
		tool "$uri" cache 0 $((1 << 20)) >"$tmp/out" || fail "$peer: cache: $(cat "$tmp/out")"
	fi
	if [ "$(field can_flush)" = 1 ]; then
		tool "$uri" flush >"$tmp/out" || fail "$peer: flush: $(cat "$tmp/out")"
	else
		expect_error "$peer" EOPNOTSUPP "does not offer FLUSH" "$uri" flush
	fi
	if [ "$(field can_zero)" = 1 ]; then
		tool -z nohole $fua "$uri" zero $((8 << 20)) $((1 << 20)) >"$tmp/out" ||
			fail "$peer: zero (NO_HOLE): $(cat "$tmp/out")"
		tool "$uri" read $((8 << 20)) $((1 << 20)) "$tmp/back" >/dev/null || fail "$peer: read after zero"
		cmp -s "$tmp/back" <(head -c $((1 << 20)) /dev/zero) || fail "$peer: zeroed bytes do not read as zeros"
	fi
	if [ "$(field can_fast_zero)" = 1 ]; then
		# The server may say zeroing would not be fast: that is an answer too.
		if ! tool -z fast "$uri" zero $((10 << 20)) 65536 >"$tmp/out"; then
			grep -q "^errno=EOPNOTSUPP: the server failed WRITE_ZEROES" "$tmp/out" ||
				fail "$peer: FAST_ZERO: $(cat "$tmp/out")"
		fi
	else
		expect_error "$peer" EOPNOTSUPP "FAST_ZERO" -z fast "$uri" zero 0 4096
	fi
	if [ "$(field can_trim)" = 1 ]; then
		tool $fua "$uri" trim $((12 << 20)) $((1 << 20)) >"$tmp/out" || fail "$peer: trim: $(cat "$tmp/out")"
	fi

	expect_error "$peer" EINVAL "READ of 4096 bytes at offset $((size - 512)) reaches beyond the end of the export ($size bytes)" \
		"$uri" read $((size - 512)) 4096 "$tmp/back"
	expect_error "$peer" EINVAL "the server failed READ of 4096 bytes at offset $size: EINVAL" \
		-s "$uri" read "$size" 4096 "$tmp/back"
	log "$peer: ok"
}

# nbdkit's memory plugin, over TCP.
port=$(free_port)
nbdkit -f -p "$port" --ipaddr 127.0.0.1 memory "$size" >"$tmp/nbdkit.log" 2>&1 &
kill_on_exit $!
wait_tcp "$port"
check nbdkit "nbd://127.0.0.1:$port/"

# nbd-server on a file.
truncate -s "$size" "$tmp/nbd-server.img"
start_nbd_server "disk=$tmp/nbd-server.img"
check nbd-server "nbd://127.0.0.1:$NBD_SERVER_PORT/disk" "$tmp/nbd-server.img"

# qemu-nbd on a raw file, over a Unix socket.
truncate -s "$size" "$tmp/qemu.img"
qemu-nbd -f raw -x vm -D "a qemu disk" -k "$tmp/qemu.sock" --persistent "$tmp/qemu.img" \
	>"$tmp/qemu-nbd.log" 2>&1 &
kill_on_exit $!
wait_unix "$tmp/qemu.sock"
check qemu-nbd "nbd+unix:///vm?socket=$tmp/qemu.sock" "$tmp/qemu.img"
grep -qx "description=a qemu disk" "$tmp/info" || fail "qemu-nbd: description not reported"

# nbd-serverd: a memory export over TCP, a file export over a Unix socket.
port=$(free_port)
truncate -s "$size" "$tmp/serverd.img"
[ "$(id -u)" != 0 ] || chown nobody "$tmp/serverd.img"
write_server_config "$tmp/serverd.conf" "127.0.0.1:$port" "unix:$tmp/serverd.sock"
add_export "$tmp/serverd.conf" mem backend=memory size=64M "description=scratch space" \
	preferred-block-size=8192
add_export "$tmp/serverd.conf" file backend=file "path=$tmp/serverd.img"
start_server "$tmp/serverd.conf"
check nbd-serverd-memory "nbd://127.0.0.1:$port/mem"
grep -qx "pref_block=8192" "$tmp/info" || fail "nbd-serverd: preferred block size not reported"
check nbd-serverd-file "nbd+unix:///file?socket=$tmp/serverd.sock" "$tmp/serverd.img"
expect_error nbd-serverd ENOENT "no export named 'nothing'" "nbd://127.0.0.1:$port/nothing" info
server_alive
log "all peers passed"
