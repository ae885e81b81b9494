#!/bin/bash
# examples/copy copies an export to a file with N reads in flight through
# libcnbd's client: a file of 40 MiB and 25 sectors served by nbd-serverd
# (not a multiple of the 1 MiB a read asks for; qemu-nbd serves whole
# sectors only) comes out with the source's checksum with 1, 8 and 64
# reads in flight, and from qemu-nbd over a Unix socket; it answers
# --help, and a server that is not there is an error with a sentence.
. "$(dirname "$0")/../lib/common.sh"

need qemu-nbd sha256sum
cnbd_tmpdir
COPY=$CNBD_BUILD/examples/copy
[ -x "$COPY" ] || fail "$COPY is not built"

head -c $(( (40 << 20) + 25 * 512 )) /dev/urandom >"$tmp/source"
[ "$(id -u)" != 0 ] || chown nobody "$tmp/source"
want=$(sha256sum <"$tmp/source")
port=$(free_port)
write_config "$tmp/serverd.conf" "$port" disk backend=file "path=$tmp/source" readonly=true
start_server "$tmp/serverd.conf"
for n in 1 8 64; do
	"$COPY" -n "$n" "nbd://127.0.0.1:$port/disk" "$tmp/copy-$n" || fail "copy -n $n failed"
	[ "$(sha256sum <"$tmp/copy-$n")" = "$want" ] || fail "copy -n $n made a different file"
done
server_alive

qemu-nbd -f raw -r -x src -k "$tmp/qemu.sock" --persistent "$tmp/source" >"$tmp/qemu.log" 2>&1 &
kill_on_exit $!
for _ in $(seq 100); do [ -S "$tmp/qemu.sock" ] && break; sleep 0.1; done
"$COPY" "nbd+unix:///src?socket=$tmp/qemu.sock" "$tmp/copy-qemu" || fail "copy from qemu-nbd failed"
[ "$(sha256sum <"$tmp/copy-qemu")" = "$want" ] || fail "copy from qemu-nbd made a different file"

"$COPY" --help >"$tmp/help" || fail "copy --help failed"
grep -q "usage: copy" "$tmp/help" || fail "copy --help: $(cat "$tmp/help")"
if "$COPY" "nbd://127.0.0.1:$(free_port)/disk" "$tmp/none" 2>"$tmp/err"; then
	fail "copy from a server that is not there succeeded"
fi
grep -q "cannot connect to 127.0.0.1:.*Connection refused" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
log "ok"
