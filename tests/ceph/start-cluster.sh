#!/bin/bash
# Starts a throw-away single-node Ceph cluster from Debian's packages: one
# monitor and one OSD (memstore: data in the OSD's memory), cephx, bound to
# 127.0.0.1 on a free port, everything under DIR, no systemd. Then it
# makes pool "rbd" and a 256 MiB image rbd/test (CEPH_IMAGE_SIZE).
#
# usage: tests/ceph/start-cluster.sh DIR
#   DIR/ceph.conf                    for -c (ceph, rbd, qemu, the backend)
#   DIR/ceph.client.admin.keyring    mode 0600, named by ceph.conf
#   DIR/log/                         every daemon's log
#   DIR/*.pid                        for tests/ceph/stop-cluster.sh DIR
# environment:
#   CEPH_IMAGE_SIZE   size of rbd/test (default 256M); "none": no image
#   CEPH_IMAGE_FEATURES  rbd create --image-feature (default: rbd's own,
#                     with exclusive-lock; "layering" suits several writers)
#   CEPH_OSD_BYTES    memstore capacity (default 1G)
#   CEPH_START_TIMEOUT  seconds for the whole start (default 120)
#
# If the cluster does not come up, the script prints the daemons' logs,
# stops what it started and exits 1: a test built on it fails with the
# cluster's log, never with a hang. The last line on success is
# "ceph: cluster up in N.N s".
set -euo pipefail

dir=${1:?usage: start-cluster.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
image_size=${CEPH_IMAGE_SIZE:-256M}
osd_bytes=${CEPH_OSD_BYTES:-1G}
limit=${CEPH_START_TIMEOUT:-120}
t0=$(date +%s.%N)

for t in ceph-mon ceph-osd ceph ceph-authtool monmaptool rbd uuidgen; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "start-cluster: '$t' is not installed (Debian: ceph-mon ceph-osd ceph-common uuid-runtime)" >&2
		exit 1
	}
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir/log" "$dir/run" "$dir/mon" "$dir/osd"

show_logs() {
	local f
	for f in "$dir"/log/*; do
		[ -s "$f" ] || continue
		echo "--- $f (last 60 lines):" >&2
		tail -n 60 "$f" >&2
	done
}

die() {
	echo "start-cluster: $*" >&2
	show_logs
	"$here/stop-cluster.sh" "$dir" >&2 || true
	exit 1
}

elapsed() {
	echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }'
}

# A free TCP port on 127.0.0.1 (several clusters may run at once).
port=$(/usr/bin/python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
')
fsid=$(uuidgen)
conf=$dir/ceph.conf
admin=$dir/ceph.client.admin.keyring

# Everything a daemon or a client would look for under /var or /etc is
# pointed into $dir. One copy of the data and no redundancy: this is a
# test rig, not a cluster.
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $admin
run dir = $dir/run
admin socket = $dir/run/\$name.\$pid.asok
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
crash dir = $dir/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# Not from the host name: a VM's may be "(none)", which CRUSH refuses.
crush location = root=default host=cnbd-test
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
auth allow insecure global id reclaim = false
mon data avail warn = 1
# No erasure-coded pools here, so load no erasure code plugin: jerasure's
# gf-complete dies with SIGILL on a CPU without SSE4 (qemu's TCG default).
osd erasure code plugins =
mon data avail crit = 0

[mon]
mon data = $dir/mon/\$cluster-\$id

[osd]
osd data = $dir/osd/\$cluster-\$id
keyring = $dir/osd/\$cluster-\$id/keyring
osd objectstore = memstore
memstore device bytes = $(numfmt --from=iec "$osd_bytes")
osd max object name len = 256
osd max object namespace len = 64
osd memory target = 536870912
EOF

ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. \
	--cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$admin" --gen-key -n client.admin \
	--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' \
	--cap mds 'allow *' >/dev/null
chmod 600 "$admin"
ceph-authtool "$dir/mon.keyring" --import-keyring "$admin" >/dev/null
monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" \
	"$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" \
	--keyring "$dir/mon.keyring" >"$dir/log/mon-mkfs.out" 2>&1 ||
	die "ceph-mon --mkfs failed"

# -f: stay in the foreground (we background it and keep its pid), log to
# the log file.
ceph-mon -c "$conf" -i a -f >"$dir/log/mon.out" 2>&1 &
echo $! >"$dir/mon.pid"

ceph_() {
	timeout 30 ceph -c "$conf" --connect-timeout 10 "$@"
}

# The monitor answers once it has formed its quorum of one.
for i in $(seq 1 $((limit * 5))); do
	ceph_ mon stat >/dev/null 2>&1 && break
	kill -0 "$(cat "$dir/mon.pid")" 2>/dev/null || die "ceph-mon exited"
	[ "$i" -lt $((limit * 5)) ] || die "ceph-mon did not answer within $limit s"
	sleep 0.2
done
echo "ceph: mon up after $(elapsed) s" >&2

osd_uuid=$(uuidgen)
osd_id=$(ceph_ osd new "$osd_uuid") || die "ceph osd new failed"
osd_dir=$dir/osd/ceph-$osd_id
mkdir -p "$osd_dir"
ceph-authtool --create-keyring "$osd_dir/keyring" --gen-key -n "osd.$osd_id" \
	>/dev/null
ceph_ auth add "osd.$osd_id" osd 'allow *' mon 'allow profile osd' \
	mgr 'allow profile osd' -i "$osd_dir/keyring" >/dev/null 2>&1 ||
	die "ceph auth add osd.$osd_id failed"
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" \
	>"$dir/log/osd-mkfs.out" 2>&1 || die "ceph-osd --mkfs failed"
ceph-osd -c "$conf" -i "$osd_id" -f >"$dir/log/osd.out" 2>&1 &
echo $! >"$dir/osd.pid"

# Up and in: the OSD registered itself in the CRUSH map on its way up.
for i in $(seq 1 $((limit * 5))); do
	if ceph_ osd dump 2>/dev/null | grep -q "^osd\.$osd_id up *in "; then
		break
	fi
	kill -0 "$(cat "$dir/osd.pid")" 2>/dev/null || die "ceph-osd exited"
	[ "$i" -lt $((limit * 5)) ] || die "osd.$osd_id was not up within $limit s"
	sleep 0.2
done
echo "ceph: osd.$osd_id up after $(elapsed) s" >&2

ceph_ osd pool create rbd 8 8 >/dev/null 2>&1 || die "ceph osd pool create rbd failed"
# No manager runs, so nothing reports PG states: the first write simply
# waits until the PGs are active, bounded by the timeout.
timeout "$limit" rbd -c "$conf" pool init rbd >/dev/null 2>&1 ||
	die "rbd pool init failed (PGs not active?)"
if [ "$image_size" != none ]; then
	timeout "$limit" rbd -c "$conf" create --size "$image_size" \
		${CEPH_IMAGE_FEATURES:+--image-feature "$CEPH_IMAGE_FEATURES"} rbd/test ||
		die "rbd create rbd/test failed"
fi
echo "ceph: cluster up in $(elapsed) s (mon v2:127.0.0.1:$port, conf $conf)"
