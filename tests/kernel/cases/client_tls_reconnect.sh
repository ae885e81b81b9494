#!/bin/bash
# kernel-timeout: 300
# Reconnecting over TLS (TLS_MODE=relay: through the daemon's relay): ext4
# on nbds:// to nbd-serverd (tls = require, X.509), a writer appending and
# fsyncing checksummed records; nbd-serverd is SIGKILLed and started again
# 3 s later. A fresh handshake, then RECONFIGURE: the writer sees no error,
# one reconnect is logged, every fsync'd record is there. Then the server
# comes back with a certificate from another CA: the device stays
# "reconnecting" with the reason in nbdctl list and the log, is "failed"
# once dead-timeout passes, and works again when the right server returns.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
. "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"

nbd_load nbds_max=4
tls_keys
tls_export_conf "$CNBD_SCRATCH/disk.img" 128M x509 10809
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M
URI="nbds://localhost/disk?tls-certificates=$TLS/client"

dev=$(nbdctl attach "$URI" --tls-mode "$TLS_MODE" --timeout 10 --dead-timeout 20) ||
    guest_fail "attach over TLS failed"
[[ $dev == nbd0 ]] || guest_fail "attached $dev"
tls_is nbd0 "$TLS_MODE"
ext4_mount
start_writer "$MNT/records"
wait_records 10
kill_server KILL
forget_server
before=$(writer_progress)
lost_at=$SECONDS
sleep 3
start_cnbd_server "$SERVER_CONF" 10809
log "server back; the writer had fsync'd record $before when it died"
wait_until 60 "the reconnect" eval '(( $(reconnected_count) > 0 ))'
log "reconnected $((SECONDS - lost_at)) s after the kill: $(grep 'nbd0: reconnected' "$CLIENTD_LOG")"
wait_records $((before + 20)) 60
state_is nbd0 connected || { nbdctl list; guest_fail "nbd0 not connected after the reconnect"; }
tls_is nbd0 "$TLS_MODE"
stop_writer
[[ $(reconnected_count) == 1 ]] || guest_fail "$(reconnected_count) reconnects logged, want 1"
umount "$MNT"
no_io_errors nbd0
fsck.ext4 -fn /dev/nbd0 || guest_fail "fsck found errors"
mount -o ro /dev/nbd0 "$MNT" || guest_fail "mount for the check failed"
verify_records
umount "$MNT"

log "--- the server returns with a certificate from another CA"
mkdir -p "$CNBD_SCRATCH/otherpki"
(
    cd "$CNBD_SCRATCH/otherpki"
    cp "$TLS/pki/server-key.pem" "$TLS/pki/server.info" .
    certtool --generate-certificate --load-ca-certificate "$TLS/badca/ca-cert.pem" \
        --load-ca-privkey "$TLS/badca/ca-key.pem" --load-privkey server-key.pem \
        --template server.info --outfile server-cert.pem 2>/dev/null
    chmod 0600 server-key.pem
) || guest_fail "could not make the other CA's server certificate"
sed "s|^tls-certificates = .*|tls-certificates = $CNBD_SCRATCH/otherpki|; /^tls-verify-peer/d" \
    "$SERVER_CONF" > "$CNBD_SCRATCH/other.conf"
kill_server KILL
forget_server
start_cnbd_server "$CNBD_SCRATCH/other.conf" 10809
wait_until 30 "the refusal in nbdctl list" \
    eval 'nbdctl list | grep -q "last error: the server.s certificate does not verify against $TLS/client for host localhost"'
nbdctl list
state_is nbd0 reconnecting || guest_fail "state $(list_field nbd0 2), want reconnecting"
grep -q "nbd0: the server's certificate does not verify against $TLS/client for host localhost: .*issuer is unknown" \
    "$CLIENTD_LOG" || guest_fail "the refusal is not in the log"
(( $(grep -c "certificate does not verify" "$CLIENTD_LOG") == 1 )) ||
    guest_fail "the refusal was logged more than once"
wait_until 60 "the dead-timeout" state_is nbd0 failed
log "failed, as dead-timeout says"
grep -q "nbd0: no connection to .* for 20 s (dead-timeout)" "$CLIENTD_LOG" ||
    guest_fail "the dead-timeout is not in the log"
kill_server KILL
forget_server
start_cnbd_server "$SERVER_CONF" 10809
back_at=$SECONDS
nbdctl udev-add nbd0	# cut the backoff short, as udev would
wait_until 60 "the trusted server taken back" state_is nbd0 connected
log "connected again $((SECONDS - back_at)) s after the trusted server returned"
dd if=/dev/nbd0 of=/dev/null bs=4096 count=16 iflag=direct || guest_fail "no reads after the server returned"
nbdctl detach nbd0 || guest_fail "detach failed"
log "ok"
