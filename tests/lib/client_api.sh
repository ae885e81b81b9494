# The public client API as a third party builds it (sourced after
# common.sh; needs $tmp):
#   client_api_build   `make install-lib` into $tmp/root, then
#                      tests/lib/client_api_tool.c built with nothing but
#                      the installed header and `pkg-config cnbd`: $TOOL
#   tool ARGS...       runs it against the installed libcnbd.so.0
#   wait_tcp PORT      until something accepts on 127.0.0.1:PORT
#   wait_unix PATH     until a socket exists at PATH
#   sum                sha256 of stdin, the digest only
client_api_build() {
	local san= sanflags= flags
	need make cc pkg-config
	case "$CNBD_BUILD" in */asan)
		san=SANITIZE=1
		sanflags="-fsanitize=address,undefined -fno-sanitize-recover=all"
		;;
	esac
	API_ROOT=$tmp/root
	make -s -C "$CNBD_SRC" $san install-lib DESTDIR="$API_ROOT" PREFIX=/usr \
		>"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install-lib failed"; }
	[ -f "$API_ROOT/usr/include/cnbd/client.h" ] || fail "<cnbd/client.h> is not installed"
	flags=$(PKG_CONFIG_PATH=$API_ROOT/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$API_ROOT \
		pkg-config --cflags --libs cnbd) || fail "pkg-config --cflags --libs cnbd failed"
	TOOL=$tmp/client_api_tool
	# shellcheck disable=SC2086
	cc -std=gnu11 -Wall -Wextra -Werror $sanflags -o "$TOOL" \
		"$CNBD_SRC/tests/lib/client_api_tool.c" $flags >"$tmp/cc.log" 2>&1 ||
		{ cat "$tmp/cc.log" >&2; fail "client_api_tool did not build against the installed library"; }
}

tool() {
	LD_LIBRARY_PATH=$API_ROOT/usr/lib "$TOOL" "$@"
}

wait_tcp() {
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing accepts on 127.0.0.1:$1"
}

wait_unix() {
	local i
	for i in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	fail "no socket at $1"
}

sum() {
	sha256sum | cut -d' ' -f1
}
