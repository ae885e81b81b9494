#!/bin/bash
# max-workers: with 2 workers running, a third client is not served (it
# waits in the listen backlog), the master says so once and does not
# spin; when a worker ends, the waiting client is served at once.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/server_lib.sh"

need /usr/bin/python3
cnbd_tmpdir

port=$(free_port)
conf=$tmp/server.conf
write_server_config "$conf" "127.0.0.1:$port"
sed -i 's/^\[server\]$/[server]\nmax-workers = 2/' "$conf"
add_export "$conf" disk backend=memory size=1M
start_server "$conf"
# start_server's probe had a worker of its own: let it end.
for i in $(seq 1 50); do
	[ -z "$(workers_of "$SERVER_PID")" ] && break
	sleep 0.1
done

uri=nbd://127.0.0.1:$port/disk
hold_client "$uri" "$tmp/one"
one=$HOLD_PID
kill_on_exit "$one"
hold_client "$uri" "$tmp/two"
kill_on_exit "$HOLD_PID"
wait_file "$tmp/one"
wait_file "$tmp/two"

# The third: connect and negotiate, recording when it was served.
/usr/bin/python3 - "$uri" "$tmp/three" <<'PY' &
import nbd, sys, time
h = nbd.NBD()
h.connect_uri(sys.argv[1])
with open(sys.argv[2], "w") as f:
    f.write("%.3f\n" % time.monotonic())
h.shutdown()
PY
third=$!
kill_on_exit "$third"

before=$(cpu_ticks)
sleep 2
used=$(( $(cpu_ticks) - before ))
server_alive
[ ! -e "$tmp/three" ] || fail "a third client was served with max-workers = 2 and two running"
n=$(workers_of "$SERVER_PID" | wc -l)
[ "$n" -eq 2 ] || fail "$n workers running with max-workers = 2"
# A master retrying in a loop would burn ~200 ticks (at 100 Hz) in 2 s.
[ "$used" -le 20 ] || fail "the master used $used clock ticks in 2 s at max-workers: spinning"
said=$(grep -c "max-workers (2) reached: new connections wait in the backlog" "$tmp/server.log" || true)
[ "$said" -eq 1 ] || fail "max-workers reached was said $said times, not once"

# One worker ends: the third client is served.
t0=$(/usr/bin/python3 -c 'import time; print("%.3f" % time.monotonic())')
kill "$one"
wait_file "$tmp/three"
wait "$third" || fail "the third client failed once a worker had ended"
waited=$(awk -v a="$t0" -v b="$(cat "$tmp/three")" 'BEGIN { printf "%.2f", b - a }')
awk -v w="$waited" 'BEGIN { exit !(w < 2) }' || fail "the third client waited $waited s after a worker ended"
grep -q "below max-workers again: accepting" "$tmp/server.log" ||
	fail "no 'accepting' line once below max-workers"
server_alive
log "ok: at max-workers the third client waited ($used ticks in 2 s), served $waited s after a worker ended"
