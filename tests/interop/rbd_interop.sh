#!/bin/bash
# The rbd backend against a real Ceph cluster (tests/ceph/start-cluster.sh:
# one monitor, one memstore OSD, cephx, on 127.0.0.1), served by
# nbd-serverd whose workers run as nobody while ceph.conf and the keyring
# are root-only (0600): the master reads them, the workers never do.
#
# Checked with libnbd's tools and qemu-img: flags, round trips at odd
# offsets and across objects, many requests in flight, two connections
# seeing each other's flushed writes, trim and zero reading back zeros,
# nbdcopy of 64 MiB random data in and out, `qemu-img compare` against
# `rbd export` and against qemu's own rbd driver, the allocation map, a
# snapshot served read-only with the snapshot's data, a missing image
# refused, and a stopped cluster failing a new client quickly.
. "$(dirname "$0")/../lib/common.sh"
need nbdinfo nbdsh nbdcopy qemu-img sha256sum rbd ceph ceph-mon ceph-osd
compgen -G '/usr/lib/*/qemu/block-rbd.so' >/dev/null ||
	fail "qemu-img has no rbd driver (Debian: qemu-block-extra)"
[ -e "$CNBD_BUILD/backends/rbd.so" ] ||
	fail "$CNBD_BUILD/backends/rbd.so is not built (install librbd-dev librados-dev)"
cnbd_tmpdir

nbdsh() {
	# Debian's python has the libnbd bindings; another python3 may not.
	PATH=/usr/bin:$PATH command nbdsh "$@"
}

cluster=$tmp/ceph
_stop_cluster() {
	local rc=$?
	set +e
	"$CNBD_SRC/tests/ceph/stop-cluster.sh" "$cluster"
	(exit $rc)
	_cnbd_cleanup
}
trap _stop_cluster EXIT

t0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

"$CNBD_SRC/tests/ceph/start-cluster.sh" "$cluster" ||
	fail "the Ceph cluster did not start (its log is above)"
log "cluster started in $(since "$t0") s"
conf=$cluster/ceph.conf
keyring=$cluster/ceph.client.admin.keyring
# Root-only, both: a worker (nobody) could read neither.
chmod 600 "$conf" "$keyring"
rbd_() { timeout 60 rbd -c "$conf" "$@"; }

port=$(free_port)
sconf=$tmp/server.conf
SERVER_CONTROL=$tmp/control.sock write_server_config "$sconf" "127.0.0.1:$port"
common=(backend=rbd pool=rbd image=test "conf=$conf" id=admin
	"keyring=$keyring" timeout=5)
add_export "$sconf" img "${common[@]}"
add_export "$sconf" snap "${common[@]}" snapshot=s1
add_export "$sconf" nosuch backend=rbd image=nosuch "conf=$conf" \
	"keyring=$keyring" timeout=5
add_export "$sconf" ro "${common[@]}" readonly=true
# The same user's key as a bare key file (what keyfile= reads), and in
# a keyring with other entities and comments, named as client.admin.
key=$(ceph-authtool -p -n client.admin "$keyring")
printf '%s\n' "$key" >"$tmp/bare.key"
printf '%s\n' "# several users" "[client.other]" "	key = AQAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAA==" \
	"" "[ client.admin ]" "	caps mon = \"allow *\"" "	key = \"$key\"" \
	>"$tmp/multi.keyring"
chmod 600 "$tmp/bare.key" "$tmp/multi.keyring"
add_export "$sconf" barekey backend=rbd image=test "conf=$conf" \
	"keyring=$tmp/bare.key" readonly=true
add_export "$sconf" multikey backend=rbd image=test "conf=$conf" \
	id=client.admin "keyring=$tmp/multi.keyring" readonly=true
# An image in a RADOS namespace.
rbd_ namespace create rbd/ns1 || fail "rbd namespace create failed"
rbd_ create --size 16M rbd/ns1/inns || fail "rbd create rbd/ns1/inns failed"
add_export "$sconf" inns backend=rbd namespace=ns1 image=inns "conf=$conf" \
	"keyring=$keyring"
start_server "$sconf"
uri=nbd://127.0.0.1:$port/img

# Flags: writable, TRIM, WRITE_ZEROES (librbd's write_zeroes), FLUSH, and
# CAN_MULTI_CONN because librbd's cache is off in every worker.
nbdinfo --json "$uri" >"$tmp/info.json" || fail "nbdinfo failed"
/usr/bin/python3 - "$tmp/info.json" <<'PY' || fail "wrong export flags: $(cat "$tmp/info.json")"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
want = {"export-size": 256 << 20, "is_read_only": False, "can_trim": True,
        "can_zero": True, "can_fast_zero": True, "can_flush": True,
        "can_fua": True, "can_multi_conn": True}
bad = {k: e.get(k) for k, v in want.items() if e.get(k) != v}
assert not bad, bad
PY

t=$(date +%s.%N)
nbdsh -u "$uri" -c '
import errno, random
def err_is(e, code):
    return e.errno in (code, errno.errorcode[code])
