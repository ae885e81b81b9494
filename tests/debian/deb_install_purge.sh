#!/bin/bash
# The packages of make deb on a fresh Debian 12 (the minbase chroot): apt
# installs them with their dependencies; the postinst made the system
# user nbd and enabled the services, not the socket unit; nbd-serverd started from the installed files and the packaged
# configuration (a conffile) serves its 1 GiB memory export on
# 127.0.0.1:10809 with workers running as nbd, which nbdinfo and libnbd
# read and write and "nbdctl server list" lists; the rbd backend loads
# from the installed backend directory. Then purging them and the
# dependencies apt pulled in leaves no file of theirs and nothing else
# new but the user nbd, which Debian keeps (files it owns may outlive the
# package). Needs root and this machine's Debian mirror.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

need debootstrap unshare nsenter ip nbdinfo
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot)"
debs=${CNBD_DEBS:-$CNBD_SRC/build/deb}
pkgs="cnbd-server cnbd-client cnbd-backend-rbd libcnbd0 libcnbd-dev"
for p in $pkgs; do
	compgen -G "$debs/${p}_*.deb" >/dev/null || fail "no $p package in $debs (make deb)"
done
cnbd_tmpdir
root=$tmp/root
t0=$(date +%s)
chroot_new "$root"
mkdir "$root/tmp/debs"
for p in $pkgs; do
	cp "$debs/${p}"_*.deb "$root/tmp/debs/"
done

# Debian's systemd integration (deb-systemd-helper) is on every system
# with systemd: with it the postinst enables the units and the purge must
# take the links and the state away again.
in_chroot "$root" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends init-system-helpers' >"$tmp/helpers.log" 2>&1 ||
	fail "apt-get install init-system-helpers failed: $(tail -n 30 "$tmp/helpers.log")"

# Everything on the chroot's disk but what apt, dpkg and logs keep.
snapshot() {	# OUT
	in_chroot "$root" find / -xdev \( -path /var/lib/apt -o -path /var/cache -o \
		-path /var/log -o -path /var/lib/dpkg -o -path /tmp -o -path /run -o \
		-path /proc -o -path /sys -o -path /dev \) -prune -o -print |
		LC_ALL=C sort >"$1"
}
snapshot "$tmp/before"

in_chroot "$root" sh -c 'DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends /tmp/debs/*.deb' >"$tmp/install.log" 2>&1 ||
	fail "apt-get install of the packages failed: $(tail -n 30 "$tmp/install.log")"
t_install=$(date +%s)

# The user the workers run as: a system user and group, no login.
pw=$(in_chroot "$root" getent passwd nbd) || fail "the postinst did not create the user nbd"
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ] ||
	fail "nbd is not a system user without a home or a shell: $pw"
[ "$(in_chroot "$root" getent group nbd | cut -d: -f3)" = "$gid" ] || fail "no group nbd as nbd's group"
in_chroot "$root" dpkg-query -W -f='${Conffiles}\n' cnbd-server | grep '^ /etc/cnbd/nbd-serverd.conf ' >/dev/null ||
	fail "/etc/cnbd/nbd-serverd.conf is not a conffile of cnbd-server"
for f in /usr/sbin/nbd-serverd /usr/sbin/nbd-clientd /usr/bin/nbdctl \
	 /lib/systemd/system/nbd-serverd.service /lib/systemd/system/nbd-clientd.service \
	 /lib/udev/rules.d/60-cnbd.rules /lib/modprobe.d/cnbd.conf; do
	[ -e "$root$f" ] || fail "$f is not installed"
done
in_chroot "$root" nbd-clientd --help >/dev/null || fail "the installed nbd-clientd does not run"
for u in nbd-serverd nbd-clientd; do
	[ -L "$root/etc/systemd/system/multi-user.target.wants/$u.service" ] ||
		fail "the postinst did not enable $u.service"
done
# Socket activation is the operator's choice: with the socket unit
# enabled the configuration's listen lines are not opened.
[ -f "$root/lib/systemd/system/nbd-serverd.socket" ] || fail "nbd-serverd.socket is not installed"
[ ! -e "$root/etc/systemd/system/sockets.target.wants/nbd-serverd.socket" ] ||
	fail "the postinst enabled nbd-serverd.socket"

