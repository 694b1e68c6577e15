#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel mutants: break the real per-VMA lock (mm/mmap_lock.c, or
# include/linux/mmap_lock.h, whose mutants rebuild most of the kernel), or
# one of its callers (mm/vma.c, mm/mmap.c, mm/memory.c), one bug at a time,
# rebuild, and check that the bug is reported: lock mutants by the KUnit
# suites (kunit.sh; the cases named must fail), caller mutants by a boot of
# the user-space stressor under the system-wide monitor (vmalock-run.sh;
# "inv:NAME" must be reported as violated, "check:RUN/NAME" must FAIL). The
# tree is restored afterwards, also on error or interrupt. Each log is kept
# in $CACHE/mutants/NAME.log. Not part of test.sh: each mutant rebuilds.
#
# Usage: mutants.sh [--repeat N] [NAME...]   (default: all; --list to list
#   them, --help for this)
#   --repeat N   boot each caller mutant N times (1..10, default 1), one
#                build; it is killed only if every boot reports it. Lock
#                mutants (KUnit, forced interleavings) run once.
# Per boot it prints what reported the mutant: "ours" (the monitor's or the
# module's invariant, a stressor check) with the watch's detected_ms, and
# "kernel" (a splat the console check found: WARNING, BUG, lockdep).
# Exit status: 0 every mutant killed, 1 one survived, 2 on bad usage (one
# line on stderr: an unknown name or option, a KDIR that will not do).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export CACHE=${CACHE:-$HOME/.cache/vmalock-test}
prog=mutants
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"

