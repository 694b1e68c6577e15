#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kernel's own selftests that scripts/guest/selftests.table lists,
# static, from the kernel source tree in use, for the guest's selftests run.
#
# Usage: build-selftests.sh KSRC OUTDIR
#   KSRC    the kernel source tree the test kernel was built from (only read)
#   OUTDIR  where the binaries go; OUTDIR/skipped gets one line per test not
#           built, "NAME REASON", for the guest to report by name
# Environment: CACHE (default ~/.cache/vmalock-test): the tree's UAPI headers
#   are made once in CACHE/selftests/<tree>-headers (make O=: the tree is not
#   written).
#
# The sources are built from a copy in a temporary directory: mm/Makefile
# writes its local_config.* where it runs. A test that does not build is
# skipped, with the compiler's first error as the reason; the build goes on.
#
# Exit status: 0 (built or skipped by name), 1 if the headers could not be
# made or no test built, 2 on bad usage.
set -euo pipefail

prog=build-selftests
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"
CACHE=${CACHE:-$HOME/.cache/vmalock-test}
table=$top/scripts/guest/selftests.table

[ $# -eq 2 ] || die "usage: build-selftests.sh KSRC OUTDIR"
ksrc=$1 outdir=$2
[ -f "$ksrc/tools/testing/selftests/lib.mk" ] ||
	die "$ksrc: no tools/testing/selftests/lib.mk: not a kernel source tree"
ksrc=$(cd "$ksrc" && pwd)
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
log() { echo "build-selftests: $*" >&2; }

# The UAPI headers the tests include (<linux/userfaultfd.h>, <linux/fs.h>'s
# PROCMAP_QUERY, ...): this tree's, not the build machine's. make is
# incremental, so a second run only checks them.
hdr=$CACHE/selftests/$(basename "$ksrc")-headers
mkdir -p "$hdr"
exec 9>"$hdr/.lock"
flock 9
if ! make -s -C "$ksrc" O="$hdr" ARCH=x86_64 headers >"$hdr/make.log" 2>&1; then
	log "make headers failed (see $hdr/make.log): $(grep -m1 -i error "$hdr/make.log")"
	rm -rf "$outdir"
	mkdir -p "$outdir"
	awk '!/^#/ && NF >= 6 { print $1, "not built: make headers failed in this kernel tree" }' \
		"$table" > "$outdir/skipped"
	exit 1
fi
exec 9>&-

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
st=tools/testing/selftests
src=$work/src
mkdir -p "$src"
# What the Makefiles and sources reach outside their own directories.
(cd "$ksrc" && cp -r --parents tools/include tools/arch/x86/include mm/gup_test.h \
	lib/test_hmm_uapi.h $st/lib.mk $st/kselftest.h $st/kselftest_harness.h \
	$st/kselftest $st/mm $st/proc $st/pidfd $st/clone3 $st/x86/check_cc.sh \
	$st/x86/trivial_program.c $st/x86/trivial_32bit_program.c \
	$st/x86/trivial_64bit_program.c "$src/")

# Built once for these sources, headers, table and script: the build takes
# minutes on a busy machine, a copy seconds.
sum=$( { cd "$work" && find src -type f -print0 | sort -z | xargs -0 sha256sum
	 find "$hdr/usr/include" -type f -print0 | sort -z | xargs -0 cat
	 cat "$table" "$top/scripts/build-selftests.sh"; } | sha256sum | cut -c1-16)
cache=$CACHE/selftests/$(basename "$ksrc")-$sum
if [ -f "$cache/.done" ]; then
	log "built before: $cache"
else
	# Other builds of this tree are out of date.
	find "$CACHE/selftests" -maxdepth 1 -name "$(basename "$ksrc")-*" ! -name '*-headers' \
		-exec rm -rf {} +
	mkdir -p "$cache"
	: > "$cache/skipped"
	while read -r name dir _ _ _ skip; do
		if [ "$skip" != - ]; then
			echo "$name ${skip//_/ }" >> "$cache/skipped"
			continue
		fi
		if [ ! -f "$src/$st/$dir/Makefile" ]; then
			echo "$name not built: no $st/$dir in this kernel tree" >> "$cache/skipped"
			continue
		fi
		# -static through LDFLAGS, which the selftests' link rule (LINK.c)
		# takes and their Makefiles only add to; -lnuma, -lcap as they say.
		if LDFLAGS=-static make -C "$src/$st/$dir" OUTPUT="$cache" \
			KHDR_INCLUDES="-isystem $hdr/usr/include" "$cache/$name" \
			>"$work/$name.log" 2>&1 && [ -x "$cache/$name" ]; then
			continue
		fi
		why=$(grep -m1 -E 'error:|No rule to make target|cannot find -l|undefined reference' \
			"$work/$name.log" || tail -1 "$work/$name.log")
		case $why in
		*"No rule to make target"*) why="no such test in this kernel's $st/$dir" ;;
		*) why=$(echo "$why" | sed "s|$src/||g; s|$cache/||g" | cut -c1-160) ;;
		esac
		echo "$name not built: $why" >> "$cache/skipped"
		log "$name: not built: $why"
	done < <(awk '!/^#/ && NF >= 6' "$table")
	touch "$cache/.done"
fi
rm -rf "$outdir"
mkdir -p "$outdir"
built=0
while read -r name _; do
	[ -x "$cache/$name" ] || continue
	cp "$cache/$name" "$outdir/"
	built=$((built + 1))
done < <(awk '!/^#/ && NF >= 6' "$table")
cp "$cache/skipped" "$outdir/skipped"
log "$built built, $(wc -l < "$outdir/skipped") skipped"
[ "$built" -gt 0 ]
