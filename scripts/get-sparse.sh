#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a sparse new enough for the test kernel (Debian 12's 0.6.4 lacks
# __typeof_unqual__) from Debian sid's source package, into the cache.
# Prints the path of the sparse binary.
# Usage: get-sparse.sh   (no options; exit status 2 if given any)
set -euo pipefail

[ $# -eq 0 ] || { echo "get-sparse: takes no arguments, got '$1'" >&2; exit 2; }
CACHE=${CACHE:-$HOME/.cache/vmalock-test}
dir=$CACHE/sparse
if [ -x "$dir/bin/sparse" ]; then
	echo "$dir/bin/sparse"
	exit 0
fi
apt_dir=$CACHE/apt-src
mkdir -p "$apt_dir/lists/partial" "$dir/src"
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/get-kernel.sh" >/dev/null	# writes the private binary sources list
sed 's/^deb /deb-src /' "$CACHE/apt/sources.list" > "$apt_dir/sources.list"
opts=(-o "APT::Sandbox::User=root" -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
      -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$apt_dir/lists"
      -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
apt-get "${opts[@]}" update -qq >&2
(cd "$dir/src" && apt-get "${opts[@]}" source --download-only sparse >&2)
tar -xf "$dir"/src/sparse_*.orig.tar.* -C "$dir/src"
src=$(find "$dir/src" -mindepth 1 -maxdepth 1 -type d | head -1)
make -s -C "$src" -j"$(nproc)" HAVE_LLVM=no HAVE_SQLITE=no HAVE_GTK=no sparse >&2
mkdir -p "$dir/bin"
cp "$src/sparse" "$dir/bin/sparse"
echo "$dir/bin/sparse"
