#!/bin/bash
# fio with its nbd engine writes random blocks with crc32c checksums and
# verifies them on read (a correctness check, not a benchmark): memory
# and file exports, queue depth 16, mixed block sizes. Against a null
# export (writes dropped) the verification must fail.
. "$(dirname "$0")/../lib/common.sh"
need fio truncate
fio --enghelp 2>/dev/null | grep -qw nbd || fail "fio lacks the nbd engine"
cnbd_tmpdir
cd "$tmp"	# fio leaves its verify state files in the working directory

truncate -s 64M "$tmp/disk.img"
chmod 666 "$tmp/disk.img"
port=$(free_port)
write_server_config "$tmp/cnbd.conf" "127.0.0.1:$port"
add_export "$tmp/cnbd.conf" mem backend=memory size=64M
add_export "$tmp/cnbd.conf" file backend=file "path=$tmp/disk.img"
add_export "$tmp/cnbd.conf" nul backend=null size=64M
start_server "$tmp/cnbd.conf"

for name in mem file; do
	log "fio on $name"
	fio --name="verify-$name" --ioengine=nbd --uri="nbd://127.0.0.1:$port/$name" \
	    --rw=randwrite --bssplit=4k/50:64k/30:512k/20 --size=32M --iodepth=16 \
	    --verify=crc32c --verify_fatal=1 --do_verify=1 --output-format=normal \
	    >"$tmp/fio-$name.out" 2>&1 || { cat "$tmp/fio-$name.out" >&2; fail "fio on $name failed"; }
	grep -E "WRITE:|READ:|verify" "$tmp/fio-$name.out" || true
	grep -q "err= 0" "$tmp/fio-$name.out" || { cat "$tmp/fio-$name.out" >&2; fail "fio reports errors on $name"; }
	if grep -qi "verify.*fail\|bad magic\|crc32c: verify" "$tmp/fio-$name.out"; then
		cat "$tmp/fio-$name.out" >&2
		fail "fio verification failed on $name"
	fi
done
# The null backend drops writes: verification must catch that, or the
# checks above prove nothing.
if fio --name=verify-null --ioengine=nbd --uri="nbd://127.0.0.1:$port/nul" \
	--rw=randwrite --bs=64k --size=4M --iodepth=4 --verify=crc32c \
	--verify_fatal=1 --do_verify=1 >"$tmp/fio-null.out" 2>&1; then
	cat "$tmp/fio-null.out" >&2
	fail "fio verified data that the null backend threw away"
fi
server_alive
