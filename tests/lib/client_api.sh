# libcnbd as a third party gets it (sourced after common.sh; needs $tmp):
#   lib_install        `make install-lib` into $tmp/root ($API_ROOT, with
#                      /usr as the prefix); $SANFLAGS: what a program built
#                      against an ASan install needs
#   client_api_build   lib_install, then tests/lib/client_api_tool.c built
#                      with nothing but the installed header and
#                      `pkg-config cnbd`: $TOOL
#   tool ARGS...       runs it against the installed libcnbd.so.0
#   start_nbd_server NAME=FILE...   nbd-server on 127.0.0.1:$NBD_SERVER_PORT
#                      with those exports; stopped when the test ends
#   wait_tcp PORT      until something accepts on 127.0.0.1:PORT
#   wait_unix PATH     until a socket exists at PATH
#   sum                sha256 of stdin, the digest only
lib_install() {
	local san=
	need make
	SANFLAGS=
	case "$CNBD_BUILD" in */asan)
		san=SANITIZE=1
		SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all"
		;;
	esac
	API_ROOT=$tmp/root
	make -s -C "$CNBD_SRC" $san install-lib DESTDIR="$API_ROOT" PREFIX=/usr \
		>"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install-lib failed"; }
}

client_api_build() {
	local flags
	need cc pkg-config
	lib_install
	[ -f "$API_ROOT/usr/include/cnbd/client.h" ] || fail "<cnbd/client.h> is not installed"
	flags=$(PKG_CONFIG_PATH=$API_ROOT/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$API_ROOT \
		pkg-config --cflags --libs cnbd) || fail "pkg-config --cflags --libs cnbd failed"
	TOOL=$tmp/client_api_tool
	# shellcheck disable=SC2086
	cc -std=gnu11 -Wall -Wextra -Werror $SANFLAGS -o "$TOOL" \
		"$CNBD_SRC/tests/lib/client_api_tool.c" $flags >"$tmp/cc.log" 2>&1 ||
		{ cat "$tmp/cc.log" >&2; fail "client_api_tool did not build against the installed library"; }
}

tool() {
	LD_LIBRARY_PATH=$API_ROOT/usr/lib "$TOOL" "$@"
}

start_nbd_server() {
	local kv
	need nbd-server
	NBD_SERVER_PORT=$(free_port)
	printf '[generic]\n    listenaddr = 127.0.0.1\n    port = %s\n    allowlist = true\n' \
		"$NBD_SERVER_PORT" >"$tmp/nbd-server.conf"
	for kv in "$@"; do
		printf '[%s]\n    exportname = %s\n' "${kv%%=*}" "${kv#*=}" >>"$tmp/nbd-server.conf"
	done
	rm -f "$tmp/nbd-server.pid"
	# It forks into the background; -p records its pid.
	nbd-server -C "$tmp/nbd-server.conf" -p "$tmp/nbd-server.pid" 2>"$tmp/nbd-server.log" ||
		fail "nbd-server did not start: $(cat "$tmp/nbd-server.log")"
	for _ in $(seq 50); do [ -s "$tmp/nbd-server.pid" ] && break; sleep 0.1; done
	kill_on_exit "$(cat "$tmp/nbd-server.pid")"
	wait_tcp "$NBD_SERVER_PORT"
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
