#!/bin/bash
# kernel-timeout: 180
# A server must not choose the /dev/nbd/by-export/ link a device takes:
# the link an fstab line mounts is named after what this host asked for.
# A hostile server (tests/lib/hostile_nbd.py) answers GO for "scratch"
# with NBD_INFO_NAME "disk", the export another device serves, and for
# "other" with a newline-laden name that would inject lines into the
# device record. Both are bound (netlink); the links are by-export/scratch
# and by-export/other, by-export/disk stays on nbd0, and each record holds
# its thirteen keys once, the URI asked for, nothing the server sent. A URI
# of 4 KiB and more is recorded whole and given to the kernel as a digest.
. "$CNBD_KERNEL_LIB"
. "$CNBD_REPO/tests/kernel/cases/client_lib.bash"

nbd_unload
rules=$CNBD_SCRATCH/60-cnbd.rules
sed "s|@BINDIR@|$CNBD_BUILD|g" "$CNBD_REPO/udev/60-cnbd.rules.in" > "$rules"
start_udevd "$rules"

# One hostile server for all three devices; what it calls the export is
# switched by a file before each attach.
cat > "$CNBD_SCRATCH/server.py" <<'PY'
import os, sys, time
import hostile_nbd
name_file = sys.argv[1]
class Server(hostile_nbd.HostileServer):
    def _go(self, c, mode, opt, data):
        text = open(name_file, "rb").read()
        self.info_name = text or None
        self.description = b"\x1b[2J\n<3>FAKE" if text else None
        return super()._go(c, mode, opt, data)
srv = Server(size=8 << 20)
open(sys.argv[2], "w").write(str(srv.port))
while True:
    time.sleep(60)
PY
names=$CNBD_SCRATCH/info_name
: > "$names"
PYTHONPATH=$CNBD_REPO/tests/lib python3 "$CNBD_SCRATCH/server.py" "$names" \
    "$CNBD_SCRATCH/port" > "$CNBD_SCRATCH/server.log" 2>&1 &
server_pid=$!
on_exit "kill $server_pid 2>/dev/null"
wait_until 10 "the hostile server" test -s "$CNBD_SCRATCH/port"
port=$(cat "$CNBD_SCRATCH/port")

on_exit nbd_unload
start_clientd
nbdctl attach "nbd://127.0.0.1:$port/disk" --device nbd0 || guest_fail "attach disk"
wait_for_dev /dev/nbd/by-export/disk 30

# A foreign name: the server says "disk" for "scratch".
printf 'disk' > "$names"
nbdctl attach "nbd://127.0.0.1:$port/scratch" --device nbd1 || guest_fail "attach scratch"
# A newline-laden one, with the record's own keys in it.
printf 'other\nuri = nbd://evil/x\nexport = disk\nspec = nbd0' > "$names"
nbdctl attach "nbd://127.0.0.1:$port/other" --device nbd2 || guest_fail "attach other"
# A URI longer than the kernel can show in /sys/block/nbdX/backend (it
# prints it into one page): bound with its digest as the identifier.
: > "$names"
long="nbd://127.0.0.1:$port/$(printf '%%61%.0s' $(seq 1 1400))"
nbdctl attach "$long" --device nbd3 || guest_fail "attach a ${#long}-byte URI"
[[ $(cat /sys/block/nbd3/backend) == nbd-clientd:sha256:* ]] ||
    guest_fail "nbd3's backend: $(head -c 200 /sys/block/nbd3/backend)"
[[ $(grep '^uri = ' /run/cnbd/devices/nbd3) == "uri = $long" ]] || guest_fail "nbd3's record lacks its URI whole"
udevadm settle --timeout=30
wait_for_dev /dev/nbd/by-export/scratch 30
wait_for_dev /dev/nbd/by-export/other 30
log "links: $(ls /dev/nbd/by-export | tr '\n' ' ')"
[[ $(readlink -f /dev/nbd/by-export/disk) == /dev/nbd0 ]] ||
    guest_fail "by-export/disk was taken over: -> $(readlink -f /dev/nbd/by-export/disk)"
[[ $(readlink -f /dev/nbd/by-export/scratch) == /dev/nbd1 ]] || guest_fail "scratch link is wrong"
[[ $(readlink -f /dev/nbd/by-export/other) == /dev/nbd2 ]] || guest_fail "other link is wrong"
[[ $(ls /dev/nbd/by-export | grep -vc '^aaaa') == 3 ]] ||
    guest_fail "links the server named: $(ls /dev/nbd/by-export)"
[[ $(nbdctl udev-name nbd1) == scratch ]] || guest_fail "udev-name nbd1: $(nbdctl udev-name nbd1)"

for n in 1 2; do
    rec=/run/cnbd/devices/nbd$n
    [[ -f $rec ]] || guest_fail "no record of nbd$n"
    keys=$(grep -v '^;' "$rec" | cut -d' ' -f1 | sort | uniq -d)
    [[ -z $keys ]] || guest_fail "nbd$n's record repeats $keys: $(cat "$rec")"
    [[ $(grep -vc '^;' "$rec") == 13 ]] || guest_fail "nbd$n's record: $(cat "$rec")"
    grep -q "evil\|FAKE\|^export" "$rec" && guest_fail "nbd$n's record holds the server's words: $(cat "$rec")"
    grep -q "^uri = nbd://127.0.0.1:$port/" "$rec" || guest_fail "nbd$n's record lacks its URI"
done
grep -q "nbd1: the server calls export 'scratch' 'disk'" "$CLIENTD_LOG" ||
    guest_fail "the server's name was not logged as its word"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$CLIENTD_LOG" && guest_fail "raw control bytes in the daemon's log"

# A restarted daemon takes them over by their records, names unchanged.
kill -KILL "$CLIENTD_PID"
wait "$CLIENTD_PID" 2>/dev/null || true
CLIENTD_PID=
start_clientd
wait_until 20 "nbd2 taken over" grep -q "nbd2: taken over" "$CLIENTD_LOG"
wait_until 20 "nbd3 taken over" grep -q "nbd3: taken over" "$CLIENTD_LOG"
[[ $(nbdctl udev-name nbd2) == other ]] || guest_fail "udev-name nbd2 after take-over: $(nbdctl udev-name nbd2)"

for n in 3 2 1 0; do nbdctl detach "nbd$n" || guest_fail "detach nbd$n"; done
wait_until 30 "the links to go" test ! -e /dev/nbd/by-export/disk
log "ok"
