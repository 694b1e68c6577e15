#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check the per-VMA lock's ordering claims with the kernel's memory model:
# run every litmus test in lkmm/ through herd7 against the LKMM of the kernel
# tree in use (tools/memory-model/linux-kernel.cfg). A test must give the
# result its header states (Never for the real test, Sometimes for its broken
# twin), and the kernel functions it models must still exist in the tree
# (a changed function text is reported as a warning). One PASS/FAIL line per
# test, then "N passed, N failed".
#
# herd7 comes from Debian sid's herdtools7, which needs a newer glibc than
# the system's: herdtools7, libc6 and libgmp10 are downloaded through the
# private apt configuration (scripts/lib/private-apt.sh), unpacked into the
# cache with dpkg-deb -x, and herd7 runs through the unpacked loader.
#
# Usage: lkmm.sh [--record] [TEST...]
#   TEST      run only these tests (file names in lkmm/, with or without .litmus)
#   --record  rewrite each test's "Models:" hashes from the tree's text as
#             patches/ make it (after checking the model against new code)
# Environment: KDIR (kernel tree; default: the tree get-kernel.sh gives),
#   CACHE (default ~/.cache/vmalock-test; herd7 is unpacked once into
#   $CACHE/herdtools7, remove it to fetch a newer one), HERD7 (a herd7
#   command to use instead of the unpacked one).
# Exit status: 0 all passed, 1 a test failed, 2 on bad usage (one line on
# stderr, before herd7 or a tree is fetched).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CACHE:-$HOME/.cache/vmalock-test}
prog=lkmm
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"
log() { echo "lkmm: $*" >&2; }

mode=run
tests=()
while [ $# -gt 0 ]; do
	case $1 in
	--record) mode=record ;;
	-h|--help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) die "unknown option '$1' (allowed: --record, --help)" ;;
	*) n=$(basename "$1" .litmus)
	   [ -f "$top/lkmm/$n.litmus" ] ||
		die "no test '$n' in lkmm/; allowed: $(cd "$top/lkmm" && ls -- *.litmus | sed 's/\.litmus$//' | tr "\n" " " | sed "s/ $//")"
	   tests+=("$1") ;;
	esac
	shift
done
[ -z "${HERD7:-}" ] || command -v -- "${HERD7%% *}" >/dev/null ||
	die "HERD7=$HERD7: no such command"

if [ -n "${KDIR:-}" ]; then
	if [ ! -f "$KDIR/Makefile" ] || [ ! -d "$KDIR/mm" ] || [ ! -d "$KDIR/include/linux" ]; then
		die "KDIR=$KDIR is not a kernel tree (no Makefile, mm/ and include/linux/)"
	fi
else
	KDIR=$("$top/scripts/get-kernel.sh" | tail -1)
fi
mm_dir=$KDIR/tools/memory-model
[ -f "$mm_dir/linux-kernel.cfg" ] ||
	die "$KDIR has no tools/memory-model/linux-kernel.cfg (no kernel memory model)"
# The tests model the vm_refcnt functions: a tree without them will not do.
"$top/scripts/check-tree.sh" "$KDIR" >/dev/null || exit 2

if [ "$mode" = record ]; then
	exec "$top/scripts/vmalock-py" lkmm --kdir "$KDIR" --record "${tests[@]}"
fi

# herd7 from sid, unpacked with its own loader and libraries.
herd_root=$CACHE/herdtools7
get_herd7() {
	local pkgs=(herdtools7 libc6 libgmp10) tmp deb ver p

	# shellcheck source-path=SCRIPTDIR source=lib/private-apt.sh
	. "$top/scripts/lib/private-apt.sh"
	private_apt_refresh
	log "fetching ${pkgs[*]} from sid"
	(cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >&2)
	tmp=$(mktemp -d "$CACHE/herdtools7.XXXXXX")
	for p in "${pkgs[@]}"; do
		ver=$(apt-cache "${apt_opts[@]}" policy "$p" | sed -n 's/^  Candidate: //p')
		deb=$(ls "$apt_dir/archives/${p}_${ver//:/%3a}_"*.deb | head -1)
		log "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$tmp"
	done
	rm -rf "$herd_root"
	mv "$tmp" "$herd_root"
	touch "$herd_root/.unpacked"
}
if [ -z "${HERD7:-}" ]; then
	[ -f "$herd_root/.unpacked" ] || get_herd7
	lib=$herd_root/usr/lib/x86_64-linux-gnu
	HERD7="$lib/ld-linux-x86-64.so.2 --library-path $lib $herd_root/usr/bin/herd7 -I $herd_root/usr/share/herdtools7/herd"
fi

exec "$top/scripts/vmalock-py" lkmm --kdir "$KDIR" --herd "$HERD7" "${tests[@]}"
