# Helpers for the tests of a fresh Debian 12 machine and of the packages
# (tests/debian). Source it after tests/lib/common.sh:
#   . "$(dirname "$0")/lib.sh"
#
#   debian_mirror           the mirror this machine's apt uses for bookworm
#   debian_base             the minbase tarball, made once per build dir
#   chroot_new DIR          a fresh chroot in DIR, from the tarball
#   in_chroot DIR CMD...    runs CMD in DIR, waits for it
#   chroot_start DIR LOG CMD...   the same in the background: CHROOT_PGID
#   chroot_stop             TERM to the whole process group, then KILL
#   chroot_net CMD...       CMD on the host, in the started chroot's network
#
# CHROOT_OWN_NET=1 gives a chroot a network namespace of its own, with
# only a loopback (for a server on a fixed port); otherwise it shares the
# host's, to reach the mirror.
#
# A chroot runs in a mount and PID namespace of its own: /proc, /sys and
# /dev are mounted there only, so they vanish with its last process and
# removing DIR from outside can never reach the host's /dev; and when its
# first process ends, the kernel ends every other one in it.

DEBIAN_SUITE=bookworm
# As debootstrap --variant=minbase leaves Debian 12, plus the three
# packages the README asks a newcomer to have (issue 14).
DEBIAN_BASE_PACKAGES=git,make,ca-certificates
CHROOT_PGID=

# The URI of the first enabled "deb" source for bookworm in
# /etc/apt/sources.list and sources.list.d (one-line and deb822 forms).
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk -v s="$DEBIAN_SUITE" '
			$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++
				      if ($2 ~ /^\[/) i++
				      if ($(i + 1) == s) { print $i; exit } }' "$f")
		[ -z "$uri" ] || { echo "$uri"; return 0; }
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk -v s="$DEBIAN_SUITE" '
			BEGIN { RS = ""; FS = "\n" }
			{ types = uris = suites = ""; enabled = 1
			  for (i = 1; i <= NF; i++) {
				if ($i ~ /^#/) continue
				split($i, kv, ":"); k = tolower(kv[1]); v = substr($i, length(kv[1]) + 2)
				if (k == "types") types = " " v " "
				else if (k == "uris") uris = v
				else if (k == "suites") suites = " " v " "
				else if (k == "enabled" && v ~ /no/) enabled = 0
			  }
			  if (enabled && types ~ /[ \t]deb[ \t]/ && suites ~ "[ \t]" s "[ \t]") {
				split(uris, u, " "); print u[1]; exit } }' "$f")
		[ -z "$uri" ] || { echo "$uri"; return 0; }
	done
	fail "no enabled deb source for $DEBIAN_SUITE in /etc/apt/sources.list*: the chroot needs this machine's mirror"
}

# Prints the path of the base tarball, debootstrapping it first if this
# build directory has none (once per run: a fresh clone has no build/).
debian_base() {
	local dir=$CNBD_BUILD/debian-base tarball mirror start
	tarball=$dir/$DEBIAN_SUITE-minbase.tar.gz
	mkdir -p "$dir"
	(
		flock 9
		[ -s "$tarball" ] && exit 0
		mirror=$(debian_mirror)
		start=$(date +%s)
		rm -rf "$dir/root"
		debootstrap --variant=minbase --include="$DEBIAN_BASE_PACKAGES" \
			"$DEBIAN_SUITE" "$dir/root" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
			{ tail -n 20 "$dir/debootstrap.log" >&2; exit 1; }
		tar -C "$dir/root" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
		rm -rf "$dir/root"
		echo "$(basename "$0"): debootstrapped $DEBIAN_SUITE from $mirror in $(($(date +%s) - start)) s" >&2
	) 9>"$dir/.lock" || fail "debootstrap of $DEBIAN_SUITE failed (log: $dir/debootstrap.log)"
	echo "$tarball"
}

chroot_new() {	# DIR
	local tarball
	tarball=$(debian_base)
	mkdir -p "$1"
	tar -C "$1" -xzf "$tarball" || fail "cannot unpack $tarball into $1"
	# The base may have been made elsewhere: this machine's resolver.
	cp -L /etc/resolv.conf "$1/etc/resolv.conf"
}

# The command in new mount and PID namespaces (and network, with
# CHROOT_OWN_NET=1), after the mounts; its loopback is brought up with
# the host's ip before the chroot. DIR is bound onto itself so that the
# chroot's / is a mount point, as on a machine (unshare --mount in there
# needs one). Sets _argv.
# shellcheck disable=SC2016
_chroot_enter='net=$1 r=$2; shift 2
	if [ "$net" = 1 ]; then ip link set lo up || exit 1; fi
	mount --bind "$r" "$r" && mount -t proc proc "$r/proc" && mount -t sysfs sysfs "$r/sys" &&
	mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"'
_chroot_argv() {	# DIR CMD...
	local net=${CHROOT_OWN_NET:-0}
	_argv=(unshare --mount --propagation private --pid --fork --kill-child)
	[ "$net" != 1 ] || _argv+=(--net)
	_argv+=(-- sh -c "$_chroot_enter" chroot "$net" "$@")
}

in_chroot() {	# DIR CMD...
	_chroot_argv "$@"
	"${_argv[@]}"
}

# In a session of its own, so that one signal reaches every process. The
# exit trap's stop (kill_on_exit) also works: unshare ignores SIGTERM, is
# killed 5 s later, and its --kill-child ends the namespace.
chroot_start() {	# DIR LOG CMD...
	local log=$2
	_chroot_argv "$1" "${@:3}"
	setsid "${_argv[@]}" >"$log" 2>&1 </dev/null &
	CHROOT_PGID=$!
	kill_on_exit "$CHROOT_PGID"
}

# unshare calls unshare(2) itself: its own pid is in the new network.
chroot_net() {	# CMD...
	nsenter --net="/proc/$CHROOT_PGID/ns/net" -- "$@"
}

chroot_running() {
	[ -n "$CHROOT_PGID" ] && kill -0 -- "-$CHROOT_PGID" 2>/dev/null
}

chroot_stop() {
	local i
	[ -n "$CHROOT_PGID" ] || return 0
	kill -TERM -- "-$CHROOT_PGID" 2>/dev/null || true
	for i in $(seq 1 100); do
		chroot_running || break
		sleep 0.2
	done
	if chroot_running; then
		log "the chroot's processes ignored SIGTERM for 20 s; killing them"
		kill -KILL -- "-$CHROOT_PGID" 2>/dev/null || true
	fi
	wait "$CHROOT_PGID" 2>/dev/null || true
	CHROOT_PGID=
}

# Waits until HOST:PORT accepts, while the chroot's command still runs.
wait_listen_chroot() {	# HOST:PORT SECONDS LOG
	local i
	for i in $(seq 1 "$2"); do
		_cnbd_probe "$1" && return 0
		chroot_running || fail "the chroot's command ended before $1 accepted: $(tail -n 30 "$3")"
		sleep 1
	done
	fail "nothing accepted on $1 within $2 s: $(tail -n 30 "$3")"
}
