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
# current ones applied. Everything is tried first on a scratch copy of the
# files the patches touch: a patch that does not apply (or an applied one
# that no longer reverses) stops the run with one line naming the patch, the
# file and the hunk, and the tree is left as it was.
#
# Usage: patch-kernel.sh [--check] [--skip-optional] KDIR
#   --check          only the trial on the scratch copy: change nothing
#   --skip-optional  a patch scripts/lib/optional-patches lists that does
#                    not apply is left out, named with the file and hunk,
#                    and the others applied; KDIR/.vmalock-patches/skipped
#                    records it (name, what goes without it, the module
#                    parameters the run then takes, the invariants no
#                    longer checked, why), for the run to go on without it
# Exit status: 0 patched (or would be), 2 bad usage or a patch that does not
# apply (and may not be left out), 1 another error.
set -euo pipefail

prog=patch-kernel
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"

check=0 skip=0
while [ $# -gt 1 ]; do
	case $1 in
	--check) check=1 ;;
	--skip-optional) skip=1 ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 1 ] && [ -n "$1" ] && [[ $1 != -* ]] ||
	die "usage: patch-kernel.sh [--check] [--skip-optional] KDIR"
kdir=$1
[ -d "$kdir" ] || die "$kdir: not a kernel source tree (no such directory)"
[ -d "$kdir/mm" ] || die "$kdir: not a kernel source tree (no mm/)"
state=$kdir/.vmalock-patches

mapfile -t new < <(cd "$top/patches" && ls -- *.patch)

# What the tree has: the copies kept, or, in a tree patched before copies
# were kept, the patches that reverse cleanly (recorded below).
legacy=0
if [ -e "$state/.kept" ]; then
	mapfile -t old < <(cd "$state" && ls -- *.patch 2>/dev/null)
	old_dir=$state
else
	legacy=1 old=() old_dir=$top/patches
	for name in "${new[@]}"; do
		patch -d "$kdir" -p1 -R --dry-run -s -f < "$top/patches/$name" >/dev/null 2>&1 ||
			break
		old+=("$name")
	done
fi

# optional NAME: NAME's line in scripts/lib/optional-patches (name, what
# goes without it, module parameters, invariants), tab-separated, if it has
# one.
optional() {
	[ -f "$top/scripts/lib/optional-patches" ] || return 0
	awk -F '\t' -v OFS='\t' -v n="$1" '!/^#/ && $1 == n { print $1, $2, $3, $4 }' \
		"$top/scripts/lib/optional-patches"
}
# left_out NAME: NAME was left out of the tree (it is in the record of the
# patches, not applied).
left_out() { [ -f "$state/skipped" ] && cut -f1 "$state/skipped" | grep -qxF "$1"; }

# may_leave_out NAME: NAME may stay out of the tree in this run.
may_leave_out() { [ $skip -eq 1 ] && [ -n "$(optional "$1")" ]; }

