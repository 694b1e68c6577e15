// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_test: the lock operations the workers call, through a table as
 * locktorture's are: the kernel's real per-VMA lock operations, and broken
 * variants that each replace one operation (or a lock/unlock pair) by a
 * deliberately wrong one, so that every check is shown to be able to fail.
 *
 * This is the file that must follow mm/mmap_lock.c and
 * include/linux/mmap_lock.h. Where a broken variant has to redo a kernel
 * step by hand it is written against Linux 7.3 (VT_MIRRORS); the mirror
 * scenario compares the hand-made read path with lock_vma_under_rcu() on
 * every run, so a kernel whose read path changed fails loudly instead of
 * silently testing an old copy.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kfence.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/rcuwait.h>
#include <linux/refcount.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>

#include "vmalock_core.h"

/*
 * A broken copy of an operation the kernel traces emits the event the real
 * one emits (patches/0003), so that the system-wide monitor sees it too.
 */
#if VT_HAVE_VMA_LOCK_TRACE
#include <trace/events/vma_lock.h>

static __always_inline void vt_trace_write_locked(struct vm_area_struct *vma)
{
	trace_vma_write_locked(vma, _RET_IP_, false, false, 0);
}

static __always_inline void vt_trace_detach_end(struct vm_area_struct *vma)
{
	trace_vma_detach_end(vma, _RET_IP_, false);
}
#else
static inline void vt_trace_write_locked(struct vm_area_struct *vma) { }
static inline void vt_trace_detach_end(struct vm_area_struct *vma) { }
#endif

/* The kernel release whose vma_start_read() the hand-made steps mirror. */
#define VT_MIRRORS	"7.3"

/*
 * The names the hand-made steps rely on, so that a tree that renamed or
 * redefined them fails to build here rather than at run time.
 */
static_assert(VM_REFCNT_LIMIT < VM_REFCNT_EXCLUDE_READERS_FLAG,
	      "readers must fail before they reach the writer flag");

/* ---------------------------------------------------------------------- */
/* Steps of the read path, for readers that do vma_start_read() by hand */

/* The lockless test vma_start_read() begins with: is @vma write-locked now? */
bool vma_write_locked_now(struct vm_area_struct *vma, struct mm_struct *mm)
{
	return READ_ONCE(vma->vm_lock_seq) == READ_ONCE(mm->mm_lock_seq.sequence);
}

/* lock_vma_under_rcu()'s tree walk; the caller holds rcu_read_lock(). */
struct vm_area_struct *vt_lookup_rcu(struct mm_struct *mm, unsigned long addr)
{
	MA_STATE(mas, &mm->mm_mt, addr, addr);

	return mas_walk(&mas);
}

/* vma_start_read()'s increment. */
bool vt_ref_get(struct vm_area_struct *vma, int limit)
{
	int oldcnt;

	if (!__refcount_inc_not_zero_limited_acquire(&vma->vm_refcnt, &oldcnt, limit))
		return false;
	__vma_lockdep_acquire_read(vma);
	return true;
}

/*
 * And its back-off: the put may wake a writer through vma->vm_mm, which may
 * be another mm's by now, so that mm is pinned across it.
 */
void vt_ref_put(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	mmgrab(mm);
	vma_refcount_put(vma);
	mmdrop(mm);
}

/*
 * vma_start_read() (static in mm/mmap_lock.c, Linux VT_MIRRORS) on a VMA
 * found under RCU, with the @omit steps left out, plus the range check of
 * lock_vma_under_rcu(). The caller holds rcu_read_lock(). The kernel's
 * retry of a VMA detached under the lookup is left out: it only turns a
 * refusal into a second lookup.
 */
