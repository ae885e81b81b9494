#!/bin/bash
# kernel-timeout: 600
# nbd-serverd's workers under kernel TLS (tls-kernel = auto; off is the default)
# where the kernel has the tls module, which the CI host lacks:
#   - nbdcopy over nbds:// into and out of a memory export (reads of 64 KiB
#     and more go out with sendfile from the memfd, through kernel TLS)
#     and a file export, 16 MiB of random data, compared; the
#     worker's log line says "kernel TLS" and the kernel counts a TLS
#     socket per connection (/proc/net/tls_stat TlsTxSw, TlsRxSw: the
#     peers are userspace GnuTLS, so only the server's are counted);
#   - tls-kernel = off: the same through GnuTLS, no kernel TLS socket;
#   - a kernel TLS device from nbd-clientd to a kernel TLS worker (TLS in
#     the kernel at both ends): 16 MiB through /dev/nbd0 and back.
# server_tls_kernel_interop runs the host's TLS tests here.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"
. "$CNBD_REPO/tests/kernel/cases/client_tls_lib.bash"

load_modules tls
tls_keys
# tls_stat NAME: a counter of /proc/net/tls_stat.
tls_stat() {
    awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat
}

# serve_tls KERNEL: nbd-serverd (tls = require) with a memory and a file
# export, tls-kernel = KERNEL.
serve_tls() {
    : > /run/cnbd-serverd.log	# /run outlives a case: only this server's lines
    truncate -s 64M "$CNBD_SCRATCH/file.img"
    cat > "$CNBD_SCRATCH/tls.conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
user = nobody
tls = require
tls-certificates = $TLS/pki
tls-kernel = $1
[mem]
backend = memory
size = 64M
[file]
backend = file
path = $CNBD_SCRATCH/file.img
CONF
    start_cnbd_server "$CNBD_SCRATCH/tls.conf" 10809
}

# copy_through EXPORT: 16 MiB in and out with nbdcopy, compared.
head -c 16M /dev/urandom > "$CNBD_SCRATCH/in"
copy_through() {
    local uri="nbds://localhost/$1?tls-certificates=$TLS/client"
    rm -f "$CNBD_SCRATCH/out"
    nbdcopy "$CNBD_SCRATCH/in" "$uri" || guest_fail "nbdcopy into $1 over TLS failed"
    nbdcopy "$uri" "$CNBD_SCRATCH/out" || guest_fail "nbdcopy out of $1 over TLS failed"
    head -c 16M "$CNBD_SCRATCH/out" | cmp - "$CNBD_SCRATCH/in" ||
        guest_fail "$1: the data read back over TLS differs"
}

log "--- tls-kernel = auto"
serve_tls auto
grep -q "TLS: workers hand each session to kernel TLS after the handshake (tls-kernel = auto)" \
    "$CNBD_SERVER_LOG" || guest_fail "the server does not say it uses kernel TLS"
tx0=$(tls_stat TlsTxSw) rx0=$(tls_stat TlsRxSw)
copy_through mem
copy_through file
nbdinfo "nbds://localhost/mem?tls-certificates=$TLS/client" > "$CNBD_SCRATCH/info" ||
    guest_fail "nbdinfo over TLS failed"
grep -q "with TLS" "$CNBD_SCRATCH/info" || guest_fail "nbdinfo: $(cat "$CNBD_SCRATCH/info")"
served=$(grep -c "serving export '\(mem\|file\)'.*, kernel TLS)" "$CNBD_SERVER_LOG" || true)
tx=$(( $(tls_stat TlsTxSw) - tx0 )) rx=$(( $(tls_stat TlsRxSw) - rx0 ))
log "$served connections served with kernel TLS; the kernel made $tx TX and $rx RX TLS contexts"
(( served >= 4 )) || guest_fail "$served connections said kernel TLS, want 4 or more"
grep "serving export" "$CNBD_SERVER_LOG" | grep -v "kernel TLS)" &&
    guest_fail "a connection was not served with kernel TLS"
(( tx >= served && rx >= served )) || guest_fail "the kernel counted fewer TLS sockets than connections"

log "--- a kernel TLS device to a kernel TLS worker"
nbd_load nbds_max=4
start_clientd -M
# The kernel log outlives a case (fault_eio makes I/O errors on nbd0 on
# purpose): only what this device logs counts.
dmesg -C
files_before=$(grep -c "serving export 'file'" "$CNBD_SERVER_LOG")
dev=$(nbdctl attach "nbds://localhost/file?tls-certificates=$TLS/client" --tls-mode kernel) ||
    guest_fail "attach failed"
tls_is "$dev" kernel
head -c 16M /dev/urandom > "$CNBD_SCRATCH/dev.in"
dd if="$CNBD_SCRATCH/dev.in" of="/dev/$dev" bs=1M oflag=direct status=none || guest_fail "write failed"
dd if="/dev/$dev" of="$CNBD_SCRATCH/dev.out" bs=1M count=16 iflag=direct status=none ||
    guest_fail "read failed"
cmp "$CNBD_SCRATCH/dev.in" "$CNBD_SCRATCH/dev.out" || guest_fail "the device read back differs"
(( $(grep -c "serving export 'file'.*, kernel TLS)" "$CNBD_SERVER_LOG") > files_before )) ||
    guest_fail "the device's connection was not served with kernel TLS"
nbdctl detach "$dev" || guest_fail "detach failed"
no_io_errors "$dev"
stop_cnbd_server > /dev/null

log "--- tls-kernel = off"
serve_tls off
tx0=$(tls_stat TlsTxSw)
copy_through mem
(( $(tls_stat TlsTxSw) == tx0 )) || guest_fail "tls-kernel = off made kernel TLS sockets"
grep -q "serving export 'mem'.*, TLS)" "$CNBD_SERVER_LOG" || guest_fail "not served with GnuTLS"
grep -q "kernel TLS" "$CNBD_SERVER_LOG" && guest_fail "tls-kernel = off used kernel TLS"
stop_cnbd_server > /dev/null

log "ok"