# The first patch that differs from what the tree has (or was left out,
# and may no longer be: it is tried again).
i=0
while [ $i -lt ${#old[@]} ] && [ $i -lt ${#new[@]} ] && [ "${old[$i]}" = "${new[$i]}" ] &&
	cmp -s "$old_dir/${old[$i]}" "$top/patches/${new[$i]}" &&
	{ ! left_out "${old[$i]}" || may_leave_out "${old[$i]}"; }; do
	i=$((i + 1))
done

# The files a patch names (a/ and b/ sides, /dev/null left out).
patch_files() {
	sed -n 's,^--- a/\([^\t]*\).*,\1,p; s,^+++ b/\([^\t]*\).*,\1,p' "$1" | sort -u
}

# patch's output, as "FILE hunk #N FAILED at L, ..." on one line.
failed_hunks() {
	awk '/^(patching|checking) file / { f = substr($0, index($0, " file ") + 6) }
	     /^Hunk #[0-9]+ FAILED/ { sub(/\.$/, "", $5); r = r s f " hunk " $2 " FAILED at " $5; s = ", " }
	     /^\|\+\+\+ b\// { m = substr($0, 8); sub(/\t.*/, "", m) }
	     /^No file to patch/ { r = r s m ": no such file"; s = ", " }
	     END { print r }'
}

# The trial: the same reversals and applications, on copies.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/tree"
{
	for ((j = i; j < ${#old[@]}; j++)); do patch_files "$old_dir/${old[$j]}"; done
	for ((j = i; j < ${#new[@]}; j++)); do patch_files "$top/patches/${new[$j]}"; done
} | sort -u | while IFS= read -r f; do
	[ -f "$kdir/$f" ] || continue
	mkdir -p "$scratch/tree/$(dirname "$f")"
	cp "$kdir/$f" "$scratch/tree/$f"
done
skipped=()	# "name<TAB>what<TAB>params<TAB>invariants<TAB>why" of each left out
trial() { # reverse|apply NAME PATCH
	local out what="$2 does not apply to $kdir" rev=() opt
	[ "$1" = apply ] || { what="cannot reverse $2 (changed or gone from patches/) in $kdir" rev=(-R); }
	# A dry run first: a patch left out must leave the copies as they were.
	out=$(patch -d "$scratch/tree" -p1 -f "${rev[@]}" --dry-run -r - < "$3" 2>&1) &&
		patch -d "$scratch/tree" -p1 -s -f "${rev[@]}" --no-backup-if-mismatch -r - < "$3" &&
		return 0
	out=$(echo "$out" | failed_hunks)
	if [ "$1" = apply ] && patch -d "$kdir" -p1 -R --dry-run -s -f < "$3" >/dev/null 2>&1; then
		out+=" (it is applied already, without a copy in $state)"
	fi
	out=${out:-see patch -p1 < $3}
	opt=$(optional "$2")
	if [ "$1" = apply ] && may_leave_out "$2"; then
		skipped+=("$opt	$out")
		echo "patch-kernel: $what: $out; left out: the run goes on without $(echo "$opt" | cut -f2) ($(echo "$opt" | cut -f3))" >&2
		return 0
	fi
	die "$what: $out; nothing changed"
}
for ((j = ${#old[@]} - 1; j >= i; j--)); do
	left_out "${old[$j]}" || trial reverse "${old[$j]}" "$old_dir/${old[$j]}"
done
for ((j = i; j < ${#new[@]}; j++)); do trial apply "${new[$j]}" "$top/patches/${new[$j]}"; done
# is_skipped NAME: NAME is left out in this run.
is_skipped() { printf '%s\n' "${skipped[@]}" | cut -f1 | grep -qxF "$1"; }
rm -rf "$scratch"
trap - EXIT

if [ $check -eq 1 ]; then
	echo "patch-kernel: the patches apply to $kdir${skipped[*]:+ (${#skipped[@]} left out)}"
	exit 0
fi

mkdir -p "$state"
if [ $legacy -eq 1 ]; then
	for name in "${old[@]}"; do cp "$top/patches/$name" "$state/$name"; done
	touch "$state/.kept"
fi
for ((j = 0; j < i; j++)); do
	if left_out "${new[$j]}"; then
		echo "patch-kernel: ${new[$j]} left out: $(grep -F "${new[$j]}	" "$state/skipped" | cut -f5)"
	else
		echo "patch-kernel: ${new[$j]} already applied"
	fi
done

for ((j = ${#old[@]} - 1; j >= i; j--)); do
	if left_out "${old[$j]}"; then
		grep -vF "${old[$j]}	" "$state/skipped" > "$state/skipped.new" || true
		mv "$state/skipped.new" "$state/skipped"
	elif ! patch -d "$kdir" -p1 -R -s -f --no-backup-if-mismatch < "$state/${old[$j]}" >/dev/null 2>&1; then
		echo "patch-kernel: cannot reverse ${old[$j]} in $kdir, although a copy of it could be" >&2
		exit 1
	fi
	rm "$state/${old[$j]}"
	echo "patch-kernel: reversed ${old[$j]} (changed or gone from patches/)"
done

for ((j = i; j < ${#new[@]}; j++)); do
	name=${new[$j]}
	if is_skipped "$name"; then
		printf '%s\n' "${skipped[@]}" | grep -F "$name	" >> "$state/skipped"
		cp "$top/patches/$name" "$state/$name"
		echo "patch-kernel: left out $name"
		continue
	fi
	if ! patch -d "$kdir" -p1 -s -f --no-backup-if-mismatch < "$top/patches/$name" >&2; then
		echo "patch-kernel: $name does not apply to $kdir, although a copy of it could be" >&2
		exit 1
	fi
	cp "$top/patches/$name" "$state/$name"
	echo "patch-kernel: applied $name"
done

# The suite stays in this repository; the tree gets links to it, renewed on
# every run so that they follow the clone in use.
rm -rf "$kdir/mm/vmalock_kunit"		# where earlier versions linked it
mkdir -p "$kdir/mm/tests"
for f in "$top/kunit/vmalock_kunit.c" "$top/vmalock_monitor.h"; do
	ln -sfn "$f" "$kdir/mm/tests/$(basename "$f")"
done