struct vm_area_struct *vt_start_read_mirror(struct mm_struct *mm, struct vm_area_struct *vma,
					    unsigned long addr, unsigned int omit)
{
	int limit = omit & VT_NO_LIMIT ? INT_MAX : VM_REFCNT_LIMIT;
	bool seq_check = !(omit & VT_NO_SEQ_CHECK);

	if (!vma || (seq_check && vma_write_locked_now(vma, mm)) || !vt_ref_get(vma, limit))
		return NULL;
	if ((!(omit & VT_NO_MM_CHECK) && vma->vm_mm != mm) ||
	    addr < vma->vm_start || addr >= vma->vm_end ||
	    (seq_check && vma->vm_lock_seq == raw_read_seqcount(&mm->mm_lock_seq))) {
		vt_ref_put(vma);
		return NULL;
	}
	return vma;
}

/* lock_vma_under_rcu() by hand, with the @omit steps left out. */
struct vm_area_struct *vt_read_mirror(struct mm_struct *mm, unsigned long addr,
				      unsigned int omit)
{
	struct vm_area_struct *vma;

	rcu_read_lock();
	vma = vt_start_read_mirror(mm, vt_lookup_rcu(mm, addr), addr, omit);
	rcu_read_unlock();
	return vma;
}

/* ---------------------------------------------------------------------- */
/* The real operations that are not plain kernel functions */

static void vt_write_lock(struct vm_area_struct *vma)
{
	vma_start_write(vma);
}

/*
 * vma_mark_detached() calls the slow path patches/0001 exports; without the
 * export the scenarios that detach are skipped (vt_features[]).
 */
#if VT_HAVE_DETACH_EXPORT
static void vt_detach(struct vm_area_struct *vma)
{
	vma_mark_detached(vma);
}
#else
#define vt_detach	NULL
#endif

#if VT_HAVE_WRITE_KILLABLE
static int vt_write_killable(struct vm_area_struct *vma)
{
	return vma_start_write_killable(vma);
}
#else
#define vt_write_killable	NULL	/* killable_writer is skipped */
#endif

static void vt_write_lock_mmap(struct mm_struct *mm)
{
	mmap_write_lock(mm);
}

static void vt_write_unlock(struct mm_struct *mm)
{
	mmap_write_unlock(mm);
}

static void vt_write_downgrade(struct mm_struct *mm)
{
	mmap_write_downgrade(mm);
}

/* ---------------------------------------------------------------------- */
/* Broken operations */

/*
 * A kernel whose vma_start_read() had the bug would still emit
 * vma_read_locked, so the broken read paths do (the mirror scenario's
 * deliberate omissions do not: they are compared, not used).
 */
static struct vm_area_struct *vt_read_broken(struct mm_struct *mm, unsigned long addr,
					     unsigned int omit)
{
	struct vm_area_struct *vma = vt_read_mirror(mm, addr, omit);

#ifdef VT_HAVE_VMA_LOCK_TRACE
	if (vma)
		__vma_lock_trace_read_locked(vma);
#endif
	return vma;
}

static struct vm_area_struct *vt_read_no_seqcheck(struct mm_struct *mm, unsigned long addr)
{
	return vt_read_broken(mm, addr, VT_NO_SEQ_CHECK);
}

static struct vm_area_struct *vt_read_no_limit(struct mm_struct *mm, unsigned long addr)
{
	return vt_read_broken(mm, addr, VT_NO_LIMIT);
}

static struct vm_area_struct *vt_read_no_mm_check(struct mm_struct *mm, unsigned long addr)
{
	return vt_read_broken(mm, addr, VT_NO_MM_CHECK);
}

/*
 * Invariant 1's counterpart: a reader that only looks the VMA up under RCU
 * and uses it without taking vm_refcnt, so nothing stops its detach and free.
 */
static struct vm_area_struct *vt_read_no_refcount(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	rcu_read_lock();
	vma = vt_lookup_rcu(mm, addr);
	rcu_read_unlock();
	if (vma && (vma->vm_mm != mm || addr < vma->vm_start || addr >= vma->vm_end))
		vma = NULL;
	return vma;
}

static void vt_unlock_no_refcount(struct vm_area_struct *vma)
{
}

