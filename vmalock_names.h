/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one list of scenarios, broken variants and invariants, for
 * vmalock_test.ko and for scripts/ (scripts/vmalock/names.py reads this
 * file). A user defines the macros it needs of VT_SCENARIO(ID),
 * VT_BROKEN(ID), VT_CATCHES(BROKEN_ID, SCENARIO_ID, INVARIANT_ID) and
 * VT_INV(ID, name), and includes this file, which gives the others an empty
 * body and undefines all four at its end, as
 * arch/x86/include/asm/kvm-x86-ops.h is used; hence no include guard. A
 * scenario's or a broken variant's name is its ID in lower case.
 * Scenarios run in this order. VT_CATCHES() says, for each broken variant,
 * which scenario must report it ("run all" under a variant runs those) and
 * by which invariant (INV_<INVARIANT_ID>, whose name is its ID in lower
 * case: a typo fails to compile): the verdict requires that invariant among
 * the ones the scenario reports. A variant caught by several invariants of
 * one scenario has one line for each.
 * VT_INV() names an invariant as the results report it; the number in the
 * comment is the invariant's in Documentation/vmalock-test/protocol.rst.
 */
#ifndef VT_SCENARIO
#define VT_SCENARIO(id)
#endif
#ifndef VT_BROKEN
#define VT_BROKEN(id)
#endif
#ifndef VT_CATCHES
#define VT_CATCHES(b, s, inv)
#endif
#ifndef VT_INV
#define VT_INV(id, name)
#endif

VT_SCENARIO(MIRROR)
VT_SCENARIO(RW_EXCLUSION)
VT_SCENARIO(DETACH_FREE)
VT_SCENARIO(BULK_RELEASE)
VT_SCENARIO(DOWNGRADE)
VT_SCENARIO(SPECULATE)
VT_SCENARIO(REFCOUNT_LIMIT)
VT_SCENARIO(KILLABLE_WRITER)
VT_SCENARIO(FAULT_PATH)
VT_SCENARIO(REUSE)
VT_SCENARIO(WATCH)

VT_BROKEN(READER_NO_SEQCHECK)
VT_BROKEN(WRITER_NO_WAIT)
VT_BROKEN(DETACH_NO_WAIT)
VT_BROKEN(UNLOCK_NO_SEQ)
VT_BROKEN(READER_NO_REFCOUNT)
VT_BROKEN(READER_LATE_WAKE)
VT_BROKEN(READER_NO_WAKE)
VT_BROKEN(READER_NO_LIMIT)
VT_BROKEN(SPECULATE_NO_RETRY)
VT_BROKEN(SPECULATE_NO_ODD)
VT_BROKEN(KILLABLE_LEAK)
VT_BROKEN(READER_NO_MM_CHECK)
VT_BROKEN(WRITER_NO_VMA_LOCK)
VT_BROKEN(WRITER_CHANGES_UNLOCKED)
VT_BROKEN(READER_WAITS_MMAP)
VT_BROKEN(DETACH_UNLOCKED)
VT_BROKEN(READER_USES_AFTER_PUT)
VT_BROKEN(READER_SETS_ANON_VMA)

