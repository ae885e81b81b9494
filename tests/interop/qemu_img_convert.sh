#!/bin/bash
# qemu-img convert a raw image into a memory export and back out, over
# TCP (nbd://127.0.0.1:PORT/NAME) and a Unix socket
# (nbd+unix:///NAME?socket=PATH); qemu-img compare finds them identical
# and tells a changed image apart.
. "$(dirname "$0")/../lib/common.sh"
need qemu-img head cmp
cnbd_tmpdir

port=$(free_port)
sock=$tmp/nbd.sock
write_server_config "$tmp/cnbd.conf" "127.0.0.1:$port" "unix:$sock"
add_export "$tmp/cnbd.conf" tcpdisk backend=memory size=32M
add_export "$tmp/cnbd.conf" unixdisk backend=memory size=32M
start_server "$tmp/cnbd.conf"

# Partly random, partly zero: exercises zero detection in qemu-img.
head -c 16M /dev/urandom >"$tmp/src.img"
truncate -s 32M "$tmp/src.img"

for uri in "nbd://127.0.0.1:$port/tcpdisk" "nbd+unix:///unixdisk?socket=$sock"; do
	log "using $uri"
	qemu-img convert -n -f raw -O raw "$tmp/src.img" "$uri" || fail "convert into $uri"
	qemu-img compare -f raw -F raw "$tmp/src.img" "$uri" || fail "compare with $uri"
	rm -f "$tmp/back.img"
	qemu-img convert -f raw -O raw "$uri" "$tmp/back.img" || fail "convert out of $uri"
	cmp "$tmp/src.img" "$tmp/back.img" || fail "image read back from $uri differs"
	size=$(qemu-img info --output=json "$uri" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	[ "$size" = $((32 << 20)) ] || fail "qemu-img info size $size"
done

# compare must notice a difference (the test would be worthless if not).
printf 'X' | dd of="$tmp/src.img" bs=1 seek=12345 conv=notrunc status=none
if qemu-img compare -f raw -F raw "$tmp/src.img" "nbd://127.0.0.1:$port/tcpdisk" >/dev/null; then
	fail "qemu-img compare did not see a changed byte"
fi
server_alive
