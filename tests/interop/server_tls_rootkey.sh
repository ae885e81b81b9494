#!/bin/bash
# (root) The server's private key and PSK file readable by root only
# (0600, owned by root), as an operator keeps them: the master reads
# them before any fork, and workers, which run as nobody and could not
# open them, serve TLS with what they inherited. The test proves nobody
# cannot read the files, then holds a TLS connection open and checks its
# worker: uid nobody, serving over TLS, no descriptor on either file.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/server_tls_lib.sh"
. "$(dirname "$0")/server_lib.sh"

[ "$(id -u)" = 0 ] || fail "must run as root (CI runs as root): the privilege drop cannot be tested otherwise"
need nbdinfo setpriv /usr/bin/python3
tls_setup

key=$tmp/tls/pki/server-key.pem
psk=$tmp/tls/keys.psk
chown root:root "$key" "$psk"
[ "$(stat -c %a:%U "$key")" = 600:root ] && [ "$(stat -c %a:%U "$psk")" = 600:root ] ||
	fail "the key files are not root-only 0600"
for f in "$key" "$psk"; do
	if setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups cat "$f" >/dev/null 2>&1; then
		fail "nobody can read $f: the test would prove nothing"
	fi
done

port=$(free_port)
conf=$tmp/server.conf
tls_config "$conf" "$port" tls=require "tls-certificates=$tmp/tls/pki" "tls-psk-file=$psk"
grep -qx 'user = nobody' "$conf" || fail "helper did not configure user = nobody"
add_export "$conf" disk backend=memory size=16M
start_server "$conf"

for uri in "$(x509_uri "$port" disk)" "$(psk_uri "$port" disk)"; do
	rm -f "$tmp/ready"
	hold_client "$uri" "$tmp/ready"
	wait_file "$tmp/ready"
	worker=$(wait_worker "$SERVER_PID")
	[ "$(status_field "$worker" Uid | cut -f1)" = "$(id -u nobody)" ] ||
		fail "worker $worker does not run as nobody"
	for fd in /proc/"$worker"/fd/*; do
		case "$(readlink "$fd")" in
		"$key"|"$psk"|"$tmp"/tls/*) fail "worker $worker holds $(readlink "$fd")" ;;
		esac
	done
	kill "$HOLD_PID" 2>/dev/null || true
	wait "$HOLD_PID" 2>/dev/null || true
	for _ in $(seq 50); do
		[ -z "$(workers_of "$SERVER_PID")" ] && break
		sleep 0.1
	done
done
grep -q "serving export 'disk'" "$tmp/server.log" || fail "no worker served the export"
grep -q "privilege drop failed\|Permission denied" "$tmp/server.log" &&
	fail "a worker failed: $(grep -m1 'privilege drop failed\|Permission denied' "$tmp/server.log")"
nbdinfo --size "$(x509_uri "$port" disk)" >/dev/null || fail "nbdinfo over TLS failed"
log "ok: root-only 0600 key and PSK file; workers as nobody serve X.509 and PSK"