VT_CATCHES(READER_NO_SEQCHECK, RW_EXCLUSION, RW_EXCLUSION)
VT_CATCHES(READER_NO_SEQCHECK, RW_EXCLUSION, SYS_RW_EXCLUSION)
VT_CATCHES(READER_NO_SEQCHECK, BULK_RELEASE, BULK_RELEASE)
VT_CATCHES(READER_NO_SEQCHECK, FAULT_PATH, RW_EXCLUSION)
VT_CATCHES(READER_NO_SEQCHECK, FAULT_PATH, NOTIFIER_EXCLUSION)
VT_CATCHES(WRITER_NO_WAIT, RW_EXCLUSION, RW_EXCLUSION)
VT_CATCHES(WRITER_NO_WAIT, RW_EXCLUSION, SYS_RW_EXCLUSION)
VT_CATCHES(WRITER_NO_WAIT, DETACH_FREE, RW_EXCLUSION)
VT_CATCHES(DETACH_NO_WAIT, DETACH_FREE, DETACH_REFCOUNT)
VT_CATCHES(UNLOCK_NO_SEQ, BULK_RELEASE, RELEASE_LIVENESS)
VT_CATCHES(UNLOCK_NO_SEQ, DOWNGRADE, RELEASE_LIVENESS)
VT_CATCHES(READER_NO_REFCOUNT, DETACH_FREE, READER_ON_DETACHED)
VT_CATCHES(READER_LATE_WAKE, RW_EXCLUSION, WRITER_PROGRESS)
VT_CATCHES(READER_NO_WAKE, RW_EXCLUSION, WRITER_PROGRESS)
VT_CATCHES(READER_NO_LIMIT, REFCOUNT_LIMIT, REFCOUNT_STATE)
VT_CATCHES(SPECULATE_NO_RETRY, SPECULATE, SPECULATE)
VT_CATCHES(SPECULATE_NO_ODD, SPECULATE, SEQ_PARITY)
VT_CATCHES(KILLABLE_LEAK, KILLABLE_WRITER, KILLABLE)
VT_CATCHES(READER_NO_MM_CHECK, REUSE, RIGHT_VMA)
VT_CATCHES(WRITER_NO_VMA_LOCK, FAULT_PATH, FAULT_DATA)
VT_CATCHES(WRITER_CHANGES_UNLOCKED, RW_EXCLUSION, STABLE_WHILE_READ_LOCKED)
VT_CATCHES(READER_WAITS_MMAP, RW_EXCLUSION, LOCK_ORDER)
VT_CATCHES(DETACH_UNLOCKED, DETACH_FREE, SYS_READER_AT_DETACH)
VT_CATCHES(READER_USES_AFTER_PUT, DETACH_FREE, USE_AFTER_PUT)
VT_CATCHES(READER_SETS_ANON_VMA, FAULT_PATH, ANON_VMA_UNDER_MMAP_LOCK)

VT_INV(RW_EXCLUSION, "rw_exclusion")		/* 3: no reader inside a write-locked VMA */
VT_INV(REFCOUNT_STATE, "refcount_state")	/* 8: count in a legal state while read-locked */
VT_INV(RIGHT_VMA, "right_vma")			/* 9: returned VMA is in mm and holds addr */
VT_INV(DETACH_REFCOUNT, "detach_refcount")	/* 2: count is 0 after vma_mark_detached() */
VT_INV(READER_ON_DETACHED, "reader_on_detached")	/* 2: no reader holds a VMA just detached */
VT_INV(READER_AT_FREE, "reader_at_free")	/* 1: no reader holds a VMA being freed */
VT_INV(REFCOUNT_AT_FREE, "refcount_at_free")	/* 1: vm_area_free() sees count 0 */
VT_INV(BULK_RELEASE, "bulk_release")		/* 5: readers fail while the bulk lock is held */
VT_INV(RELEASE_LIVENESS, "release_liveness")	/* 5: readers succeed after unlock/downgrade */
VT_INV(WRITER_PROGRESS, "writer_progress")	/* 12: a writer is not starved by readers */
VT_INV(SEQ_PARITY, "seq_parity")		/* 6: mm_lock_seq odd iff mmap write-locked */
VT_INV(SPECULATE, "speculate")			/* 6: a clean speculative read saw one state */
VT_INV(KILLABLE, "killable")			/* a killed vma_start_write_killable() restores */
VT_INV(FAULT_DATA, "fault_data")		/* 13: a page holds what its last writer wrote */
/* 3: no VMA read lock in mm_take_all_locks() */
VT_INV(NOTIFIER_EXCLUSION, "notifier_exclusion")
VT_INV(MIRROR, "mirror")			/* the module's read path still is the kernel's */
VT_INV(COVERAGE, "coverage")			/* the scenario exercised what it is for */
/* The system-wide monitor's (vmalock_sysmon.c), for every task: */
/* 13: a read-locked VMA does not change */
VT_INV(STABLE_WHILE_READ_LOCKED, "stable_while_read_locked")
/* 13: anon_vma goes from NULL to set only under mmap_lock */
VT_INV(ANON_VMA_UNDER_MMAP_LOCK, "anon_vma_under_mmap_lock")
VT_INV(SYS_RW_EXCLUSION, "sys_rw_exclusion")	/* 3: no write lock granted over a reader */
/* 2: no reader when vma_mark_detached() returns */
VT_INV(SYS_READER_AT_DETACH, "sys_reader_at_detach")
VT_INV(LOCK_ORDER, "lock_order")		/* 14: a VMA reader never waits for mmap_lock */
VT_INV(USE_AFTER_PUT, "use_after_put")		/* 10: no access to a VMA after its read unlock */

#undef VT_SCENARIO
#undef VT_BROKEN
#undef VT_CATCHES
#undef VT_INV
