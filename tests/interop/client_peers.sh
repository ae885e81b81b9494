#!/bin/bash
# The client library against every server we did not write (nbdkit's
# memory plugin, nbd-server, qemu-nbd) and against nbd-serverd: LIST
# through `nbdctl exports`, negotiation and checksummed write/read round
# trips (including requests split at the 32 MiB limit), flush and trim
# through cnbd-io; TCP over IPv4 and IPv6, and Unix sockets.
. "$(dirname "$0")/../lib/common.sh"

need nbdkit nbd-server qemu-nbd sha256sum
NBDCTL=$CNBD_BUILD/nbdctl
IO=$CNBD_BUILD/tests/cnbd-io
[ -x "$NBDCTL" ] && [ -x "$IO" ] || fail "nbdctl or cnbd-io is not built"

cnbd_tmpdir
peer_pids=()
stop_peers() {
	local p
	for p in "${peer_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	# nbd-server is not our child: wait fails for it, harmlessly.
	for p in "${peer_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}
# Our peers go first, then common.sh's cleanup with the test's status.
trap 'rc=$?; stop_peers; (exit $rc); _cnbd_cleanup' EXIT

wait_listening() {	# host port
	local i
	for i in $(seq 1 100); do
		python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)' \
			"$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing listens on $1:$2"
}

wait_socket() {
	local i
	for i in $(seq 1 100); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	fail "no socket at $1"
}

head -c $((36 << 20)) /dev/urandom > "$tmp/big"
head -c $((1 << 20)) /dev/urandom > "$tmp/small"
sum() { sha256sum | cut -d' ' -f1; }
want_big=$(sum < "$tmp/big")
want_small=$(sum < "$tmp/small")

