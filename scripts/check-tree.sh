#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Refuse a kernel tree that predates the vm_refcnt per-VMA lock design
# (Linux 6.15) or cannot enable CONFIG_PER_VMA_LOCK, naming what is missing.
# Usage: check-tree.sh KDIR
# Exit status: 0 if the tree will do, 2 (one line on stderr) if not.
set -euo pipefail

[ $# -eq 1 ] && [ -n "$1" ] || { echo "check-tree: usage: check-tree.sh KDIR" >&2; exit 2; }
kdir=$1
fail() { echo "check-tree: $kdir: $*" >&2; exit 2; }

[ -d "$kdir" ] || fail "not a kernel source tree (no such directory)"
[ -f "$kdir/Makefile" ] && [ -f "$kdir/include/linux/mm_types.h" ] ||
	fail "not a kernel source tree (no Makefile or include/linux/mm_types.h)"
grep -qs '^config PER_VMA_LOCK$' "$kdir/mm/Kconfig" ||
	fail "no CONFIG_PER_VMA_LOCK in mm/Kconfig (per-VMA locks arrived in 6.4)"
grep -qs 'select ARCH_SUPPORTS_PER_VMA_LOCK' "$kdir/arch/x86/Kconfig" ||
	fail "x86 does not select ARCH_SUPPORTS_PER_VMA_LOCK"
grep -q 'refcount_t[[:space:]]\+vm_refcnt' "$kdir/include/linux/mm_types.h" ||
	fail "no vma->vm_refcnt: this tree predates the refcount design of Linux 6.15 (it still uses vm_lock)"
grep -q 'VM_REFCNT_EXCLUDE_READERS_FLAG' "$kdir/include/linux/mm_types.h" ||
	fail "no VM_REFCNT_EXCLUDE_READERS_FLAG: vmalock-test uses the vm_refcnt helper names of Linux 7.2 and later (6.15-7.1 call it VMA_LOCK_OFFSET)"
[ -f "$kdir/mm/mmap_lock.c" ] && grep -q 'lock_vma_under_rcu' "$kdir/mm/mmap_lock.c" ||
	fail "lock_vma_under_rcu() is not in mm/mmap_lock.c (moved there in 6.15)"
echo "check-tree: $(make -s -C "$kdir" kernelversion 2>/dev/null) has the vm_refcnt per-VMA lock"