rng = random.Random(8)
OBJ = 4 << 20                      # rbd objects are 4 MiB
size = h.get_size()
model = bytearray(size)            # a fresh image reads as zeros
spots = [(0, 1), (1, 3), (511, 2), (4095, 4098), (OBJ - 1, 2),
         (OBJ - 12345, 100000), (3 * OBJ - 7, 2 * OBJ + 11),
         (size - 1, 1), (size - 4097, 4097)]
for off, n in spots:
    data = rng.randbytes(n)
    h.pwrite(data, off)
    assert h.pread(n, off) == data, (off, n)
    model[off:off + n] = data
for off, n in spots:                # and nothing around them moved
    a, b = max(off - 1000, 0), min(off + n + 1000, size)
    assert h.pread(b - a, a) == model[a:b], (off, n)
# Past the end: the server refuses, the connection carries on.
try:
    h.pread(2, size - 1)
except nbd.Error as e:
    assert err_is(e, errno.EINVAL), e
else:
    raise AssertionError("a read past the end succeeded")
h.pwrite(b"f" * 4096, 8192, nbd.CMD_FLAG_FUA)
h.flush()

# Many requests in flight at once on one connection (executor threads
# each waiting on a librbd completion).
bufs = [rng.randbytes(65536) for _ in range(64)]
base = 40 << 20
cookies = [h.aio_pwrite(b, base + i * 65536) for i, b in enumerate(bufs)]
while h.aio_in_flight() > 0:
    h.poll(-1)
for c in cookies:
    assert h.aio_command_completed(c)
rd = [(nbd.Buffer(65536), base + i * 65536) for i in range(64)]
cookies = [h.aio_pread(b, off) for b, off in rd]
while h.aio_in_flight() > 0:
    h.poll(-1)
for (b, off), data in zip(rd, bufs):
    assert b.to_bytearray() == data, off

# Another connection (another worker, another librbd client) reads
# what this one wrote and flushed, and the other way round.
h2 = nbd.NBD()
h2.connect_uri(h.get_uri())
h.pwrite(b"one" * 1000, 50 << 20)
h.flush()
assert h2.pread(3000, 50 << 20) == b"one" * 1000
h2.pwrite(b"two" * 1000, 50 << 20)
h2.flush()
assert h.pread(3000, 50 << 20) == b"two" * 1000
h2.shutdown()

# Trim then read zeros: whole objects and unaligned pieces alike
# (rbd_skip_partial_discard is off).
h.pwrite(rng.randbytes(3 * OBJ), 60 << 20)
h.trim(OBJ, 60 << 20)
assert h.pread(OBJ, 60 << 20) == bytes(OBJ)
h.trim(10000, (64 << 20) + 777)
assert h.pread(10000, (64 << 20) + 777) == bytes(10000)
keep = h.pread(777, 64 << 20)
assert keep != bytes(777)
h.flush()

# Zero: may punch, must not (NO_HOLE), fast or refused (FAST_ZERO).
for flags in (0, nbd.CMD_FLAG_NO_HOLE, nbd.CMD_FLAG_FAST_ZERO,
              nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FAST_ZERO):
    data = rng.randbytes(300000)
    h.pwrite(data, 70 << 20)
    try:
        h.zero(200000, (70 << 20) + 33333, flags)
    except nbd.Error as e:
        assert flags & nbd.CMD_FLAG_FAST_ZERO, (flags, e)
        assert err_is(e, errno.ENOTSUP), e
        assert h.pread(300000, 70 << 20) == data
        continue
    got = h.pread(300000, 70 << 20)
    assert got[:33333] == data[:33333], flags
    assert got[33333:233333] == bytes(200000), flags
    assert got[233333:] == data[233333:], flags
h.shutdown()
' || fail "nbdsh checks on the rbd export failed"
log "nbdsh checks in $(since "$t") s"

# 64 MiB of random data through 4 connections each way.
t=$(date +%s.%N)
head -c 64M /dev/urandom >"$tmp/in.img"
nbdcopy --connections=4 --requests=16 "$tmp/in.img" "$uri" || fail "nbdcopy in failed"
nbdcopy --connections=4 --requests=16 "$uri" "$tmp/out.img" || fail "nbdcopy out failed"
in=$(sha256sum <"$tmp/in.img")
out=$(head -c 64M "$tmp/out.img" | sha256sum)
[ "$in" = "$out" ] || fail "nbdcopy: data differ: in $in, out $out"
log "nbdcopy 64 MiB in and 256 MiB out in $(since "$t") s"

# What librbd itself says the image holds is what the export serves.
rbd_ export --no-progress rbd/test "$tmp/export.img" || fail "rbd export failed"
[ "$(head -c 64M "$tmp/export.img" | sha256sum)" = "$in" ] ||
	fail "rbd export does not hold what nbdcopy wrote"
qemu-img compare -f raw -F raw "$tmp/export.img" "$uri" ||
	fail "qemu-img compare: the export differs from rbd export"
