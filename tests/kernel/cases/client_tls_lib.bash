# Shared by the client_tls_*.sh kernel cases (sourced after client_lib.bash).
#
#   TLS_MODE                  kernel (default) or relay: how the cases attach
#   tls_keys                  test CA, server/client certificates, a PSK file
#                             in $TLS (tests/lib/tls_keys.sh)
#   tls_export_conf IMAGE SIZE x509|psk [PORT]
#                             nbd-serverd, tls = require, a single-use file
#                             export 'disk'; x509 checks client certificates
#   start_wire LISTEN TARGET  the recording relay (client_tls_wire.py)
#   wire_check                nothing but TLS records on the wire, and the
#                             pattern that write_pattern wrote nowhere in it
#   write_pattern FILE        4 MiB of a known pattern through the file system,
#                             synced, dropped from the cache, read back
#   tls_is DEVICE MODE        nbdctl list shows TLS MODE for DEVICE
#   checksummed_files DIR, check_files DIR, files_intact
#                             files and their SHA-256 across a reattach

TLS_MODE=${TLS_MODE:-kernel}
TLS=$CNBD_SCRATCH/tls
WIRE=$CNBD_SCRATCH/wire
WIRE_PY=$CNBD_REPO/tests/kernel/cases/client_tls_wire.py
# 16 bytes that a random TLS stream of a few MiB holds by chance with
# probability about 2^-100.
PATTERN_HEX=434e42442d504c41494e544558542d21

tls_keys() {
    need() { local t; for t in "$@"; do command -v "$t" >/dev/null || guest_fail "$t not installed"; done; }
    fail() { guest_fail "$@"; }
    . "$CNBD_REPO/tests/lib/tls_keys.sh"
    local t0=$SECONDS
    CNBD_TLS_KEY_ARGS=--key-type=ecdsa make_tls_keys "$TLS"
    log "TLS keys made in $((SECONDS - t0)) s"
    chmod 0600 "$TLS/pki/server-key.pem" "$TLS/keys.psk"
}

tls_export_conf() {
    local image=$1 size=$2 kind=$3 port=${4:-10809}
    truncate -s "$size" "$image"
    SERVER_CONF=$CNBD_SCRATCH/server.conf
    {
        echo "[server]"
        echo "listen = 127.0.0.1:$port"
        echo "backend-dir = $CNBD_BUILD/backends"
        echo "tls = require"
        if [[ $kind == x509 ]]; then
            echo "tls-certificates = $TLS/pki"
            echo "tls-verify-peer = true"
        else
            echo "tls-psk-file = $TLS/keys.psk"
        fi
        echo "[disk]"
        echo "backend = file"
        echo "path = $image"
        echo "max-connections = 1"
    } > "$SERVER_CONF"
}

WIRE_PID=
start_wire() {
    mkdir -p "$WIRE"
    "$WIRE_PY" relay "$1" "$2" "$WIRE" &
    WIRE_PID=$!
    on_exit "kill $WIRE_PID 2>/dev/null"
    wait_for_tcp "$1"
}

wire_check() {
    "$WIRE_PY" check "$WIRE" "$PATTERN_HEX" || guest_fail "the wire check failed"
}

write_pattern() {
    python3 -c '
import sys
p = bytes.fromhex(sys.argv[2])
with open(sys.argv[1], "wb") as f:
    f.write(p * ((4 << 20) // len(p)))' "$1" "$PATTERN_HEX"
    sync
    echo 3 > /proc/sys/vm/drop_caches
    python3 -c '
import sys
p = bytes.fromhex(sys.argv[2])
d = open(sys.argv[1], "rb").read()
sys.exit(0 if d == p * ((4 << 20) // len(p)) else "the pattern did not read back")' "$1" "$PATTERN_HEX" ||
        guest_fail "the pattern file read back wrong"
}

tls_is() {
    [[ $(list_field "$1" 7) == "$2" ]] || { nbdctl list; guest_fail "$1: TLS is '$(list_field "$1" 7)', want $2"; }
}

# checksummed_files DIR: a few files of random data and their SHA-256 list.
checksummed_files() {
    mkdir -p "$1"
    local i
    for i in 1 2 3 4; do
        head -c $((i * 700000)) /dev/urandom > "$1/f$i"
    done
    (cd "$1" && sha256sum f? > "$CNBD_SCRATCH/sums")
}
check_files() {
    (cd "$1" && sha256sum -c --quiet "$CNBD_SCRATCH/sums") || guest_fail "files differ after reattach"
}
# files_intact [DEVICE]: on a reattached DEVICE (nbd0), the files
# checksummed_files wrote under $MNT/files are there, fsck is clean; then
# detach, and no I/O error was logged.
files_intact() {
    local dev=${1:-nbd0}
    mount "/dev/$dev" "$MNT" || guest_fail "mount after reattach failed"
    check_files "$MNT/files"
    umount "$MNT"
    fsck.ext4 -fn "/dev/$dev" > /dev/null || guest_fail "fsck found errors"
    nbdctl detach "$dev" || guest_fail "detach failed"
    no_io_errors "$dev"
}
