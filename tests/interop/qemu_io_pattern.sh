#!/bin/bash
# qemu-io pattern writes and pattern-verified reads, over TCP and a Unix
# socket: -P patterns at aligned and odd offsets, write -z (zeroes),
# discard, aio writes and flush; a read with the wrong pattern fails.
. "$(dirname "$0")/../lib/common.sh"
need qemu-io
cnbd_tmpdir

port=$(free_port)
sock=$tmp/nbd.sock
write_server_config "$tmp/cnbd.conf" "127.0.0.1:$port" "unix:$sock"
add_export "$tmp/cnbd.conf" disk backend=memory size=16M
start_server "$tmp/cnbd.conf"

qio() {
	local out
	out=$(qemu-io -f raw "$@" 2>&1) || { echo "$out" >&2; return 1; }
	echo "$out"
	# qemu-io reports verification failures on stdout and may still exit 0.
	if grep -qi "pattern verification failed\|error\|failed" <<<"$out"; then
		return 1
	fi
}

for uri in "nbd://127.0.0.1:$port/disk" "nbd+unix:///disk?socket=$sock"; do
	log "using $uri"
	qio -c 'write -P 0xab 0 1M' -c 'write -P 0xcd 1M 1M' -c 'flush' "$uri" ||
		fail "pattern writes"
	qio -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 1M 1M' "$uri" || fail "pattern reads"
	qio -c 'write -P 0x11 12345 4097' -c 'read -P 0x11 12345 4097' \
	    -c 'read -P 0xab 0 12345' -c 'read -P 0xab 16442 4096' "$uri" ||
		fail "odd offset write"
	qio -c 'write -z 65536 65536' -c 'read -P 0 65536 65536' \
	    -c 'read -P 0xab 131072 4096' "$uri" || fail "write -z"
	qio -c 'discard 4M 1M' "$uri" || fail "discard"
	qio -c 'aio_write -P 0x77 8M 64k' -c 'aio_write -P 0x78 9M 64k' -c 'aio_flush' \
	    -c 'read -P 0x77 8M 64k' -c 'read -P 0x78 9M 64k' "$uri" || fail "aio writes"
	# A wrong expectation must fail (or the checks above prove nothing).
	if qio -c 'read -P 0xee 0 4096' "$uri" >/dev/null 2>&1; then
		fail "qemu-io did not detect a wrong pattern"
	fi
	# Reset for the next transport.
	qio -c 'write -z 0 16M' "$uri" >/dev/null || fail "zero all"
done
server_alive
