#!/bin/bash
# lintian, with pedantic and experimental tags, on what make deb built
# (the .changes: every .deb and the .buildinfo): no tag at all but those
# debian/*.lintian-overrides override, each override with a comment above
# it that says why, and none unused. And debian/control's Build-Depends
# come from deps/packages.txt: the build group (less build-essential,
# which Debian assumes) is all there, and nothing is there that the list
# does not have.
. "$(dirname "$0")/../lib/common.sh"

need lintian
debs=${CNBD_DEBS:-$CNBD_SRC/build/deb}
changes=$(ls "$debs"/*.changes 2>/dev/null | head -n 1)
[ -n "$changes" ] || fail "no .changes in $debs (make deb)"
cnbd_tmpdir

rc=0
lintian --pedantic -E -I --show-overrides --tag-display-limit 0 "$changes" \
	>"$tmp/lintian" 2>"$tmp/lintian.err" || rc=$?
[ $rc -lt 2 ] || fail "lintian could not run (exit $rc): $(cat "$tmp/lintian.err")"
cat "$tmp/lintian" >&2
# O: an overridden tag, N: its comment.
bad=$(grep -v -e '^O: ' -e '^N: ' "$tmp/lintian" || true)
[ -z "$bad" ] || fail "lintian tags not overridden: $bad"

# Each override, a comment line above it.
for f in "$CNBD_SRC"/debian/*.lintian-overrides; do
	[ -e "$f" ] || continue
	awk -v f="${f#"$CNBD_SRC"/}" '
		/^#/ { why = 1; next }
		/^[[:space:]]*$/ { why = 0; next }
		!why { print f ":" NR ": an override without a comment saying why"; bad = 1 }
		END { exit bad }' "$f" >&2 || fail "an override without its reason"
done

# Build-Depends against the package list.
build_deps=$(awk '/^Build-Depends:/ { on = 1; sub(/^Build-Depends:/, "") }
		  on && /^[^ \t]/ && !/^Build-Depends:/ { on = 0 }
		  on' "$CNBD_SRC/debian/control" | tr ',' '\n' |
	     sed 's/[(<].*//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
listed=$("$CNBD_SRC/deps/install-deps" --list all | sort -u)
for p in $("$CNBD_SRC/deps/install-deps" --list build); do
	[ "$p" = build-essential ] && continue
	grep -qx "$p" <<<"$build_deps" || fail "$p (build group) is not in Build-Depends"
done
for p in $build_deps; do
	[ "$p" = debhelper-compat ] && continue
	grep -qx "$p" <<<"$listed" || fail "Build-Depends has $p, which deps/packages.txt lacks"
done
log "ok"
