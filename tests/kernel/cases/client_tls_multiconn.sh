#!/bin/bash
# kernel-timeout: 400
# Several connections on one TLS device (TLS_MODE=relay: one relay per
# connection in the daemon): nbds:// to nbd-serverd (tls = require,
# X.509) with --connections 4; four TLS sessions, each carried as asked.
# fio writes and verifies (crc32c) from one job per vCPU, so that nbd.ko's
# queues (one per CPU: the VM has two, so two of the four connections
# carry the I/O) spread it over the connections: each of two carries
# more than 1 MiB. Then checksummed files on ext4 across detach and a
# reattach with four connections again, and fsck.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
. "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"

nbd_load nbds_max=4
tls_keys
tls_export_conf "$CNBD_SCRATCH/disk.img" 256M x509 10809
sed -i 's/^max-connections = 1$/max-connections = 4/' "$SERVER_CONF"
start_cnbd_server "$SERVER_CONF" 10809
start_clientd -M
URI="nbds://localhost/disk?tls-certificates=$TLS/client"
conns() { ss -Htn state established '( dport = :10809 )' | wc -l; }
# The log outlives the case (/run): count, compare with a count before.
served_tls() { grep -c "serving export 'disk'.*TLS)" "$CNBD_SERVER_LOG" || true; }

attach() {
    local dev served
    served=$(served_tls)
    dev=$(nbdctl attach "$URI" --tls-mode "$TLS_MODE" --connections 4) ||
        guest_fail "attach with 4 connections over TLS failed"
    [[ $dev == nbd0 ]] || guest_fail "attached $dev"
    tls_is nbd0 "$TLS_MODE"
    [[ $(list_field nbd0 5) == 4 ]] || { nbdctl list; guest_fail "not 4 connections"; }
    wait_until 10 "four connections to the server" eval '[[ $(conns) == 4 ]]'
    wait_until 10 "the server's four TLS connections" eval '(( $(served_tls) == served + 4 ))'

}

attach
log "fio: write and verify, one job per vCPU"
fio --name=verify --filename=/dev/nbd0 --ioengine=libaio --direct=1 --rw=randwrite \
    --bs=64k --iodepth=8 --size=32M --numjobs=2 --offset_increment=64M \
    --cpus_allowed=0,1 --cpus_allowed_policy=split --verify=crc32c --verify_fatal=1 \
    --output="$CNBD_SCRATCH/fio.out" || { cat "$CNBD_SCRATCH/fio.out"; guest_fail "fio verify failed"; }
grep -E "WRITE:|READ:" "$CNBD_SCRATCH/fio.out"
# What each connection received, from the server's side of the kernel's
# counters (bytes_received of the client's socket, in relay mode of the
# daemon's).
ss -Htni state established '( dport = :10809 )' | grep -o 'bytes_received:[0-9]*' |
    cut -d: -f2 > "$CNBD_SCRATCH/received"
log "bytes received per connection: $(paste -sd' ' "$CNBD_SCRATCH/received")"
(( $(awk '$1 > 1048576' "$CNBD_SCRATCH/received" | wc -l) >= 2 )) ||
    guest_fail "fewer than two connections carried the reads"

ext4_mount
checksummed_files "$MNT/files"
umount "$MNT"
nbdctl detach nbd0 || guest_fail "detach failed"
wait_until 10 "the connections to close" eval '[[ $(conns) == 0 ]]'
attach
files_intact
log "ok"
