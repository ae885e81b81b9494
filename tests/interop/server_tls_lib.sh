# Helpers shared by the server_tls_*.sh tests (sourced after common.sh
# and tls_keys.sh).
#   tls_setup               $tmp, and test keys in $tmp/tls (make_tls_keys);
#                           the server key and PSK file root-only 0600
#   tls_config F PORT KEY=VALUE...
#                           a [server] section (write_server_config) with
#                           the keys given (control = off, as always
#                           there), and no export: add them with add_export;
#                           tls-kernel = $CNBD_TEST_TLS_KERNEL when that is
#                           set (server_tls_kernel_interop sets auto)
#   x509_uri PORT NAME      nbds:// with the client's certificate directory
#   psk_uri PORT NAME [USER [FILE]]   nbds://USER@ (default alice, keys.psk)
#   qemu_x509_object        qemu-img --object for the client certificates
#   qemu_x509_opts PORT NAME  --image-opts for the export, over that object
#   raw_check PORT PYTHON   runs PYTHON with rawnbd imported and port set
tls_setup() {
	cnbd_tmpdir
	make_tls_keys "$tmp/tls"
	# What an operator does with a key: only root may read it.
	chmod 600 "$tmp/tls/pki/server-key.pem" "$tmp/tls/keys.psk"
}

tls_config() {
	local f=$1 port=$2 kv
	shift 2
	write_server_config "$f" "127.0.0.1:$port"
	{
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
		[ -z "${CNBD_TEST_TLS_KERNEL:-}" ] || echo "tls-kernel = $CNBD_TEST_TLS_KERNEL"
	} >>"$f"
}

x509_uri() {
	echo "nbds://127.0.0.1:$1/$2?tls-certificates=$tmp/tls/client"
}

psk_uri() {
	echo "nbds://${3:-alice}@127.0.0.1:$1/$2?tls-psk-file=${4:-$tmp/tls/keys.psk}"
}

# Prints words for qemu-img: --object ... --image-opts OPTS is the caller's.
qemu_x509_object() {
	echo "tls-creds-x509,id=tls0,dir=$tmp/tls/client,endpoint=client"
}

qemu_x509_opts() {
	echo "driver=nbd,host=127.0.0.1,port=$1,export=$2,tls-creds=tls0"
}

raw_check() {
	/usr/bin/python3 - "$1" <<PY || fail "raw protocol check failed (see above)"
import sys
sys.path.insert(0, "$CNBD_SRC/tests/lib")
from rawnbd import *
port = int(sys.argv[1])
$2
PY
}