/*
 * R2 (invariant 12): the last reader leaving a VMA that a writer waits for
 * does not wake it: here, only much later (late_wake: the writer times its
 * own wait), or never (no_wake: the writer cannot time a wait that does not
 * end; the harness's controller does, and wakes it when the scenario ends).
 * vma_refcount_put() of Linux VT_MIRRORS, with the wake-up delayed or gone.
 */
static void vt_unlock_wake(struct vm_area_struct *vma, bool never)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned int newcnt;

#if VT_HAVE_VMA_LOCK_TRACE
	__vma_lock_trace_read_unlocked(vma);	/* as vma_end_read() does */
#endif
	__vma_lockdep_release_read(vma);
	newcnt = __vma_refcount_put_return(vma);
	if (!newcnt || !__vma_are_readers_excluded(newcnt) || never)
		return;
	vt_sleep_ms(vt_cxt.p.writer_timeout_ms + 100);
	rcuwait_wake_up(&mm->vma_writer_wait);
}

static void vt_unlock_late_wake(struct vm_area_struct *vma)
{
	vt_unlock_wake(vma, false);
}

static void vt_unlock_no_wake(struct vm_area_struct *vma)
{
	vt_unlock_wake(vma, true);
}

/* A speculative reader that trusts try_begin() and never checks retry(). */
static bool vt_speculate_no_retry(struct mm_struct *mm, unsigned int seq)
{
	return false;
}

/*
 * A killed vma_start_write_killable() that leaves readers excluded (the
 * flag it added is not taken back), as a bug in its error path would.
 */
#if VT_HAVE_WRITE_KILLABLE
static int vt_write_killable_leak(struct vm_area_struct *vma)
{
	int ret = vma_start_write_killable(vma);

	if (ret == -EINTR)
		refcount_add(VM_REFCNT_EXCLUDE_READERS_FLAG, &vma->vm_refcnt);
	return ret;
}
#else
#define vt_write_killable_leak	NULL	/* killable_writer is skipped */
#endif

/* R5: marks the VMA write-locked without waiting for readers to drain. */
static void vt_write_lock_no_wait(struct vm_area_struct *vma)
{
	if (vt_is_vma_write_locked(vma))
		return;
	WRITE_ONCE(vma->vm_lock_seq, __vma_raw_mm_seqnum(vma));
	vt_trace_write_locked(vma);
}

/*
 * Invariant 13, the shape of a split or vma_adjust() that forgot
 * vma_start_write(): the VMA changes under mmap_lock while page
 * faults hold it read-locked. Here vm_pgoff moves (the test VMAs are
 * anonymous and unpopulated in the scenarios that use this).
 */
static void vt_write_change_unlocked(struct vm_area_struct *vma)
{
	WRITE_ONCE(vma->vm_pgoff, vma->vm_pgoff + 1);
}

/* R9 shape: a page-table change under mmap_lock without the VMA lock. */
static void vt_write_lock_skipped(struct vm_area_struct *vma)
{
}

/* R1: drops the attach reference without waiting for transient readers. */
static void vt_detach_no_wait(struct vm_area_struct *vma)
{
	unsigned int left;

	vma_assert_write_locked(vma);
	left = __vma_refcount_put_return(vma);
	(void)left;	/* readers may still hold it: that is the bug */
	vt_trace_detach_end(vma);
}

/*
 * Invariant 10, R2's use-after-free half: the reader touches its VMA after
 * the put that may have been the last. A VMA that KFENCE guards is freed
 * only after a grace period and then unmapped, so the touch faults and
 * KFENCE reports it (KASAN does not poison SLAB_TYPESAFE_BY_RCU objects);
 * other VMAs are reused at once and the touch goes unseen, as in a kernel
 * without KFENCE. So only a KFENCE VMA is touched, every 20 ms for up to a
 * second: long enough for detach_free's churners to free it.
 */
