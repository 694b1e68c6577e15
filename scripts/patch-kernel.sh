#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Apply the project's kernel patches (patches/*.patch, in order) to a tree,
# and link the KUnit suites (kunit/) into it as mm/vmalock_kunit/.
# Idempotent: a patch that is already applied is skipped. A patch that does
# not apply stops the run and names the file and hunk that failed.
#
# Usage: patch-kernel.sh KDIR
set -euo pipefail

kdir=${1:?usage: patch-kernel.sh KDIR}
top=$(cd "$(dirname "$0")/.." && pwd)

for p in "$top"/patches/*.patch; do
	name=$(basename "$p")
	if patch -d "$kdir" -p1 -R --dry-run -s -f < "$p" >/dev/null 2>&1; then
		echo "patch-kernel: $name already applied"
		continue
	fi
	if ! out=$(patch -d "$kdir" -p1 --dry-run -f -N < "$p" 2>&1); then
		echo "patch-kernel: $name does not apply to $kdir:" >&2
		echo "$out" | grep -E 'FAILED|can.t find file|(checking|patching) file' >&2 || echo "$out" >&2
		exit 1
	fi
	patch -d "$kdir" -p1 -s -f -N < "$p"
	echo "patch-kernel: applied $name"
done

# The suites stay in this repository; the tree gets links to them, renewed on
# every run so that they follow the clone in use.
links=$kdir/mm/vmalock_kunit
mkdir -p "$links"
for f in "$top"/kunit/Kconfig "$top"/kunit/Makefile "$top"/kunit/*_kunit.c "$top"/vmalock_monitor.h; do
	ln -sfn "$f" "$links/$(basename "$f")"
done
