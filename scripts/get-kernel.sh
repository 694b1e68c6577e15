#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch and unpack the newest Debian linux-source-X.Y that has the vm_refcnt
# per-VMA lock design (6.15 or later), from the trixie-backports and sid
# suites, through a private apt configuration: the system's sources list and
# package state are left untouched.
#
# Prints the path of the unpacked tree on stdout (last line).
# Environment: CACHE (default ~/.cache/vmalock-test), KVER (force X.Y).
set -euo pipefail

CACHE=${CACHE:-$HOME/.cache/vmalock-test}
apt_dir=$CACHE/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$CACHE/src"

log() { echo "get-kernel: $*" >&2; }

# The Debian mirror the system already uses (first URIs/deb line naming a
# debian suite), so no host name is written here.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\)[[:space:]].*/\2/p' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
[ -n "$mirror" ] || { log "no Debian mirror found in the system's apt sources"; exit 1; }

cat > "$apt_dir/sources.list" <<EOS
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main
EOS

apt_opts=(-o "APT::Sandbox::User=root"
	  -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
	  -o "Dir::Etc::sourceparts=-"
	  -o "Dir::State::Lists=$apt_dir/lists"
	  -o "Dir::Cache::Archives=$apt_dir/archives"
	  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
	  -o "APT::Get::List-Cleanup=0"
	  -o "Acquire::Languages=none")

# Refresh the lists at most once a day.
stamp=$apt_dir/lists/.stamp
if [ -z "$(find "$stamp" -mtime -1 2>/dev/null)" ]; then
	log "updating private package lists"
	apt-get "${apt_opts[@]}" update -qq >&2
	touch "$stamp"
fi

# Newest linux-source-X.Y with X.Y >= 6.15.
if [ -z "${KVER:-}" ]; then
	KVER=$(apt-cache "${apt_opts[@]}" pkgnames linux-source- 2>/dev/null |
		sed -n 's/^linux-source-\([0-9]\+\.[0-9]\+\)$/\1/p' | sort -V |
		awk -F. '$1 > 6 || ($1 == 6 && $2 >= 15)' | tail -1)
fi
[ -n "$KVER" ] || { log "no linux-source-X.Y >= 6.15 in trixie-backports or sid"; exit 1; }
pkg=linux-source-$KVER
ver=$(apt-cache "${apt_opts[@]}" policy "$pkg" | sed -n 's/^  Candidate: //p')
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
	dpkg-deb -x "$deb" "$tmp"
	tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.* | head -1)
	mkdir -p "$tmp/tree"
	tar -xf "$tarball" -C "$tmp/tree" --strip-components=1
	rm -rf "$tree"
	mv "$tmp/tree" "$tree"
	rm -rf "$tmp"
	echo "$pkg $ver" > "$tree/.debian-version"
	touch "$tree/.unpacked"
fi
echo "$tree"