static void vt_unlock_use_after_put(struct vm_area_struct *vma)
{
	int i;

	vma_end_read(vma);
	if (!is_kfence_address(vma))
		return;
	for (i = 0; i < 50 && !vt_should_stop(); i++) {
		rcu_barrier();		/* KFENCE's free of it, if it was freed */
		(void)READ_ONCE(vma->vm_start);
		msleep(20);
	}
}

/*
 * Invariant 14 (the userfaultfd and /proc maps bugs): a reader that waits for
 * an mmap_lock while it holds a VMA read lock. The mmap_lock is that of an
 * mm of its own, which nothing write-locks, so the run cannot deadlock; the
 * order is still the forbidden one.
 */
static struct mm_struct *vt_quiet_mm;

static int vt_quiet_mm_setup(void)
{
	vt_quiet_mm = vt_mm_create();
	return vt_quiet_mm ? 0 : -ENOMEM;
}

static void vt_quiet_mm_teardown(void)
{
	if (vt_quiet_mm)
		mmput(vt_quiet_mm);
	vt_quiet_mm = NULL;
}

static void vt_unlock_after_mmap_lock(struct vm_area_struct *vma)
{
	mmap_read_lock(vt_quiet_mm);
	mmap_read_unlock(vt_quiet_mm);
	vma_end_read(vma);
}

/* R6: releases mmap_lock without advancing mm_lock_seq. */
static void vt_write_unlock_no_seq(struct mm_struct *mm)
{
	up_write(&mm->mmap_lock);
}

static void vt_write_downgrade_no_seq(struct mm_struct *mm)
{
	downgrade_write(&mm->mmap_lock);
}

/*
 * R7, its odd-on-write half: mmap_write_lock() that leaves mm_lock_seq even
 * (the sequence only moves, by two, at unlock), so that a speculative reader
 * cannot tell that a write section is under way. VMA write locks still work:
 * they compare against the (even) sequence and unlock still moves it.
 */
static void vt_write_lock_mmap_no_odd(struct mm_struct *mm)
{
	down_write(&mm->mmap_lock);
}

static void vt_write_unlock_no_odd(struct mm_struct *mm)
{
	do_raw_write_seqcount_begin(&mm->mm_lock_seq);
	do_raw_write_seqcount_end(&mm->mm_lock_seq);
	up_write(&mm->mmap_lock);
}

/*
 * Invariant 13's exception taken without its lock: a fault under the VMA
 * read lock alone, handled as a fault under mmap_lock (no
 * FAULT_FLAG_VMA_LOCK), so that __vmf_anon_prepare() sets anon_vma without
 * mmap_read_trylock(), as a fault path that forgot it was under the VMA lock
 * would. Under lockdep the kernel's mmap_assert_locked() warns each time,
 * so only the first VT_ANON_UNLOCKED_FAULTS of a scenario's run are made.
 */
#define VT_ANON_UNLOCKED_FAULTS	32
static atomic_t vt_anon_unlocked_left;

static int vt_anon_unlocked_setup(void)
{
	atomic_set(&vt_anon_unlocked_left, VT_ANON_UNLOCKED_FAULTS);
	return 0;
}

static vm_fault_t vt_fault_anon_unlocked(struct vm_area_struct *vma, unsigned long addr)
{
	if (!READ_ONCE(vma->anon_vma) && atomic_dec_if_positive(&vt_anon_unlocked_left) >= 0)
		return handle_mm_fault(vma, addr, FAULT_FLAG_WRITE, NULL);
	return vt_fault_vma_locked(vma, addr);
}

static void vt_repair_seq(struct mm_struct *mm)
{
	down_write(&mm->mmap_lock);
	mmap_write_unlock(mm);
}

/* ---------------------------------------------------------------------- */
/* The table */

