#!/bin/bash
# nbd-serverd with tls = require and a PSK file (psktool's format):
# nbdinfo and nbdcopy (64 MiB of random data in and out, checksums) as
# alice, and qemu-img with tls-creds-psk. Refused: an identity the
# server's file does not hold (the log names it), and alice with a key
# that is not hers.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/server_tls_lib.sh"

need nbdinfo nbdcopy qemu-img psktool sha256sum
tls_setup

port=$(free_port)
conf=$tmp/server.conf
tls_config "$conf" "$port" tls=require "tls-psk-file=$tmp/tls/keys.psk"
add_export "$conf" disk backend=memory size=64M
start_server "$conf"

uri=$(psk_uri "$port" disk)
nbdinfo "$uri" >"$tmp/info" || fail "nbdinfo over TLS-PSK failed"
grep -q "with TLS" "$tmp/info" || fail "nbdinfo did not use TLS: $(cat "$tmp/info")"

head -c 64M /dev/urandom >"$tmp/in"
nbdcopy "$tmp/in" "$uri" || fail "nbdcopy into the export over TLS-PSK failed"
nbdcopy "$uri" "$tmp/out" || fail "nbdcopy out of the export over TLS-PSK failed"
[ "$(sha256sum <"$tmp/out")" = "$(sha256sum <"$tmp/in")" ] ||
	fail "64 MiB read back over TLS-PSK differ from what was written"

# qemu reads DIR/keys.psk and picks the username's line.
obj="tls-creds-psk,id=tls0,dir=$tmp/tls,username=alice,endpoint=client"
opts="driver=nbd,host=127.0.0.1,port=$port,export=disk,tls-creds=tls0"
qemu-img compare --object "$obj" --image-opts "driver=file,filename=$tmp/in" "$opts" \
	>"$tmp/cmp" 2>&1 || fail "qemu-img compare over TLS-PSK: $(cat "$tmp/cmp")"
grep -q "Images are identical" "$tmp/cmp" || fail "qemu-img compare: $(cat "$tmp/cmp")"

# mallory has a key of her own, which the server has never heard of.
psktool -u mallory -p "$tmp/mallory.psk" >/dev/null 2>&1 || fail "psktool failed"
if nbdinfo "$(psk_uri "$port" disk mallory "$tmp/mallory.psk")" >/dev/null 2>&1; then
	fail "an unknown PSK identity was served"
fi
grep -q "TLS: unknown PSK identity 'mallory'" "$tmp/server.log" ||
	fail "the refusal of an unknown identity is not logged"
# alice, with a key that is not the one the server holds.
psktool -u alice -p "$tmp/wrong.psk" >/dev/null 2>&1 || fail "psktool failed"
if nbdinfo "$(psk_uri "$port" disk alice "$tmp/wrong.psk")" >/dev/null 2>&1; then
	fail "alice with the wrong key was served"
fi
nbdinfo --size "$uri" >/dev/null || fail "the right key no longer works after the refusals"
server_alive
log "ok: nbdinfo, nbdcopy (64 MiB both ways), qemu-img over TLS-PSK; unknown identity and wrong key refused"