# name | file | sed expression on it | what must report it: KUnit cases
# that must fail, or (caller mutants, judged by a boot) inv:INVARIANT and
# check:RUN/NAME
mutants=(
"no_mm_check|mm/mmap_lock.c|s/if (unlikely(vma->vm_mm != mm))/if (0 \&\& unlikely(vma->vm_mm != mm))/|reused_vma_of_other_mm_test"
"no_seq_check|mm/mmap_lock.c|s/^\(\t*\)if (\(.*\)vma->vm_lock_seq\(.*\)mm_lock_seq\(.*\)) {\$/\1if (0 \&\& \2vma->vm_lock_seq\3mm_lock_seq\4) {/|write_lock_excludes_readers_test bulk_release_test"
"no_reader_limit|mm/mmap_lock.c|/vma_start_read(struct mm_struct/,/^}/s/VM_REFCNT_LIMIT)))/INT_MAX)))/|refcount_limit_test"
"writer_no_wait|mm/mmap_lock.c|s/refcount_read(\&vma->vm_refcnt) == tgt_refcnt,/true,/|writer_waits_for_reader_test detach_waits_for_transient_reader_test start_write_killable_killed_test"
"detach_no_wait|mm/mmap_lock.c|s/\t\t\.detaching = true,/\t\t.detaching = false,/|detach_waits_for_transient_reader_test"
"start_write_no_seq|mm/mmap_lock.c|/^int __vma_start_write/,/^}/s/^\tWRITE_ONCE(vma->vm_lock_seq, mm_lock_seq);/\t\/\* mutant \*\//|write_lock_excludes_readers_test second_start_write_noop_test start_write_killable_test bulk_release_test"
"read_no_lockdep|mm/mmap_lock.c|/^static inline struct vm_area_struct \*vma_start_read/,/^}/s/^\t__vma_lockdep_acquire_read(vma);/\t\/\* mutant \*\//|read_lock_rcu_test"
"lookup_finds_next|mm/mmap_lock.c|s/^\tvma = mas_walk(\&mas);/\tvma = mas_find(\&mas, ULONG_MAX);/;s/^\tif (unlikely(address < vma->vm_start .*) {$/\tif (0) {/|lookup_misses_test"
"split_no_write_lock|mm/vma.c|/^__split_vma(struct vma_iterator/,/^}/s/^\tvma_start_write(vma);\$/\t\/\* mutant \*\//|inv:stable_while_read_locked"
"stack_no_write_lock|mm/vma.c|/^int expand_downwards/,/^}/s/^\tvma_start_write(vma);\$/\t\/\* mutant \*\//|inv:stable_while_read_locked"
"fork_no_write_lock|mm/mmap.c|s/^\t\tretval = vma_start_write_killable(mpnt);\$/\t\tretval = 0;/|check:user/fork"
"anon_prepare_waits|mm/memory.c|/^vm_fault_t __vmf_anon_prepare/,/^}/s/if (!mmap_read_trylock(vma->vm_mm))/mmap_read_lock(vma->vm_mm); if (0)/|inv:lock_order"
"anon_prepare_no_mmap_lock|mm/memory.c|/^vm_fault_t __vmf_anon_prepare/,/^}/s/if (vmf->flags \& FAULT_FLAG_VMA_LOCK)/if (0)/|inv:anon_vma_under_mmap_lock"
"maps_fallback_holds_vma|mm/mmap_lock.c|s/^\tbool mmap_unlocked;\$/\tbool mmap_unlocked;\n\tstruct vm_area_struct *held = NULL;/;/^fallback_unlock:/,/^fallback:/s/^\tvma_end_read(vma);\$/\theld = vma;/;s/^\tvma = lock_next_vma_under_mmap_lock(mm, vmi, from_addr);\$/&\n\tif (held)\n\t\tvma_end_read(held);/|inv:lock_order"
"collapse_no_write_lock|mm/khugepaged.c|/^static enum scan_result collapse_huge_page/,/^}/s/^\tvma_start_write(vma);\$/\t\/\* mutant \*\//|check:user/collapse"
"madvise_no_write_lock|mm/madvise.c|/^static int madvise_update_vma/,/^}/s/^\tvma_start_write(vma);\$/\t\/\* mutant \*\//|inv:stable_while_read_locked"
"mlock_no_write_lock|mm/mlock.c|/^static void mlock_vma_pages_range/,/^}/s/^\tvma_start_write(vma);\$/\t\/\* mutant \*\//|inv:stable_while_read_locked"
"mprotect_no_write_lock|mm/mprotect.c|/^mprotect_fixup(/,/^}/s/^\tvma_start_write(vma);\$/\t\/\* mutant \*\//|inv:stable_while_read_locked"
"home_node_no_write_lock|mm/mempolicy.c|/SYSCALL_DEFINE4(set_mempolicy_home_node/,/^}/s/^\t\tvma_start_write(vma);\$/\t\t\/\* mutant \*\//|inv:stable_while_read_locked"
"rebind_no_write_lock|mm/mempolicy.c|/^void mpol_rebind_mm/,/^}/s/^\t\tvma_start_write(vma);\$/\t\t\/\* mutant \*\//|inv:stable_while_read_locked"
"uffd_ctx_no_write_lock|mm/userfaultfd.c|/^static void userfaultfd_set_ctx/,/^}/s/^\tvma_start_write(vma);\$/\t\/\* mutant \*\//|inv:stable_while_read_locked"
"uffd_set_mode_no_drain|mm/userfaultfd.c|/^static int userfaultfd_set_mode/,/^}/s/^\t\t\t\tvma_start_write(vma);\$/\t\t\t\t\/\* mutant \*\//|check:user/uffd_ops"
"mseal_no_write_lock|mm/mseal.c|/^static int __mseal_range/,/^}/s/^\t\t\tvma_start_write(vma);\$/\t\t\t\/\* mutant \*\//|inv:stable_while_read_locked"
"ksm_add_no_write_lock|mm/ksm.c|/^static void __ksm_add_vma/,/^}/s/vm_flags_set(vma, VM_MERGEABLE);/vma_flags_set_word(\&vma->flags, VM_MERGEABLE);/|inv:stable_while_read_locked"
"take_all_locks_no_write_lock|mm/vma.c|/^int mm_take_all_locks/,/^}/s/^\t\tvma_start_write(vma);\$/\t\t\/\* mutant \*\//|inv:notifier_exclusion"
"header_combo|include/linux/mmap_lock.h|s/if (likely(!__vma_refcount_put_return(vma)))/if (1)/;0,/^\tmm_lock_seqcount_begin(mm);/s//\t\/\* mutant \*\//;/vma_start_read_locked_nested/,/^}/s/if (unlikely(!__refcount_inc_not_zero_limited_acquire/if (0 \&\& unlikely(!__refcount_inc_not_zero_limited_acquire/|attach_detach_test read_lock_locked_test seq_parity_test speculate_test detached_reader_retries_test free_detached_silent_test"
)

repeat=1
case ${1:-} in -h|--help) header; exit 0 ;; esac
if [ "${1:-}" = --repeat ]; then
	value "$@"
	int repeat "$1" "$2" 1 10
	shift 2
fi
if [ "${1:-}" = --list ] && [ $# -eq 1 ]; then
	printf '%s\n' "${mutants[@]}" | cut -d'|' -f1,4 | tr '|' '\t'
	exit 0
fi
# Every name known, before the kernel is built or touched.
all=$(printf '%s\n' "${mutants[@]}" | cut -d'|' -f1 | tr '\n' ' ' | sed 's/ $//')
for a; do
	case $a in
	--list) die "--list takes no names" ;;
	--repeat) die "--repeat comes first, before the names" ;;
	-*) die "unknown option '$a'; allowed: --repeat N, --list, --help, or mutant names: $all" ;;
	*) [[ " $all " == *" $a "* ]] || die "unknown mutant '$a'; allowed: $all" ;;
	esac
done
check_kdir

