#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Apply the project's kernel patches (patches/*.patch, in order) to a tree,
# and link the KUnit suite (kunit/vmalock_kunit.c) and the header it
# includes into mm/tests/, where patch 0002 builds them.
#
# Idempotent: a copy of every patch applied is kept in KDIR/.vmalock-patches.
# When patches/ changed since (a patch edited, added or removed), the patches
# applied from the first difference on are reversed, newest first, and the
# current ones applied. A patch that does not apply stops the run and names
# the file and hunk that failed.
#
# Usage: patch-kernel.sh KDIR
set -euo pipefail

kdir=${1:?usage: patch-kernel.sh KDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
state=$kdir/.vmalock-patches

mapfile -t new < <(cd "$top/patches" && ls -- *.patch)
mkdir -p "$state"

# A tree patched before copies were kept: what reverses cleanly is applied.
if [ ! -e "$state/.kept" ]; then
	for name in "${new[@]}"; do
		patch -d "$kdir" -p1 -R --dry-run -s -f < "$top/patches/$name" >/dev/null 2>&1 ||
			break
		cp "$top/patches/$name" "$state/$name"
	done
	touch "$state/.kept"
fi
mapfile -t old < <(cd "$state" && ls -- *.patch 2>/dev/null)

# The first patch that differs from what the tree has.
i=0
while [ $i -lt ${#old[@]} ] && [ $i -lt ${#new[@]} ] && [ "${old[$i]}" = "${new[$i]}" ] &&
	cmp -s "$state/${old[$i]}" "$top/patches/${new[$i]}"; do
	echo "patch-kernel: ${new[$i]} already applied"
	i=$((i + 1))
done

for ((j = ${#old[@]} - 1; j >= i; j--)); do
	if ! patch -d "$kdir" -p1 -R -s -f < "$state/${old[$j]}" >/dev/null 2>&1; then
		echo "patch-kernel: cannot reverse ${old[$j]} (changed or gone from patches/) in $kdir" >&2
		exit 1
	fi
	rm "$state/${old[$j]}"
	echo "patch-kernel: reversed ${old[$j]} (changed or gone from patches/)"
done

for ((j = i; j < ${#new[@]}; j++)); do
	name=${new[$j]}
	p=$top/patches/$name
	if ! out=$(patch -d "$kdir" -p1 --dry-run -f -N < "$p" 2>&1); then
		echo "patch-kernel: $name does not apply to $kdir:" >&2
		echo "$out" | grep -E 'FAILED|can.t find file|(checking|patching) file' >&2 || echo "$out" >&2
		exit 1
	fi
	patch -d "$kdir" -p1 -s -f -N < "$p"
	cp "$p" "$state/$name"
	echo "patch-kernel: applied $name"
done

# The suite stays in this repository; the tree gets links to it, renewed on
# every run so that they follow the clone in use.
rm -rf "$kdir/mm/vmalock_kunit"		# where earlier versions linked it
mkdir -p "$kdir/mm/tests"
for f in "$top/kunit/vmalock_kunit.c" "$top/vmalock_monitor.h"; do
	ln -sfn "$f" "$kdir/mm/tests/$(basename "$f")"
done
