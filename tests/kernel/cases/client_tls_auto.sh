#!/bin/bash
# kernel-timeout: 120
# Without the tls module (unloaded, and its file hidden so that libkmod
# cannot load it again): tls-mode auto says once why and relays, the
# device works and nbdctl list shows "relay"; tls-mode kernel fails the
# attach with the reason instead; nothing is ever served in plaintext.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
. "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"

rmmod tls 2>/dev/null || true
grep -qw '^tls' /proc/modules && guest_fail "the tls module is loaded and in use"
tlsdir=/lib/modules/$(uname -r)/kernel/net/tls
[[ -d $tlsdir ]] || guest_fail "no $tlsdir in this kernel's modules"
mount -t tmpfs none "$tlsdir"
on_exit "umount $tlsdir"
nbd_load nbds_max=4
tls_keys
tls_export_conf "$CNBD_SCRATCH/disk.img" 32M psk 10809
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M
URI="nbds://alice@127.0.0.1/disk?tls-psk-file=$TLS/keys.psk"

if nbdctl attach "$URI" --tls-mode kernel 2> "$CNBD_SCRATCH/err"; then
    guest_fail "tls-mode kernel attached without the tls module"
fi
cat "$CNBD_SCRATCH/err"
grep -q "tls-mode = kernel, but kernel TLS cannot carry the connection: .*tls" "$CNBD_SCRATCH/err" ||
    guest_fail "tls-mode kernel failed without a clear reason"
dev=$(nbdctl attach "$URI") || guest_fail "attach with tls-mode auto failed"
tls_is "$dev" relay
grep "kernel TLS cannot carry" "$CLIENTD_LOG"
(( $(grep -c "$dev: kernel TLS cannot carry the connection to .* the daemon relays its TLS instead (tls-mode = auto)" "$CLIENTD_LOG") == 1 )) ||
    guest_fail "auto's fall back not logged exactly once"
for i in 0 1 2 3 4 5 6 7; do
    head -c 1M /dev/urandom > "$CNBD_SCRATCH/blob"
    dd if="$CNBD_SCRATCH/blob" of="/dev/$dev" bs=1M seek=$i oflag=direct status=none || guest_fail "write $i failed"
    dd if="/dev/$dev" of="$CNBD_SCRATCH/back" bs=1M skip=$i count=1 iflag=direct status=none ||
        guest_fail "read $i failed"
    cmp "$CNBD_SCRATCH/back" "$CNBD_SCRATCH/blob" || guest_fail "MiB $i read back differs"
done
grep -qw '^tls' /proc/modules && guest_fail "the tls module got loaded after all"
nbdctl detach "$dev" || guest_fail "detach failed"
log "ok"