# check PEER URI EXPORT SIZE [LISTED [INFO_SIZE]]: everything the client
# library does, once. LISTED is the name LIST shows (default EXPORT),
# INFO_SIZE the size NBD_OPT_INFO reports (default SIZE).
check() {
	local peer=$1 uri=$2 export=$3 size=$4 listed=${5-$3} info_size=${6-$4}
	local base info flags got
	base=${uri%%\?*}; base=${base%/*}/
	case $uri in *\?*) base=$base?${uri#*\?} ;; esac

	"$NBDCTL" exports "$base" > "$tmp/list" 2> "$tmp/err" ||
		fail "$peer: nbdctl exports $base: $(cat "$tmp/err")"
	grep -qxF -- "$listed" "$tmp/list" ||
		fail "$peer: LIST from $base lacks '$listed': $(cat "$tmp/list")"
	"$NBDCTL" exports --long "$base" > "$tmp/long" 2> "$tmp/err" ||
		fail "$peer: nbdctl exports --long: $(cat "$tmp/err")"
	grep -q "^$listed	$info_size	" "$tmp/long" ||
		fail "$peer: exports --long lacks '$listed' with size $info_size: $(cat "$tmp/long")"

	info=$("$IO" "$uri" info 2> "$tmp/err") || fail "$peer: negotiation failed: $(cat "$tmp/err")"
	grep -qx "size=$size" <<<"$info" || fail "$peer: size is not $size: $info"
	grep -qx "kernel_block_size=\(512\|1024\|2048\|4096\)" <<<"$info" ||
		fail "$peer: no usable kernel block size: $info"
	flags=$(sed -n 's/^flags=//p' <<<"$info")
	log "$peer: $(tr '\n' ' ' <<<"$info")"

	"$IO" "$uri" write 4096 < "$tmp/small" 2> "$tmp/err" || fail "$peer: write: $(cat "$tmp/err")"
	got=$("$IO" "$uri" read 4096 $((1 << 20)) 2> "$tmp/err" | sum)
	[ "$got" = "$want_small" ] || fail "$peer: 1 MiB read back differs ($(cat "$tmp/err"))"

	# 36 MiB: more than one request each way.
	"$IO" "$uri" write $((8 << 20)) < "$tmp/big" 2> "$tmp/err" || fail "$peer: big write: $(cat "$tmp/err")"
	got=$("$IO" "$uri" read $((8 << 20)) $((36 << 20)) 2> "$tmp/err" | sum)
	[ "$got" = "$want_big" ] || fail "$peer: 36 MiB read back differs ($(cat "$tmp/err"))"
	# The first write is still there: nothing overlapped.
	got=$("$IO" "$uri" read 4096 $((1 << 20)) | sum)
	[ "$got" = "$want_small" ] || fail "$peer: the 1 MiB region changed"

	if (( flags & 0x4 )); then
		"$IO" "$uri" flush 2> "$tmp/err" || fail "$peer: flush: $(cat "$tmp/err")"
	fi
	if (( flags & 0x20 )); then
		"$IO" "$uri" trim $((8 << 20)) 65536 2> "$tmp/err" || fail "$peer: trim: $(cat "$tmp/err")"
	fi
	# Past the end: refused before anything is sent.
	"$IO" "$uri" read $((size - 512)) 4096 > /dev/null 2> "$tmp/err" &&
		fail "$peer: a read past the end succeeded"
	grep -q "beyond the end" "$tmp/err" || fail "$peer: unclear error: $(cat "$tmp/err")"
	# An export that does not exist: a clear refusal (nbdkit serves any
	# name, so only for peers whose exports have names).
	if [ "$listed" = "$export" ]; then
		"$IO" "${uri/\/$export/\/no-such-export}" info > /dev/null 2> "$tmp/err" &&
			fail "$peer: a missing export was accepted"
		grep -q "no-such-export" "$tmp/err" || fail "$peer: unclear refusal: $(cat "$tmp/err")"
		log "$peer: missing export: $(cat "$tmp/err")"
	fi
	log "$peer: ok"
}

size=$((64 << 20))

# nbdkit, memory plugin: TCP (IPv4 and IPv6) and a Unix socket. It
# serves any name and lists only the default export "".
port=$(free_port)
nbdkit -f -p "$port" -e mem memory "$size" > "$tmp/nbdkit.log" 2>&1 &
peer_pids+=($!)
wait_listening 127.0.0.1 "$port"
check nbdkit "nbd://127.0.0.1:$port/mem" mem "$size" ""
check nbdkit-ipv6 "nbd://[::1]:$port/mem" mem "$size" ""
nbdkit -f -U "$tmp/nbdkit.sock" -e mem memory "$size" > "$tmp/nbdkit-unix.log" 2>&1 &
peer_pids+=($!)
wait_socket "$tmp/nbdkit.sock"
check nbdkit-unix "nbd+unix:///mem?socket=$tmp/nbdkit.sock" mem "$size" ""

# nbdkit hiding FIXED_NEWSTYLE and NO_ZEROES: the client must fall back to
# NBD_OPT_EXPORT_NAME (and read the 124 zero bytes that follow it).
port=$(free_port)
nbdkit -f -p "$port" --mask-handshake=0 memory "$size" > "$tmp/nbdkit-old.log" 2>&1 &
peer_pids+=($!)
wait_listening 127.0.0.1 "$port"
"$IO" "nbd://127.0.0.1:$port/" info > "$tmp/info" 2> "$tmp/err" ||
	fail "nbdkit without fixed newstyle: $(cat "$tmp/err")"
grep -qx via_export_name=yes "$tmp/info" || fail "EXPORT_NAME was not used: $(cat "$tmp/info")"
"$IO" "nbd://127.0.0.1:$port/" write 0 < "$tmp/small" || fail "write via EXPORT_NAME failed"
[ "$("$IO" "nbd://127.0.0.1:$port/" read 0 $((1 << 20)) | sum)" = "$want_small" ] ||
	fail "read back via EXPORT_NAME differs"
log "nbdkit without fixed newstyle: EXPORT_NAME ok"

# nbd-server (it forks into the background; -p records its pid).
port=$(free_port)
truncate -s "$size" "$tmp/nbd-server.img"
cat > "$tmp/nbd-server.conf" <<CONF
[generic]
    listenaddr = 127.0.0.1
    port = $port
    allowlist = true
[disk]
    exportname = $tmp/nbd-server.img
    description = a test disk
CONF
nbd-server -C "$tmp/nbd-server.conf" -p "$tmp/nbd-server.pid" 2> "$tmp/nbd-server.log" ||
	fail "nbd-server did not start: $(cat "$tmp/nbd-server.log")"
for i in $(seq 1 50); do [ -s "$tmp/nbd-server.pid" ] && break; sleep 0.1; done
peer_pids+=("$(cat "$tmp/nbd-server.pid")")
wait_listening 127.0.0.1 "$port"
# nbd-server 3.24 answers NBD_OPT_INFO with size 0 (nbdinfo shows the
# same); GO reports the real size.
check nbd-server "nbd://127.0.0.1:$port/disk" disk "$size" disk 0

# qemu-nbd on a raw image.
port=$(free_port)
truncate -s "$size" "$tmp/qemu.img"
qemu-nbd -f raw -x vm -b 127.0.0.1 -p "$port" --persistent "$tmp/qemu.img" > "$tmp/qemu-nbd.log" 2>&1 &
peer_pids+=($!)
wait_listening 127.0.0.1 "$port"
check qemu-nbd "nbd://127.0.0.1:$port/vm" vm "$size"

# nbd-serverd, memory backend.
port=$(free_port)
write_config "$tmp/serverd.conf" "$port" cnbd backend=memory size=64M \
	"description=scratch space" preferred-block-size=2048
start_server "$tmp/serverd.conf"
check nbd-serverd "nbd://127.0.0.1:$port/cnbd" cnbd "$size"
grep -qx "cnbd	$size	scratch space" "$tmp/long" ||
	fail "nbd-serverd: description not listed: $(cat "$tmp/long")"
# Its BLOCK_SIZE information decides the kernel block size.
"$IO" "nbd://127.0.0.1:$port/cnbd" info | grep -qx kernel_block_size=2048 ||
	fail "nbd-serverd: preferred block size 2048 not chosen"

log "all peers passed"
