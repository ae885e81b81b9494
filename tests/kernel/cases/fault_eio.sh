#!/bin/bash
# The kernel path sees the faulty backend's errors exactly where they are:
# through Debian's nbd-client, a direct read of the one bad 4 KiB block of
# /dev/nbd0 fails with EIO, a direct write into the bad write range fails
# with EIO, their neighbours read and write fine, and the device goes on
# working after each error. (Direct I/O: readahead would otherwise turn
# a read of a good block next to the bad one into a read of both.)
. "$CNBD_KERNEL_LIB"

nbd_load nbds_max=2
cat > "$CNBD_SCRATCH/server.conf" <<CONF
[server]
listen = 127.0.0.1:10809
backend-dir = $CNBD_BUILD/backends
[bad]
backend = faulty
inner = memory
size = 64M
fail-read = 1M-4K
fail-write = 2M-4K
CONF
start_cnbd_server "$CNBD_SCRATCH/server.conf" 10809
on_exit "nbd-client -d /dev/nbd0 >/dev/null 2>&1"

nbd-client -N bad -b 4096 127.0.0.1 10809 /dev/nbd0 || guest_fail "nbd-client could not attach"
wait_until 10 "nbd0 to connect" nbd_connected 0

# dd with 4 KiB blocks: block 256 is offset 1M, block 512 is offset 2M.
blk() {	# blk read|write N: one direct 4 KiB transfer; dd's stderr kept
	if [[ $1 == read ]]; then
		dd if=/dev/nbd0 of=/dev/null bs=4096 skip="$2" count=1 iflag=direct 2>"$CNBD_SCRATCH/dd.err"
	else
		dd if=/dev/zero of=/dev/nbd0 bs=4096 seek="$2" count=1 oflag=direct conv=notrunc 2>"$CNBD_SCRATCH/dd.err"
	fi
}
expect_eio() {
	if blk "$1" "$2"; then
		guest_fail "$1 of block $2 succeeded; faulty should have failed it"
	fi
	grep -q "Input/output error" "$CNBD_SCRATCH/dd.err" ||
		guest_fail "$1 of block $2 failed, but not with EIO: $(cat "$CNBD_SCRATCH/dd.err")"
	log "$1 of block $2: EIO, as configured"
}
expect_ok() {
	blk "$1" "$2" || guest_fail "$1 of block $2 failed: $(cat "$CNBD_SCRATCH/dd.err")"
}

expect_eio read 256
expect_ok read 255
expect_ok read 257
expect_eio read 256
expect_ok read 0
expect_eio write 512
expect_ok write 511
expect_ok write 513
expect_ok read 512		# only writes fail there
expect_ok write 256		# only reads fail there

# Data written next to the bad blocks is intact.
head -c 4096 /dev/urandom >"$CNBD_SCRATCH/pat"
dd if="$CNBD_SCRATCH/pat" of=/dev/nbd0 bs=4096 seek=257 count=1 oflag=direct 2>/dev/null ||
	guest_fail "pattern write failed"
dd if=/dev/nbd0 of="$CNBD_SCRATCH/back" bs=4096 skip=257 count=1 iflag=direct 2>/dev/null ||
	guest_fail "pattern read failed"
cmp -s "$CNBD_SCRATCH/pat" "$CNBD_SCRATCH/back" || guest_fail "the block next to the bad one reads back wrong"
nbd_connected 0 || guest_fail "the device lost its connection"
nbd-client -d /dev/nbd0 || guest_fail "nbd-client -d failed"
log "ok"