/* The real operations; a broken variant names only what it replaces. */
static const struct vt_lock_ops vt_real_ops = {
	.name = "none",
	.desc = "the kernel's real per-VMA lock operations",
	.read_vma = lock_vma_under_rcu,
	.unlock_vma = vma_end_read,
	.write_vma = vt_write_lock,
	.detach = vt_detach,
	.lock_mmap = vt_write_lock_mmap,
	.unlock_mmap = vt_write_unlock,
	.downgrade_mmap = vt_write_downgrade,
	.speculate_retry = mmap_lock_speculate_retry,
	.write_vma_killable = vt_write_killable,
	.fault_vma = vt_fault_vma_locked,
};

/* What each variant replaces. */
static const struct vt_lock_ops vt_broken_table[NR_OPS] = {
	[BROKEN_NONE] = {
		.desc = "the kernel's real per-VMA lock operations",
	},
	[BROKEN_READER_NO_SEQCHECK] = {
		.desc = "R3: reader takes vm_refcnt without checking vm_lock_seq",
		.read_vma = vt_read_no_seqcheck,
		.omit = VT_NO_SEQ_CHECK,
	},
	[BROKEN_WRITER_NO_WAIT] = {
		.desc = "R5: vma_start_write() does not wait for readers",
		.write_vma = vt_write_lock_no_wait,
	},
	[BROKEN_DETACH_NO_WAIT] = {
		.desc = "R1: vma_mark_detached() does not wait for transient readers",
		.detach = vt_detach_no_wait,
	},
	[BROKEN_UNLOCK_NO_SEQ] = {
		.desc = "R6: mmap_write_unlock()/downgrade do not advance mm_lock_seq",
		.unlock_mmap = vt_write_unlock_no_seq,
		.downgrade_mmap = vt_write_downgrade_no_seq,
		.repair_release = vt_repair_seq,
	},
	[BROKEN_READER_NO_REFCOUNT] = {
		.desc = "reader uses the VMA found under RCU without taking vm_refcnt",
		.read_vma = vt_read_no_refcount,
		.unlock_vma = vt_unlock_no_refcount,
	},
	[BROKEN_READER_LATE_WAKE] = {
		.desc = "R2 (invariant 12): the last reader wakes the waiting writer only late",
		.unlock_vma = vt_unlock_late_wake,
	},
	[BROKEN_READER_NO_WAKE] = {
		.desc = "R2 (invariant 12): the last reader never wakes the waiting writer",
		.unlock_vma = vt_unlock_no_wake,
	},
	[BROKEN_READER_NO_LIMIT] = {
		.desc = "R4: reader count allowed past VM_REFCNT_LIMIT, into the writer flag",
		.read_vma = vt_read_no_limit,
		.omit = VT_NO_LIMIT,
	},
	[BROKEN_SPECULATE_NO_RETRY] = {
		.desc = "speculative reader does not check mmap_lock_speculate_retry()",
		.speculate_retry = vt_speculate_no_retry,
	},
	[BROKEN_SPECULATE_NO_ODD] = {
		.desc = "R7: mmap_write_lock() leaves mm_lock_seq even, hiding the writer",
		.lock_mmap = vt_write_lock_mmap_no_odd,
		.unlock_mmap = vt_write_unlock_no_odd,
	},
	[BROKEN_KILLABLE_LEAK] = {
		.desc = "killed vma_start_write_killable() leaves readers excluded",
		.write_vma_killable = vt_write_killable_leak,
	},
	[BROKEN_READER_NO_MM_CHECK] = {
		.desc = "R8: reader does not check that a reused VMA still belongs to its mm",
		.read_vma = vt_read_no_mm_check,
		.omit = VT_NO_MM_CHECK,
	},
	[BROKEN_WRITER_NO_VMA_LOCK] = {
		.desc = "R9: page tables changed in place (as fork does) without vma_start_write()",
		.write_vma = vt_write_lock_skipped,
	},
	[BROKEN_WRITER_CHANGES_UNLOCKED] = {
		.desc = "VMA changed under mmap_lock, no vma_start_write() (a split that forgot)",
		.write_vma = vt_write_change_unlocked,
	},
	/*
	 * Invariant 2 system-wide: a VMA detached (and freed) while readers
	 * hold it, as a path that removes a VMA it never write-locked would.
	 * Neither half waits, so readers the kernel granted are still inside
	 * when vma_mark_detached() returns.
	 */
	[BROKEN_DETACH_UNLOCKED] = {
		.desc = "VMA detached without excluding readers: write lock and detach do not wait",
		.write_vma = vt_write_lock_no_wait,
		.detach = vt_detach_no_wait,
	},
	[BROKEN_READER_USES_AFTER_PUT] = {
		.desc = "R2's other half: a reader touches its VMA after the put (seen by KFENCE)",
		.unlock_vma = vt_unlock_use_after_put,
	},
	[BROKEN_READER_SETS_ANON_VMA] = {
		.desc = "a fault under the VMA read lock alone sets anon_vma, without mmap_lock",
		.fault_vma = vt_fault_anon_unlocked,
		.setup = vt_anon_unlocked_setup,
	},
	[BROKEN_READER_WAITS_MMAP] = {
		.desc = "a VMA read-lock holder waits for mmap_lock (R11)",
		.unlock_vma = vt_unlock_after_mmap_lock,
		.setup = vt_quiet_mm_setup,
		.teardown = vt_quiet_mm_teardown,
	},
};

