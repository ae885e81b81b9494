#!/bin/bash
# kernel-timeout: 900
# The host's TLS interop tests of nbd-serverd, run here unchanged, where
# the kernel has the tls module (the CI host's has not) and so every TLS
# connection they make is served by kernel TLS in the worker (tls-kernel
# = auto, through CNBD_TEST_TLS_KERNEL; the default is off): nbdinfo, nbdcopy (64 MiB both ways, sha256) and
# qemu-img over X.509 and PSK, client certificates, the TLS modes and a
# tls = require export. Each test that makes a TLS connection must raise
# the kernel's count of TLS sockets (/proc/net/tls_stat TlsTxSw; the
# peers are userspace GnuTLS, so only the server's are counted). The
# others (server_tls_reload, _rootkey, _hidden_meta_context) passed here
# too when this case was written, but add nothing for the record layer
# and would double its time.
. "$CNBD_KERNEL_LIB"

load_modules tls
tls_stat() {
    awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat
}
export CNBD_SRC=$CNBD_REPO PYTHONPATH=$CNBD_REPO/tests/lib PATH=/usr/sbin:/usr/bin:/sbin:/bin
export CNBD_TLS_KEY_ARGS=--key-type=ecdsa	# RSA keys are slow under TCG
export CNBD_TEST_TLS_KERNEL=auto		# server_tls_lib.sh's tls_config
failed=()
for name in server_tls_x509.sh server_tls_psk.sh server_tls_verify.sh server_tls_export.sh \
        server_tls_modes.sh protocol_starttls_refused.py; do
    t=$CNBD_REPO/tests/interop/$name
    [[ -x $t ]] || guest_fail "$t is not there"
    tx0=$(tls_stat TlsTxSw) start=$SECONDS
    if "$t" > "$CNBD_SCRATCH/$name.log" 2>&1; then
        log "PASS $name ($((SECONDS - start)) s, $(( $(tls_stat TlsTxSw) - tx0 )) kernel TLS sockets)"
    else
        log "FAIL $name"
        tail -20 "$CNBD_SCRATCH/$name.log"
        failed+=("$name")
    fi
    # Every one but the STARTTLS refusal makes TLS connections.
    [[ $name == protocol_* ]] || (( $(tls_stat TlsTxSw) > tx0 )) ||
        failed+=("$name (no kernel TLS)")
done
(( ${#failed[@]} == 0 )) || guest_fail "with kernel TLS: ${failed[*]}"
log "ok"
