#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch and unpack the newest Debian linux-source-X.Y that has the vm_refcnt
# per-VMA lock design (6.15 or later), from the trixie-backports and sid
# suites, through a private apt configuration: the system's sources list and
# package state are left untouched.
#
# Prints the path of the unpacked tree on stdout (last line).
# Usage: get-kernel.sh   (no options)
# Environment: CACHE (default ~/.cache/vmalock-test), KVER (force X.Y,
#   6.15 or later).
# Exit status: 0 done, 2 on bad usage, 1 if the fetch or unpack failed (an
# unpack cut short leaves nothing behind).
set -euo pipefail

prog=get-kernel
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"
[ $# -eq 0 ] || die "takes no arguments, got '$1' (KVER=X.Y picks the version; KDIR is for the other scripts)"
if [ -n "${KVER:-}" ]; then
	[[ $KVER =~ ^([0-9]{1,3})\.([0-9]{1,3})$ ]] &&
		{ [ "${BASH_REMATCH[1]}" -gt 6 ] || { [ "${BASH_REMATCH[1]}" -eq 6 ] && [ "${BASH_REMATCH[2]}" -ge 15 ]; }; } ||
		die "KVER must be X.Y, 6.15 or later (the vm_refcnt design), got '$KVER'"
fi

CACHE=${CACHE:-$HOME/.cache/vmalock-test}
mkdir -p "$CACHE/src"

log() { echo "get-kernel: $*" >&2; }

# shellcheck source-path=SCRIPTDIR source=lib/private-apt.sh
. "$(dirname "$0")/lib/private-apt.sh"
private_apt_refresh

# Newest linux-source-X.Y with X.Y >= 6.15.
if [ -z "${KVER:-}" ]; then
	KVER=$(apt-cache "${apt_opts[@]}" pkgnames linux-source- 2>/dev/null |
		sed -n 's/^linux-source-\([0-9]\+\.[0-9]\+\)$/\1/p' | sort -V |
		awk -F. '$1 > 6 || ($1 == 6 && $2 >= 15)' | tail -1)
fi
[ -n "$KVER" ] || { log "no linux-source-X.Y >= 6.15 in trixie-backports or sid"; exit 1; }
pkg=linux-source-$KVER
ver=$(apt-cache "${apt_opts[@]}" policy "$pkg" | sed -n 's/^  Candidate: //p')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no $pkg in trixie-backports or sid (KVER=$KVER)"
log "using $pkg $ver"

# Debian versions carry ~ and +, which make and Kbuild paths do not like.
tree=$CACHE/src/linux-$(echo "$ver" | tr '~+:' '---')
if [ ! -f "$tree/.unpacked" ]; then
	deb=$(ls "$apt_dir"/archives/"${pkg}"_"${ver//:/%3a}"_*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		(cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" download "$pkg=$ver" >&2)
		deb=$(ls "$apt_dir"/archives/"${pkg}"_*.deb | head -1)
	fi
	log "unpacking $deb"
	tmp=$(mktemp -d "$CACHE/src/unpack.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	dpkg-deb -x "$deb" "$tmp"
	tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.* | head -1)
	mkdir -p "$tmp/tree"
	tar -xf "$tarball" -C "$tmp/tree" --strip-components=1
	rm -rf "$tree"
	mv "$tmp/tree" "$tree"
	echo "$pkg $ver" > "$tree/.debian-version"
	touch "$tree/.unpacked"
	rm -rf "$tmp"
	trap - EXIT
fi
echo "$tree"