const struct vt_lock_ops *vt_broken_ops(enum vt_broken b)
{
	return &vt_broken_table[b];
}

/* Which scenario must catch which variant: VT_CATCHES() of vmalock_names.h. */
static const struct {
	enum vt_broken broken;
	enum vt_scn scn;
	enum vt_inv inv;
} vt_catches[] = {
#define VT_CATCHES(b, s, inv)	{ BROKEN_##b, SCN_##s, INV_##inv },
#include "vmalock_names.h"
};

/* The scenarios that must catch variant @b, as a mask; 0 for the real ops. */
unsigned long vt_broken_targets(enum vt_broken b)
{
	unsigned long mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(vt_catches); i++)
		if (vt_catches[i].broken == b)
			mask |= BIT(vt_catches[i].scn);
	return mask;
}

/* " scenario (invariant)" for each VT_CATCHES() line of variant @b. */
void vt_show_catches(struct seq_file *m, enum vt_broken b)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vt_catches); i++) {
		if (vt_catches[i].broken != b)
			continue;
		seq_printf(m, " %s (%s)", vt_scn_name(vt_catches[i].scn),
			   vt_inv_names[vt_catches[i].inv]);
	}
}

/* The real operations, with those that variant @b replaces put in. */
void vt_effective_ops(enum vt_broken b, struct vt_lock_ops *ops)
{
	const struct vt_lock_ops *variant = &vt_broken_table[b];

	*ops = vt_real_ops;
	ops->name = vt_broken_name(b);
	ops->desc = variant->desc;
	ops->targets = vt_broken_targets(b);
	ops->omit = variant->omit;
	if (variant->read_vma)
		ops->read_vma = variant->read_vma;
	if (variant->unlock_vma)
		ops->unlock_vma = variant->unlock_vma;
	if (variant->write_vma)
		ops->write_vma = variant->write_vma;
	if (variant->detach)
		ops->detach = variant->detach;
	if (variant->lock_mmap)
		ops->lock_mmap = variant->lock_mmap;
	if (variant->unlock_mmap)
		ops->unlock_mmap = variant->unlock_mmap;
	if (variant->downgrade_mmap)
		ops->downgrade_mmap = variant->downgrade_mmap;
	if (variant->repair_release)
		ops->repair_release = variant->repair_release;
	if (variant->fault_vma)
		ops->fault_vma = variant->fault_vma;
	ops->setup = variant->setup;
	ops->teardown = variant->teardown;
	if (variant->speculate_retry)
		ops->speculate_retry = variant->speculate_retry;
	if (variant->write_vma_killable)
		ops->write_vma_killable = variant->write_vma_killable;
}
