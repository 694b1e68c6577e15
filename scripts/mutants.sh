#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel mutants: break the real per-VMA lock in mm/mmap_lock.c, one bug at
# a time, rebuild (incrementally), run the KUnit suites through kunit.sh, and
# check that the cases meant to catch the bug fail. The tree is restored
# afterwards, also on error or interrupt. Each kunit.py log is kept in
# $CACHE/mutants/NAME.log. Not part of test.sh: each mutant rebuilds.
#
# Usage: mutants.sh [NAME...]   (default: all; --list to list them)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export CACHE=${CACHE:-$HOME/.cache/vmalock-test}

# name | sed expression on mm/mmap_lock.c | cases that must fail
mutants=(
"no_mm_check|s/if (unlikely(vma->vm_mm != mm))/if (0 \&\& unlikely(vma->vm_mm != mm))/|reused_vma_of_other_mm_test"
"no_seq_check|s/^\(\t*\)if (\(.*\)vma->vm_lock_seq\(.*\)mm_lock_seq\(.*\)) {\$/\1if (0 \&\& \2vma->vm_lock_seq\3mm_lock_seq\4) {/|write_lock_excludes_readers_test bulk_release_test"
"no_reader_limit|/vma_start_read(struct mm_struct/,/^}/s/VM_REFCNT_LIMIT)))/INT_MAX)))/|refcount_limit_test"
"writer_no_wait|s/refcount_read(\&vma->vm_refcnt) == tgt_refcnt,/true,/|writer_waits_for_reader_test detach_waits_for_transient_reader_test start_write_killable_killed_test"
"detach_no_wait|s/\t\t\.detaching = true,/\t\t.detaching = false,/|detach_waits_for_transient_reader_test"
"start_write_no_seq|/^int __vma_start_write/,/^}/s/^\tWRITE_ONCE(vma->vm_lock_seq, mm_lock_seq);/\t\/\* mutant \*\//|write_lock_excludes_readers_test second_start_write_noop_test start_write_killable_test bulk_release_test"
"read_no_lockdep|/^static inline struct vm_area_struct \*vma_start_read/,/^}/s/^\t__vma_lockdep_acquire_read(vma);/\t\/\* mutant \*\//|read_lock_rcu_test"
)

if [ "${1:-}" = --list ]; then
	printf '%s\n' "${mutants[@]}" | cut -d'|' -f1,3 | tr '|' '\t'
	exit 0
fi

kbuild=$("$top/scripts/build-kernel.sh" debug | tail -1)
kdir=$(cat "$kbuild/.vmalock-kdir")
src=$kdir/mm/mmap_lock.c
saved=$(mktemp)
cp "$src" "$saved"
restore() { cmp -s "$saved" "$src" || cp "$saved" "$src"; rm -f "$saved"; }
trap restore EXIT

passed=0 failed=0
for m in "${mutants[@]}"; do
	IFS='|' read -r name expr want <<< "$m"
	[ $# -eq 0 ] || [[ " $* " == *" $name "* ]] || continue
	cp "$saved" "$src"
	sed -i "$expr" "$src"
	if cmp -s "$saved" "$src"; then
		echo "mutant $name: the expression no longer applies to $src"
		failed=$((failed + 1))
		continue
	fi
	echo "=== mutant $name: $(diff "$saved" "$src" | grep -c '^>') line(s) changed"
	mkdir -p "$CACHE/mutants"
	log=$CACHE/mutants/$name.log
	"$top/scripts/kunit.sh" --timeout 300 > "$log" 2>&1 || true
	missed=""
	for c in $want; do
		grep -q "\[FAILED\] $c\|\[CRASHED\] $c\|FAILED\] $c" "$log" || missed+=" $c"
	done
	grep -E '\[(FAILED|CRASHED)\] [a-z_]*$|Testing complete' "$log" | sed 's/^\[[0-9:]*\] /  /'
	if [ -z "$missed" ]; then
		echo "mutant $name: killed by: $want"
		passed=$((passed + 1))
	else
		echo "mutant $name: SURVIVED in:$missed"
		failed=$((failed + 1))
	fi
done
restore
trap - EXIT
# Rebuild the real kernel so that the next run starts from it.
"$top/scripts/build-kernel.sh" debug >/dev/null
echo "mutants: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
