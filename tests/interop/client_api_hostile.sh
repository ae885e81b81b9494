#!/bin/bash
# What the public client API trusts of a server in transmission: nothing.
# Against tests/lib/hostile_chunks.py (a server that negotiates well, then
# answers wrongly on purpose), every malformed reply ends the connection
# with EPROTO and a sentence, at once and without writing outside the
# caller's buffer or allocating what the server claims (ASan watches under
# make SANITIZE=1): data or holes outside the request, a chunk claiming
# 4 GiB, a BLOCK_STATUS for a context never granted, an unknown chunk
# type, an error message longer than its chunk, a reply to a cookie never
# sent. A reply that covers half the read is EIO; a server that closes
# mid-reply is ECONNRESET. A legitimate error chunk reaches the caller as
# EIO with the server's message; chunks out of order with holes read right;
# a server that never greets or never answers is ETIMEDOUT after the
# handle's timeout.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/client_api.sh"

need python3 timeout
cnbd_tmpdir
client_api_build

python3 "$CNBD_SRC/tests/lib/hostile_chunks.py" "$tmp/ports" >"$tmp/hostile.log" 2>&1 &
kill_on_exit $!
for _ in $(seq 50); do [ -s "$tmp/ports" ] && break; sleep 0.1; done
read -r port silent <"$tmp/ports" || fail "the hostile server did not start"

# expect MODE ERRNO TEXT COMMAND...: fails within 5 s, as said.
expect() {
	local mode=$1 err=$2 text=$3 rc=0
	shift 3
	timeout 5 env LD_LIBRARY_PATH="$API_ROOT/usr/lib" "$TOOL" -t 3 \
		"nbd://127.0.0.1:$port/$mode" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ $rc = 1 ] || fail "$mode: exit status $rc (1 expected): $(cat "$tmp/out" "$tmp/err")"
	grep -q "^errno=$err: .*$text" "$tmp/out" ||
		fail "$mode: should fail with $err ($text): $(cat "$tmp/out")"
	log "$mode: $(cat "$tmp/out")"
}

tool "nbd://127.0.0.1:$port/good" read 0 65536 "$tmp/good" >"$tmp/out" ||
	fail "good: $(cat "$tmp/out")"
tool "nbd://127.0.0.1:$port/pieces" read 4096 65536 "$tmp/pieces" >"$tmp/out" ||
	fail "pieces: $(cat "$tmp/out")"
python3 - "$tmp" <<'PY' || fail "the bytes read differ from what the server sent"
import sys
tmp = sys.argv[1]
assert open(tmp + "/good", "rb").read() == bytes(i % 251 for i in range(65536)), "good"
want = bytearray()
for p in range(4096, 4096 + 65536, 512):
    want += bytes(512) if (p // 512) % 3 == 0 else bytes((p + i) % 251 for i in range(512))
assert open(tmp + "/pieces", "rb").read() == want, "pieces"
PY

expect data_outside EPROTO "a range outside the request" read 0 4096 "$tmp/x"
expect data_huge EPROTO "a range outside the request" read 0 4096 "$tmp/x"
expect hole_outside EPROTO "a range outside the request" read 0 4096 "$tmp/x"
expect short_cover EIO "covered only 2048 bytes" read 0 4096 "$tmp/x"
expect status_huge EPROTO "more than a million extents" map 0 4096
expect bad_meta_id EPROTO "a meta context id that was not granted" map 0 4096
expect unknown_type EPROTO "a type this client does not know" read 0 4096 "$tmp/x"
expect error_long EPROTO "its message is longer than the chunk" read 0 4096 "$tmp/x"
expect wrong_cookie EPROTO "replied to cookie .*, which is not in flight" read 0 4096 "$tmp/x"
expect close_mid ECONNRESET "the server closed the connection" read 0 4096 "$tmp/x"
expect error_text EIO "the server failed READ of 4096 bytes at offset 0: EIO (input/output error): disk on fire" \
	read 0 4096 "$tmp/x"

start=$(date +%s%N)
expect silent ETIMEDOUT "no reply within 3 s" read 0 4096 "$tmp/x"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -ge 2900 ] || fail "the read gave up after $elapsed ms, before its 3 s"
if timeout 5 env LD_LIBRARY_PATH="$API_ROOT/usr/lib" "$TOOL" -t 1 \
	"nbd://127.0.0.1:$silent/" info >"$tmp/out"; then
	fail "a server that never greets was connected to"
fi
grep -q "^errno=ETIMEDOUT: .*within 1 s" "$tmp/out" || fail "no greeting: $(cat "$tmp/out")"
log "no greeting: $(cat "$tmp/out")"
log "ok"
