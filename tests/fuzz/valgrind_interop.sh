#!/bin/bash
# nbd-serverd under valgrind's memcheck, master and every worker, while
# real clients use it: nbdinfo (--list and one export), nbdsh round
# trips (odd offsets, flush, trim, zero, block status, errors from a
# faulty export), nbdcopy of 16 MiB in and out, and a client that goes
# away without NBD_CMD_DISC. Fails on any memcheck error or definite or
# possible leak in any process (valgrind exits 99 then; each process
# writes its own log), and prints the error summaries.
#
# usage: CNBD_BUILD=build tests/fuzz/valgrind_interop.sh   (or make valgrind)
. "$(dirname "$0")/../lib/common.sh"

need valgrind nbdinfo nbdsh nbdcopy /usr/bin/python3 cmp
cnbd_tmpdir
vg=$tmp/vg
mkdir -p "$vg"
# Workers are nbd-serverd executed afresh as the configured user: they
# write their own logs.
chmod o+x "$tmp"
chmod 1777 "$vg"

port=$(free_port)
conf=$tmp/server.conf
write_server_config "$conf" "127.0.0.1:$port" "unix:$tmp/nbd.sock"
add_export "$conf" disk backend=memory size=64M "description=memcheck disk"
add_export "$conf" file backend=file "path=$tmp/disk.img"
add_export "$conf" bad backend=faulty inner=memory size=8M fail-read=1M-4K \
	fail-write=2M-4K delay-read-ms=20 delay-at=3M-4K
truncate -s 32M "$tmp/disk.img"
chmod 666 "$tmp/disk.img"

# Master and workers each get their own log: %p, and %n because a worker
# is a fork (a log as root) that executes nbd-serverd afresh as the
# configured user (a second log, for the same pid).
"$(command -v valgrind)" --tool=memcheck --vgdb=no --error-exitcode=99 --track-fds=no \
	--trace-children=yes --leak-check=full --errors-for-leak-kinds=definite,possible \
	--show-leak-kinds=definite,possible --num-callers=30 \
	--suppressions="$CNBD_SRC/tests/fuzz/valgrind.supp" \
	--log-file="$vg/vg.%p.%n" \
	"$SERVERD" -f --no-sandbox -c "$conf" >"$tmp/server.log" 2>&1 &
SERVER_PID=$!
_cnbd_server_pids+=("$SERVER_PID")
_cnbd_server_log=$tmp/server.log
for i in $(seq 1 600); do
	nbdinfo --size "nbd://127.0.0.1:$port/disk" >/dev/null 2>&1 && break
	kill -0 "$SERVER_PID" 2>/dev/null || fail "nbd-serverd under valgrind exited at start"
	sleep 0.1
done
log "server up under valgrind (pid $SERVER_PID)"

uri=nbd://127.0.0.1:$port
nbdinfo --list "$uri" >/dev/null || fail "nbdinfo --list"
nbdinfo "$uri/disk" >/dev/null || fail "nbdinfo disk"
nbdinfo "nbd+unix:///file?socket=$tmp/nbd.sock" >/dev/null || fail "nbdinfo over Unix"

/usr/bin/python3 - "$uri" <<'PY' || fail "nbdsh round trips"
import errno, nbd, sys
uri = sys.argv[1]
for name in ("disk", "file"):
    h = nbd.NBD()
    h.add_meta_context("base:allocation")
    h.connect_uri(uri + "/" + name)
    for off, n in ((0, 4096), (12345, 777), (1 << 20, 65536), (3 << 20, 1)):
        data = bytes((off + i) & 0xff for i in range(n))
        h.pwrite(data, off)
        assert h.pread(n, off) == data, (name, off)
    h.flush()
    h.pwrite(b"f" * 4096, 8192, nbd.CMD_FLAG_FUA)
    h.trim(65536, 2 << 20)
    h.zero(65536, 4 << 20)
    h.block_status(1 << 20, 0, lambda *a: 0)
    h.cache(65536, 0)
    h.shutdown()
h = nbd.NBD()
h.connect_uri(uri + "/bad")
for off in (1 << 20, 2 << 20):
    try:
        if off == 1 << 20:
            h.pread(4096, off)
        else:
            h.pwrite(b"x" * 4096, off)
        raise SystemExit("faulty did not fail at %d" % off)
    except nbd.Error:
        pass
h.pread(4096, 3 << 20)
h.pread(4096, 0)
h.shutdown()
# Gone without NBD_CMD_DISC, with requests in flight.
h = nbd.NBD()
h.connect_uri(uri + "/disk")
for i in range(8):
    h.aio_pread(nbd.Buffer(65536), i * 65536)
del h
PY

head -c 16M /dev/urandom >"$tmp/in.bin"
nbdcopy "$tmp/in.bin" "$uri/disk" || fail "nbdcopy in"
nbdcopy "$uri/disk" "$tmp/out.bin" || fail "nbdcopy out"
cmp -n 16777216 "$tmp/in.bin" "$tmp/out.bin" || fail "nbdcopy round trip differs"
nbdcopy "$tmp/in.bin" "nbd+unix:///file?socket=$tmp/nbd.sock" || fail "nbdcopy in (file)"
nbdcopy "nbd+unix:///file?socket=$tmp/nbd.sock" "$tmp/out2.bin" || fail "nbdcopy out (file)"
cmp -n 16777216 "$tmp/in.bin" "$tmp/out2.bin" || fail "nbdcopy round trip differs (file)"

# Let the workers finish (and write their leak reports), then stop.
for i in $(seq 1 300); do
	[ -z "$(pgrep -P "$SERVER_PID")" ] && break
	sleep 0.1
done
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
log "master exited with $rc"

bad=0
nlogs=0
for f in "$vg"/vg.*; do
	nlogs=$((nlogs + 1))
	summary=$(grep -h "ERROR SUMMARY" "$f" | tail -1) || true
	# A worker's fork writes a log until it executes nbd-serverd afresh,
	# which valgrind ends without a summary: it is fine if it reported
	# nothing and the same pid's other log has a clean summary.
	if [ -z "$summary" ] && ! grep -q "Invalid\|uninitialised\|Syscall param\|Mismatched" "$f"; then
		pid=${f#"$vg"/vg.}
		pid=${pid%%.*}
		grep -qh "ERROR SUMMARY: 0 errors" "$vg/vg.$pid".* && continue
	fi
	case "$summary" in
	*"ERROR SUMMARY: 0 errors"*) ;;
	*)
		bad=1
		echo "--- $f: ${summary:-no summary (did the process end?)}" >&2
		sed -n '/Invalid\|uninitialised\|definitely lost\|possibly lost\|Mismatched\|Syscall param/,+25p' "$f" | head -80 >&2
		;;
	esac
done
grep -h "exited with status 99" "$tmp/server.log" >&2 && bad=1
log "$nlogs processes checked (master and workers)"
[ "$nlogs" -ge 10 ] || fail "only $nlogs valgrind logs: workers were not followed"
[ $rc -eq 99 ] && bad=1
[ $bad -eq 0 ] || fail "memcheck found errors (logs above)"
log "ok: no memcheck errors or leaks in $nlogs processes"