# And qemu's own rbd driver (another librbd client) agrees.
qemu-img compare -f raw -F raw \
	"rbd:rbd/test:conf=$conf:id=admin:keyring=$keyring" "$uri" ||
	fail "qemu-img compare: the export differs from qemu's rbd driver"
rm -f "$tmp/export.img" "$tmp/out.img"

# The allocation map: discard everything, write two pieces, and the map
# shows data where the objects were written and holes elsewhere. RBD
# tracks allocation per object, from the object's start to the end of
# what was written in it.
nbdsh -u "$uri" -c '
h.trim(h.get_size(), 0)
h.pwrite(b"a" * (1 << 20), 0)
h.pwrite(b"b" * 4096, (100 << 20) + 12345)
h.flush()
' || fail "preparing the map failed"
nbdinfo --map "$uri" >"$tmp/map" || fail "nbdinfo --map failed"
awk '{ print $1, $2, $3 }' "$tmp/map" >"$tmp/map3"
printf '%s\n' "0 1048576 0" "1048576 103809024 3" "104857600 16441 0" \
	"104874041 163561415 3" >"$tmp/want"
diff -u "$tmp/want" "$tmp/map3" >&2 || { cat "$tmp/map" >&2; fail "wrong allocation map"; }

# A snapshot: read-only, with the data of when it was taken.
nbdsh -u "$uri" -c 'h.pwrite(b"before" * 100, 4096); h.flush()' ||
	fail "write before the snapshot failed"
rbd_ snap create --no-progress rbd/test@s1 || fail "rbd snap create failed"
nbdsh -u "$uri" -c 'h.pwrite(b"after!" * 100, 4096); h.flush()' ||
	fail "write after the snapshot failed"
nbdinfo --json "nbd://127.0.0.1:$port/snap" >"$tmp/snap.json" || fail "nbdinfo snap failed"
grep -q '"is_read_only": true' "$tmp/snap.json" ||
	fail "the snapshot export is not read-only: $(cat "$tmp/snap.json")"
nbdsh -u "nbd://127.0.0.1:$port/snap" -c '
import errno
assert h.is_read_only()
assert h.pread(600, 4096) == b"before" * 100
try:
    h.pwrite(b"x" * 512, 4096)
except nbd.Error as e:
    assert e.errno in (errno.EPERM, "EPERM"), e
else:
    raise AssertionError("a write to the snapshot succeeded")
assert h.pread(600, 4096) == b"before" * 100
' || fail "the snapshot export is wrong"
nbdsh -u "$uri" -c 'assert h.pread(600, 4096) == b"after!" * 100' ||
	fail "the image head lost the write made after the snapshot"

# Other ways to name the key, the image and read-only.
for e in ro barekey multikey; do
	nbdinfo --json "nbd://127.0.0.1:$port/$e" >"$tmp/$e.json" ||
		fail "export $e was not served"
	grep -q '"is_read_only": true' "$tmp/$e.json" ||
		fail "export $e is not read-only"
done
nbdsh -u "nbd://127.0.0.1:$port/ro" -c 'assert h.pread(600, 4096) == b"after!" * 100' ||
	fail "the read-only export does not show the image"
nbdsh -u "nbd://127.0.0.1:$port/inns" -c '
assert h.get_size() == 16 << 20
h.pwrite(b"namespaced", 1000)
h.flush()
' || fail "the image in a namespace is wrong"
rbd_ export --no-progress rbd/ns1/inns "$tmp/inns.img" || fail "rbd export of rbd/ns1/inns failed"
cmp -s -i 1000:0 -n 10 "$tmp/inns.img" <(printf namespaced) ||
	fail "the write did not reach rbd/ns1/inns"

# A missing image: the client is refused, the log says why.
if nbdinfo "nbd://127.0.0.1:$port/nosuch" >/dev/null 2>&1; then
	fail "an export of a missing image was served"
fi
grep -q "rbd: cannot open the image rbd/nosuch" "$tmp/server.log" ||
	fail "no clear message for a missing image"
server_alive

# The cluster goes away: a new client is refused within the monitor
# timeout (5 s here), not left hanging, and the log says why.
"$CNBD_SRC/tests/ceph/stop-cluster.sh" "$cluster"
t=$(date +%s.%N)
if timeout 60 nbdinfo "$uri" >/dev/null 2>&1; then
	fail "a client was served with the cluster stopped"
fi
secs=$(since "$t")
log "with the cluster stopped, a new client was refused after $secs s"
awk -v s="$secs" 'BEGIN { exit !(s < 30) }' ||
	fail "refusing a client took $secs s with the cluster stopped"
grep -q "rbd: cannot connect to the Ceph cluster" "$tmp/server.log" ||
	fail "no clear message for an unreachable cluster"
server_alive
echo "--- what the server logged for the rbd backend:" >&2
grep 'rbd:' "$tmp/server.log" | sort | uniq -c >&2 || true
log "total $(since "$t0") s"
echo ok
