#!/bin/bash
# kernel-timeout: 300
# ext4 on nbds:// to nbd-serverd with tls = require and client certificates
# checked, through a recording relay: the device is served with kernel TLS
# (TLS_MODE=relay: the daemon's relay), checksummed files survive detach
# and reattach, a 4 MiB pattern written through the file system and read
# back never appears on the wire, and the stream is TLS records only (type
# 23 after the handshake). A server certificate from another CA is refused
# with the reason, and so is a client without a certificate.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
. "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"

nbd_load nbds_max=4
tls_keys
tls_export_conf "$CNBD_SCRATCH/disk.img" 128M x509 10809
start_cnbd_server "$SERVER_CONF" 10809
start_wire 10900 10809
start_clientd -M
URI="nbds://localhost:10900/disk?tls-certificates=$TLS/client"

dev=$(nbdctl attach "$URI" --tls-mode "$TLS_MODE") || guest_fail "attach over TLS failed"
[[ $dev == nbd0 ]] || guest_fail "attached $dev"
tls_is nbd0 "$TLS_MODE"
grep "nbd0: attached .*, $TLS_MODE TLS (TLS1\.3 " "$CLIENTD_LOG" || guest_fail "the attach log line does not name the TLS"
ext4_mount
checksummed_files "$MNT/files"
write_pattern "$MNT/pattern"
umount "$MNT"
nbdctl detach nbd0 || guest_fail "detach failed"
nbd_connected 0 && guest_fail "nbd0 still connected after detach"

dev=$(nbdctl attach "$URI" --tls-mode "$TLS_MODE") || guest_fail "reattach over TLS failed"
files_intact
wire_check

log "--- refusals"
if nbdctl attach "nbds://localhost:10809/disk?tls-certificates=$TLS/badca" 2> "$CNBD_SCRATCH/err"; then
    guest_fail "a server certificate from another CA was accepted"
fi
cat "$CNBD_SCRATCH/err"
grep -q "the server's certificate does not verify against $TLS/badca for host localhost: .*issuer is unknown" \
    "$CNBD_SCRATCH/err" || guest_fail "unclear refusal of the other CA"
mkdir -p "$CNBD_SCRATCH/nocert" && cp "$TLS/client/ca-cert.pem" "$CNBD_SCRATCH/nocert/"
if nbdctl attach "nbds://localhost:10809/disk?tls-certificates=$CNBD_SCRATCH/nocert" 2> "$CNBD_SCRATCH/err"; then
    guest_fail "nbd-serverd with tls-verify-peer served a client without a certificate"
fi
cat "$CNBD_SCRATCH/err"
# nbd-serverd says why with an alert, and the daemon passes it on.
grep -Eq "while (reading the reply to|sending option) GO: the server sent the TLS alert 'Certificate is required'" "$CNBD_SCRATCH/err" ||
    guest_fail "unclear refusal without a client certificate"
nbd_connected 0 && guest_fail "a refused attach left nbd0 connected"
log "ok"
