#!/bin/bash
# The rbd backend's checks in the master, without a cluster: a bad
# parameter, a missing ceph.conf or key stops nbd-serverd at start-up
# with a message naming the problem. And a cluster nobody answers for
# (a monitor address with no listener) fails a client within timeout=,
# with the reason in the log, while the server carries on.
. "$(dirname "$0")/../lib/common.sh"
need nbdinfo
[ -e "$CNBD_BUILD/backends/rbd.so" ] ||
	fail "$CNBD_BUILD/backends/rbd.so is not built (install librbd-dev librados-dev)"
cnbd_tmpdir

dead=$(free_port)
printf '[global]\nmon host = v2:127.0.0.1:%s\nauth client required = cephx\n' \
	"$dead" >"$tmp/ceph.conf"
printf '[client.admin]\n\tkey = AQBvO0VnAAAAABAAFlwXU2vbK4JDYuJ9Tm3Y0A==\n' \
	>"$tmp/keyring"
chmod 600 "$tmp/ceph.conf" "$tmp/keyring"

# [server] with a control socket of our own, not the system's.
server_section() {
	SERVER_CONTROL=$tmp/control.sock write_server_config "$1" "127.0.0.1:$2"
}

# expect_refused WANT key=value...: the server must not start, and must
# say WANT.
expect_refused() {
	local want=$1 port out
	shift
	port=$(free_port)
	server_section "$tmp/bad.conf" "$port"
	add_export "$tmp/bad.conf" img backend=rbd "$@"
	if out=$(timeout 20 "$SERVERD" -f -c "$tmp/bad.conf" 2>&1); then
		fail "nbd-serverd started with: $*"
	fi
	grep -qF -- "$want" <<<"$out" ||
		fail "for '$*' expected '$want', got: $out"
}

base=("conf=$tmp/ceph.conf" "keyring=$tmp/keyring")
expect_refused "rbd: unknown parameter 'user'" image=x user=admin "${base[@]}"
expect_refused "rbd: the parameter 'image' is required" "${base[@]}"
expect_refused "rbd: 'pool' must not be empty" image=x pool= "${base[@]}"
expect_refused "rbd: cannot read the Ceph configuration $tmp/nope.conf" \
	image=x "conf=$tmp/nope.conf" "keyring=$tmp/keyring"
expect_refused "rbd: cannot read the keyring $tmp/nope" image=x \
	"conf=$tmp/ceph.conf" "keyring=$tmp/nope"
expect_refused "rbd: the keyring $tmp/keyring holds no key for client.bob" \
	image=x id=bob "${base[@]}"
expect_refused "rbd: timeout must be 1 to" image=x timeout=0 "${base[@]}"

# Nobody answers at the monitor address: refused in about timeout=2 s.
port=$(free_port)
server_section "$tmp/server.conf" "$port"
add_export "$tmp/server.conf" img backend=rbd image=x timeout=2 "${base[@]}"
start_server "$tmp/server.conf"
t=$(date +%s.%N)
if timeout 60 nbdinfo "nbd://127.0.0.1:$port/img" >/dev/null 2>&1; then
	fail "a client was served by a cluster that does not exist"
fi
secs=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
log "refused after $secs s"
awk -v s="$secs" 'BEGIN { exit !(s < 15) }' ||
	fail "refusing took $secs s with timeout=2"
grep -q "rbd: cannot connect to the Ceph cluster of $tmp/ceph.conf as client.admin within 2 s" \
	"$tmp/server.log" || fail "no clear message for an unreachable cluster"
server_alive
echo ok