# The server as its unit starts it, in a network of its own (the port is
# fixed); the client on the host, in that network.
CHROOT_OWN_NET=1 chroot_start "$root" "$tmp/server.log" /usr/sbin/nbd-serverd -f
for i in $(seq 1 100); do
	chroot_net nbdinfo --size nbd://127.0.0.1:10809 >"$tmp/size" 2>/dev/null && break
	chroot_running || fail "nbd-serverd ended: $(cat "$tmp/server.log")"
	sleep 0.1
done
[ "$(cat "$tmp/size")" = 1073741824 ] ||
	fail "the packaged configuration's export is not 1 GiB: $(cat "$tmp/size" "$tmp/server.log")"
chroot_net /usr/bin/python3 - <<'PY' || fail "libnbd could not write and read back the export"
import nbd
h = nbd.NBD()
h.connect_uri("nbd://127.0.0.1:10809")
data = b"cnbd" * 16384
h.pwrite(data, 1 << 20)
assert h.pread(len(data), 1 << 20) == data
h.shutdown()
PY
grep -q 'workers run as nbd$' "$tmp/server.log" || fail "the workers do not run as nbd: $(cat "$tmp/server.log")"
in_chroot "$root" nbdctl server list >"$tmp/list" 2>&1 || fail "nbdctl server list failed: $(cat "$tmp/list")"
grep -Eq '^default +memory ' "$tmp/list" || fail "nbdctl server list does not show default: $(cat "$tmp/list")"
chroot_stop

# The rbd backend is found, loaded with librbd, and checks its parameters.
# (Not in /tmp: as root the server refuses a configuration others could swap.)
printf '[server]\nlisten = 127.0.0.1:10809\ncontrol = off\n[img]\nbackend = rbd\n' >"$root/root/rbd.conf"
out=$(CHROOT_OWN_NET=1 in_chroot "$root" timeout 20 nbd-serverd -f -c /root/rbd.conf 2>&1) &&
	fail "nbd-serverd started an rbd export without an image"
rm "$root/root/rbd.conf"
grep -q "rbd: the parameter 'image' is required" <<<"$out" ||
	fail "the installed rbd backend did not load and check its parameters: $out"

for p in $pkgs; do
	in_chroot "$root" dpkg -L "$p" >"$tmp/files.$p" || fail "dpkg -L $p"
done
# shellcheck disable=SC2086
in_chroot "$root" sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y $pkgs &&
	DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y" >"$tmp/purge.log" 2>&1 ||
	fail "purge failed: $(tail -n 30 "$tmp/purge.log")"
t_purge=$(date +%s)

left=$(in_chroot "$root" dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $pkgs 2>/dev/null | grep -v ' un' || true)
[ -z "$left" ] || fail "dpkg still knows: $left"
for p in $pkgs; do
	while IFS= read -r f; do
		[ "$f" = /. ] && continue
		if [ -e "$root$f" ] && [ ! -d "$root$f" ]; then
			fail "$f of $p is still there after purge"
		fi
	done <"$tmp/files.$p"
done
snapshot "$tmp/after"
# adduser's backups of the files it changed for the user nbd.
backups=(-e /etc/passwd- -e /etc/group- -e /etc/shadow- -e /etc/gshadow-)
new=$(comm -13 "$tmp/before" "$tmp/after" | grep -v -x "${backups[@]}" || true)
[ -z "$new" ] || fail "purge left new files: $new"
gone=$(comm -23 "$tmp/before" "$tmp/after" | grep -v -x "${backups[@]}" || true)
[ -z "$gone" ] || fail "install and purge removed files of the base system: $gone"
in_chroot "$root" getent passwd nbd >/dev/null || fail "purge removed the user nbd (Debian keeps system users)"
owned=$(in_chroot "$root" find / -xdev -path /proc -prune -o -user nbd -print)
[ -z "$owned" ] || fail "files owned by nbd are left: $owned"
log "install $((t_install - t0)) s (unpacking the base included), checks and purge $((t_purge - t_install)) s"
log "ok"