kbuild=$("$top/scripts/build-kernel.sh" debug | tail -1)
kdir=$(cat "$kbuild/.vmalock-kdir")
# Every file a mutant edits, from the table: one left out would keep its
# mutant after the run.
files=$(printf '%s\n' "${mutants[@]}" | cut -d'|' -f2 | sort -u)
saved=$(mktemp -d)
for f in $files; do mkdir -p "$saved/$(dirname "$f")"; cp "$kdir/$f" "$saved/$f"; done
# cp only what changed, so that make rebuilds only what a mutant touched.
restore() {
	for f in $files; do cmp -s "$saved/$f" "$kdir/$f" || cp "$saved/$f" "$kdir/$f"; done
}
trap 'restore; rm -rf "$saved"' EXIT

# report_boot OUT LOG: what reported the mutant in one boot. Ours: the
# violations the results name (the module's KTAP, the stressor's FAIL
# lines) and how soon the watch saw the first; the kernel's: the console
# check's findings.
report_boot() {
	local out=$1 log=$2 ms ours kernel
	ours=$(grep -ho "invariant [a-z_]* violated" "$out"/main/results-*.ktap 2>/dev/null |
		sed 's/invariant \(.*\) violated/inv:\1/' | sort -u | tr '\n' ' ' || true)
	ours+=$(grep -o "^FAIL  user/[a-z_]*" "$log" | sed 's/^FAIL  /check:/' | sort -u |
		tr '\n' ' ' || true)
	# A boot that hung or died has no results: || true, or set -e ends the run.
	ms=$(sed -n 's/^# watch: ops=.* violations=[1-9][0-9]* .*detected_ms=\([0-9]*\).*/\1/p' \
		"$out"/main/results-user.ktap 2>/dev/null | head -1 || true)
	kernel=$(grep -o "^FAIL  no-kernel-splat.*" "$log" | sed 's/^FAIL  //;s/  */ /g' || true)
	ours=${ours% }
	echo "  ours: ${ours:-none}${ms:+ (the watch after $ms ms)}; kernel: ${kernel:-none}"
}

passed=0 failed=0
for m in "${mutants[@]}"; do
	IFS='|' read -r name file expr want <<< "$m"
	[ $# -eq 0 ] || [[ " $* " == *" $name "* ]] || continue
	restore
	src=$kdir/$file
	sed -i "$expr" "$src"
	if cmp -s "$saved/$file" "$src"; then
		echo "mutant $name: the expression no longer applies to $src"
		failed=$((failed + 1))
		continue
	fi
	echo "=== mutant $name: $(diff "$saved/$file" "$src" | grep -c '^>') line(s) of $file changed"
	mkdir -p "$CACHE/mutants"
	log=$CACHE/mutants/$name.log
	missed=""
	if [[ $want == inv:* || $want == check:* ]]; then
		# A caller of the lock: the stressor's faults under the monitor.
		for r in $(seq 1 "$repeat"); do
			out=$CACHE/mutants/$name
			[ "$repeat" -eq 1 ] || out+=.$r
			rm -rf "$out"
			"$top/scripts/vmalock-run.sh" --no-kunit --scenarios mirror,fault_path \
				--duration-ms 5000 --out "$out" > "$log" 2>&1 || true
			[ "$repeat" -eq 1 ] || cp "$log" "$out.log"
			miss=""
			for c in $want; do
				case $c in
				# In the results, or said on the console before a deadlock.
				# (grep -q reads the files itself: a pipe into it would
				# die of SIGPIPE, which pipefail counts as a miss.)
				inv:*) grep -qs "invariant ${c#inv:} violated\|sysmon: violation: \[${c#inv:}\]" \
					"$out"/main/results-*.ktap "$out"/main/console.log || miss+=" $c" ;;
				check:*) grep -q "^FAIL  ${c#check:}\b" "$log" || miss+=" $c" ;;
				esac
			done
			[ "$repeat" -eq 1 ] || echo "  boot $r of $repeat:${miss:+ missed$miss}"
			report_boot "$out" "$log"
			[[ " $missed " == *" $miss "* ]] || missed+=$miss
		done
	else
		"$top/scripts/kunit.sh" --timeout 300 > "$log" 2>&1 || true
		for c in $want; do
			grep -q "\[FAILED\] $c\|\[CRASHED\] $c\|FAILED\] $c" "$log" || missed+=" $c"
		done
		grep -E '\[(FAILED|CRASHED)\] [a-z_]*$|Testing complete' "$log" | sed 's/^\[[0-9:]*\] /  /'
	fi
	if [ -z "$missed" ]; then
		echo "mutant $name: killed by: $want"
		passed=$((passed + 1))
	else
		echo "mutant $name: SURVIVED in:$missed"
		failed=$((failed + 1))
	fi
done
restore
rm -rf "$saved"
trap - EXIT
# Rebuild the real kernel so that the next run starts from it.
"$top/scripts/build-kernel.sh" debug >/dev/null
echo "mutants: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
