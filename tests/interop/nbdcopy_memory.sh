#!/bin/bash
# nbdcopy 64 MiB of random data into a memory export and back out (with
# several connections and requests in flight): the sha256 sums match.
. "$(dirname "$0")/../lib/common.sh"
need nbdcopy sha256sum head
cnbd_tmpdir

port=$(free_port)
write_config "$tmp/cnbd.conf" "$port" mem backend=memory size=64M
start_server "$tmp/cnbd.conf"

head -c 64M /dev/urandom >"$tmp/in.img"
uri="nbd://127.0.0.1:$port/mem"
nbdcopy --connections=4 --requests=16 "$tmp/in.img" "$uri" || fail "nbdcopy in failed"
nbdcopy --connections=4 --requests=16 "$uri" "$tmp/out.img" || fail "nbdcopy out failed"
in=$(sha256sum <"$tmp/in.img")
out=$(sha256sum <"$tmp/out.img")
[ "$in" = "$out" ] || fail "data differ: in $in, out $out"
# A second read with a single connection and a small request size.
nbdcopy --connections=1 --request-size=4096 "$uri" - | sha256sum >"$tmp/sum2"
[ "$(cat "$tmp/sum2")" = "$in" ] || fail "small-request copy differs"
server_alive
echo "ok: $in"
