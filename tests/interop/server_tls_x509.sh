#!/bin/bash
# nbd-serverd with tls = require and X.509 certificates, against peers it
# did not write: nbdinfo, nbdcopy (64 MiB of random data in and out,
# checksums compared) and qemu-img (info, convert, compare) all over
# nbds://, each verifying the server's certificate against the test CA.
# A client that trusts another CA is refused. Every connection is carried
# as the start-up log says: GnuTLS by default; with CNBD_TEST_TLS_KERNEL=auto
# (server_tls_kernel_interop) one line says whether workers use kernel TLS.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/server_tls_lib.sh"

need nbdinfo nbdcopy qemu-img sha256sum
tls_setup

port=$(free_port)
conf=$tmp/server.conf
tls_config "$conf" "$port" tls=require "tls-certificates=$tmp/tls/pki"
add_export "$conf" disk backend=memory size=64M description=over-tls
start_server "$conf"
grep -q "info: TLS require: X.509 from $tmp/tls/pki" "$tmp/server.log" ||
	fail "the start-up log does not say how TLS is set up"

uri=$(x509_uri "$port" disk)
nbdinfo "$uri" >"$tmp/info" || fail "nbdinfo over TLS failed"
grep -q "with TLS" "$tmp/info" || fail "nbdinfo did not use TLS: $(cat "$tmp/info")"
grep -q "export-size: 67108864" "$tmp/info" || fail "wrong size: $(cat "$tmp/info")"
nbdinfo --list "nbds://127.0.0.1:$port/?tls-certificates=$tmp/tls/client" >"$tmp/list" ||
	fail "nbdinfo --list over TLS failed"
grep -q 'description: over-tls' "$tmp/list" || fail "list over TLS: $(cat "$tmp/list")"

head -c 64M /dev/urandom >"$tmp/in"
nbdcopy "$tmp/in" "$uri" || fail "nbdcopy into the export over TLS failed"
nbdcopy "$uri" "$tmp/out" || fail "nbdcopy out of the export over TLS failed"
in_sum=$(sha256sum <"$tmp/in")
[ "$(sha256sum <"$tmp/out")" = "$in_sum" ] || fail "64 MiB read back over TLS differ from what was written"

# qemu: its own TLS stack (GnuTLS through qcrypto) and its own NBD client.
obj=$(qemu_x509_object)
opts=$(qemu_x509_opts "$port" disk)
qemu-img info --object "$obj" --image-opts "$opts" >"$tmp/qinfo" 2>&1 ||
	fail "qemu-img info over TLS failed: $(cat "$tmp/qinfo")"
grep -q "virtual size: 64 MiB" "$tmp/qinfo" || fail "qemu-img info: $(cat "$tmp/qinfo")"
head -c 64M /dev/urandom >"$tmp/qin"
qemu-img convert -n --object "$obj" -f raw "$tmp/qin" --target-image-opts "$opts" ||
	fail "qemu-img convert into the export over TLS failed"
qemu-img compare --object "$obj" --image-opts "driver=file,filename=$tmp/qin" "$opts" \
	>"$tmp/cmp" 2>&1 || fail "qemu-img compare: $(cat "$tmp/cmp")"
grep -q "Images are identical" "$tmp/cmp" || fail "qemu-img compare: $(cat "$tmp/cmp")"
# ... and compare notices a difference, so the check above means something.
cp "$tmp/qin" "$tmp/qdiff"
printf x | dd of="$tmp/qdiff" bs=1 seek=5000000 conv=notrunc 2>/dev/null
if qemu-img compare --object "$obj" --image-opts "driver=file,filename=$tmp/qdiff" "$opts" \
	>/dev/null 2>&1; then
	fail "qemu-img compare found no difference where there is one"
fi
nbdcopy "$uri" - | sha256sum | grep -q "^$(sha256sum <"$tmp/qin" | cut -d' ' -f1)" ||
	fail "what qemu-img wrote over TLS does not read back through nbdcopy"

# tls-kernel = auto says once whether this kernel takes the sessions
# (kernel TLS where it has the tls module, as in the VM; GnuTLS where it
# has not, as on this project's CI host); off, the default, says nothing.
grep "info: TLS: .*kernel TLS" "$tmp/server.log" >"$tmp/ktls" || true
want=", TLS)"
if [ "${CNBD_TEST_TLS_KERNEL:-off}" = off ]; then
	[ ! -s "$tmp/ktls" ] || fail "kernel TLS named with tls-kernel = off: $(cat "$tmp/ktls")"
elif [ "$(wc -l <"$tmp/ktls")" != 1 ]; then
	fail "not one start-up line about kernel TLS: $(cat "$tmp/ktls")"
elif grep -q "workers hand each session to kernel TLS" "$tmp/ktls"; then
	want=", kernel TLS)"
else
	grep -q "kernel TLS is not available (.*): workers encrypt with GnuTLS" "$tmp/ktls" ||
		fail "unclear: $(cat "$tmp/ktls")"
fi
grep "serving export 'disk'" "$tmp/server.log" >"$tmp/served"
[ -s "$tmp/served" ] && ! grep -vF "$want" "$tmp/served" ||
	fail "connections not carried as announced ($want): $(cat "$tmp/served")"

# A client that does not trust the server's CA.
if nbdinfo "nbds://127.0.0.1:$port/disk?tls-certificates=$tmp/tls/badca" >/dev/null 2>&1; then
	fail "a client trusting another CA connected"
fi
server_alive
log "ok: nbdinfo, nbdcopy (64 MiB both ways), qemu-img info/convert/compare over X.509 TLS"
