#!/bin/bash
# examples/attach.c built as its user would build it: against the
# installed <cnbd/attach.h> and libcnbd (pkg-config cnbd), nothing from
# the source tree. Here, without the nbd module, it must fail cleanly
# with the reason: a URI that is no URI, and (the kernel has no nbd) no
# device to attach to, which is looked for before the server is asked. The attach itself is
# in the VM: tests/kernel/cases/client_attach_example.sh.
. "$(dirname "$0")/../lib/common.sh"

need make cc pkg-config
cnbd_tmpdir
[ "$(id -u)" = 0 ] || fail "needs root (attaching is root's)"
[ ! -e /sys/module/nbd ] || fail "the nbd module is loaded here: this test wants a kernel without it"

san= sanflags=
case "$CNBD_BUILD" in */asan) san=SANITIZE=1 sanflags=-fsanitize=address,undefined ;; esac
root=$tmp/root
make -s -C "$CNBD_SRC" $san install-lib DESTDIR="$root" PREFIX=/usr >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "make install-lib failed"; }
export PKG_CONFIG_PATH=$root/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
cp "$CNBD_SRC/examples/attach.c" "$tmp/"
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Wextra -Werror $sanflags -o "$tmp/attach" "$tmp/attach.c" \
	$(pkg-config --cflags --libs cnbd) >"$tmp/cc.log" 2>&1 ||
	fail "the example does not build out of tree: $(cat "$tmp/cc.log")"
# The installed libcnbd.so.0, not one elsewhere on the machine.
export LD_LIBRARY_PATH=$root/usr/lib
ldd "$tmp/attach" | grep -q "libcnbd.so.0 => $root/usr/lib/libcnbd.so.0" ||
	fail "the example does not load the installed libcnbd.so.0: $(ldd "$tmp/attach")"

# expect_failure WANT URI: exits 1, saying WANT about URI.
expect_failure() {
	local rc=0
	"$tmp/attach" "$2" >"$tmp/out" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "attach $2 exited $rc: $(cat "$tmp/out")"
	grep -qF "$2: $1" "$tmp/out" || fail "attach $2 did not say '$1': $(cat "$tmp/out")"
}

rc=0
"$tmp/attach" >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "usage:" "$tmp/out" || fail "without a URI: exit $rc, $(cat "$tmp/out")"
expect_failure "not an NBD URI" "http://127.0.0.1/disk"
port=$(free_port)
write_config "$tmp/server.conf" "$port" disk backend=memory size=16M
start_server "$tmp/server.conf"
uri="nbd://127.0.0.1:$port/disk"
expect_failure "no free nbd device" "$uri"
log "built out of tree; failures say why"
