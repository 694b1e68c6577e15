// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_test: stress the kernel's real per-VMA lock from kthreads and check
 * the protocol's invariants while it runs.
 *
 * Each scenario gets a fresh mm with real VMAs mapped through vm_mmap(). Worker
 * kthreads (readers, writers, detachers) drive the lock through an ops table,
 * as locktorture does: the real table calls lock_vma_under_rcu(),
 * vma_start_write(), vma_mark_detached() and mmap_write_unlock(); each broken
 * variant replaces one operation (or a lock/unlock pair) by a deliberately
 * wrong one, so that every monitor is shown to be able to fail.
 *
 * Control and results: /sys/kernel/debug/vmalock_test/ (see README).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>

#ifdef CONFIG_PER_VMA_LOCK

#include "vmalock_monitor.h"

#ifndef kzalloc_obj	/* trees older than its introduction */
#define kzalloc_obj(P) kzalloc(sizeof(P), GFP_KERNEL)
#endif

/* mm_alloc() and arch_pick_mmap_layout() are exported for tests only. */
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

/* ---------------------------------------------------------------------- */
/* Parameters */

static int readers = 2;
static int writers = 1;
static int detachers = 1;
static int vmas = 16;
static int duration_ms = 2000;
static int hold_us = 5;
static int writer_timeout_ms = 1000;
static int release_timeout_ms = 1000;
static int verbose;
static ulong seed;
static char broken[32] = "none";
static char run[256];

module_param(readers, int, 0444);
MODULE_PARM_DESC(readers, "reader kthreads per scenario (1-64)");
module_param(writers, int, 0444);
MODULE_PARM_DESC(writers, "writer kthreads per scenario (1-16)");
module_param(detachers, int, 0444);
MODULE_PARM_DESC(detachers, "detacher kthreads in detach_free (1-16)");
module_param(vmas, int, 0444);
MODULE_PARM_DESC(vmas, "VMAs in the test mm (1-1024)");
module_param(duration_ms, int, 0444);
MODULE_PARM_DESC(duration_ms, "duration of each scenario in ms (10-600000)");
module_param(hold_us, int, 0444);
MODULE_PARM_DESC(hold_us, "time a lock is held, in us (0-1000)");
module_param(writer_timeout_ms, int, 0444);
MODULE_PARM_DESC(writer_timeout_ms, "writer progress bound in ms (10-60000)");
module_param(release_timeout_ms, int, 0444);
MODULE_PARM_DESC(release_timeout_ms, "bulk release liveness bound in ms (10-60000)");
module_param(verbose, int, 0444);
MODULE_PARM_DESC(verbose, "0: results only, 1: every violation, 2: progress (0-2)");
module_param(seed, ulong, 0444);
MODULE_PARM_DESC(seed, "random seed (0: pick one and report it)");
module_param_string(broken, broken, sizeof(broken), 0444);
MODULE_PARM_DESC(broken, "lock ops: none or a broken variant (see debugfs scenarios)");
module_param_string(run, run, sizeof(run), 0444);
MODULE_PARM_DESC(run, "scenarios to run at load: all or a comma-separated list");

struct vt_param {
	const char *name;
	int *val;
	int min, max;
};

static const struct vt_param vt_params[] = {
	{ "readers", &readers, 1, 64 },
	{ "writers", &writers, 1, 16 },
	{ "detachers", &detachers, 1, 16 },
	{ "vmas", &vmas, 1, 1024 },
	{ "duration_ms", &duration_ms, 10, 600000 },
	{ "hold_us", &hold_us, 0, 1000 },
	{ "writer_timeout_ms", &writer_timeout_ms, 10, 60000 },
	{ "release_timeout_ms", &release_timeout_ms, 10, 60000 },
	{ "verbose", &verbose, 0, 2 },
};

/* ---------------------------------------------------------------------- */
/* Invariants (PROTOCOL.md numbering in the comments) */

enum vt_inv {
	INV_RW_EXCLUSION,	/* 3: no reader inside a write-locked VMA */
	INV_REFCOUNT_STATE,	/* 8: count in a legal state while read-locked */
	INV_RIGHT_VMA,		/* 9: returned VMA is in mm and holds addr */
	INV_DETACH_REFCOUNT,	/* 2: count is 0 after vma_mark_detached() */
	INV_READER_ON_DETACHED,	/* 2: no reader holds a VMA just detached */
	INV_READER_AT_FREE,	/* 1: no reader holds a VMA being freed */
	INV_REFCOUNT_AT_FREE,	/* 1: vm_area_free() sees count 0 */
	INV_BULK_RELEASE,	/* 5: readers fail while the bulk lock is held */
	INV_RELEASE_LIVENESS,	/* 5: readers succeed after unlock/downgrade */
	INV_WRITER_PROGRESS,	/* 12: a writer is not starved by readers */
	INV_SEQ_PARITY,		/* 6: mm_lock_seq odd iff mmap write-locked */
	INV_SPECULATE,		/* 6: a clean speculative read saw one state */
	INV_KILLABLE,		/* a killed vma_start_write_killable() restores */
	INV_FAULT_DATA,		/* a page holds what its last writer wrote */
	INV_COVERAGE,		/* the scenario exercised what it is for */
	NR_INVS
};

static const char * const vt_inv_names[NR_INVS] = {
	[INV_RW_EXCLUSION] = "rw_exclusion",
	[INV_REFCOUNT_STATE] = "refcount_state",
	[INV_RIGHT_VMA] = "right_vma",
	[INV_DETACH_REFCOUNT] = "detach_refcount",
	[INV_READER_ON_DETACHED] = "reader_on_detached",
	[INV_READER_AT_FREE] = "reader_at_free",
	[INV_REFCOUNT_AT_FREE] = "refcount_at_free",
	[INV_BULK_RELEASE] = "bulk_release",
	[INV_RELEASE_LIVENESS] = "release_liveness",
	[INV_WRITER_PROGRESS] = "writer_progress",
	[INV_SEQ_PARITY] = "seq_parity",
	[INV_SPECULATE] = "speculate",
	[INV_KILLABLE] = "killable",
	[INV_FAULT_DATA] = "fault_data",
	[INV_COVERAGE] = "coverage",
};

/* ---------------------------------------------------------------------- */
/* Lock operations: the real ones and the deliberately broken ones */

struct vt_lock_ops {
	const char *name;
	const char *desc;
	struct vm_area_struct *(*read_vma)(struct mm_struct *mm, unsigned long addr);
	void (*unlock_vma)(struct vm_area_struct *vma);
	void (*write_vma)(struct vm_area_struct *vma);
	void (*detach)(struct vm_area_struct *vma);
	void (*lock_mmap)(struct mm_struct *mm);
	void (*unlock_mmap)(struct mm_struct *mm);
	void (*downgrade_mmap)(struct mm_struct *mm);
	bool (*speculate_retry)(struct mm_struct *mm, unsigned int seq);
	int (*write_vma_killable)(struct vm_area_struct *vma);
	/* Undo what a broken release left behind, so the run can go on. */
	void (*repair_release)(struct mm_struct *mm);
	/* VT_NO_*: what the variant's read path leaves out of vma_start_read() */
	unsigned int omit;
	/* Scenarios that must catch this variant (bitmask of enum vt_scn). */
	unsigned long targets;
};

static void vt_write_lock(struct vm_area_struct *vma)
{
	vma_start_write(vma);
}

static void vt_detach(struct vm_area_struct *vma)
{
	vma_mark_detached(vma);
}

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

/* The lockless test vma_start_read() begins with: is @vma write-locked now? */
static bool vma_write_locked_now(struct vm_area_struct *vma, struct mm_struct *mm)
{
	return READ_ONCE(vma->vm_lock_seq) == READ_ONCE(mm->mm_lock_seq.sequence);
}

/* lock_vma_under_rcu()'s tree walk; the caller holds rcu_read_lock(). */
static struct vm_area_struct *vt_lookup_rcu(struct mm_struct *mm, unsigned long addr)
{
	MA_STATE(mas, &mm->mm_mt, addr, addr);

	return mas_walk(&mas);
}

/* vma_start_read()'s increment, for readers that do its steps by hand. */
static bool vt_ref_get(struct vm_area_struct *vma, int limit)
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
static void vt_ref_put(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	mmgrab(mm);
	vma_refcount_put(vma);
	mmdrop(mm);
}

/* What a broken read path leaves out of vma_start_read(). */
enum {
	VT_NO_SEQ_CHECK = BIT(0),	/* R3: vm_lock_seq against mm_lock_seq */
	VT_NO_LIMIT = BIT(1),		/* R4: the VM_REFCNT_LIMIT ceiling */
	VT_NO_MM_CHECK = BIT(2),	/* R8: the vm_mm check of a reused VMA */
};

/*
 * lock_vma_under_rcu() and vma_start_read() (static in mm/mmap_lock.c)
 * redone with the @omit steps left out.
 */
static struct vm_area_struct *vt_read_broken(struct mm_struct *mm, unsigned long addr,
					     unsigned int omit)
{
	int limit = omit & VT_NO_LIMIT ? INT_MAX : VM_REFCNT_LIMIT;
	bool seq_check = !(omit & VT_NO_SEQ_CHECK);
	struct vm_area_struct *vma;

	rcu_read_lock();
	vma = vt_lookup_rcu(mm, addr);
	if (!vma || (seq_check && vma_write_locked_now(vma, mm)) || !vt_ref_get(vma, limit)) {
		vma = NULL;
	} else if ((!(omit & VT_NO_MM_CHECK) && vma->vm_mm != mm) ||
		   addr < vma->vm_start || addr >= vma->vm_end ||
		   (seq_check && vma->vm_lock_seq == raw_read_seqcount(&mm->mm_lock_seq))) {
		vt_ref_put(vma);
		vma = NULL;
	}
	rcu_read_unlock();
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
 * R2/R12 shape: the last reader leaving a VMA that a writer waits for does
 * not wake it (here: wakes it only much later, so that the run can go on).
 */
static void vt_unlock_late_wake(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned int newcnt;

	__vma_lockdep_release_read(vma);
	newcnt = __vma_refcount_put_return(vma);
	if (newcnt && __vma_are_readers_excluded(newcnt)) {
		msleep(writer_timeout_ms + 100);
		rcuwait_wake_up(&mm->vma_writer_wait);
	}
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
static int vt_write_killable_leak(struct vm_area_struct *vma)
{
	int ret = vma_start_write_killable(vma);

	if (ret == -EINTR)
		refcount_add(VM_REFCNT_EXCLUDE_READERS_FLAG, &vma->vm_refcnt);
	return ret;
}

/* R5: marks the VMA write-locked without waiting for readers to drain. */
static void vt_write_lock_no_wait(struct vm_area_struct *vma)
{
	if (__is_vma_write_locked(vma))
		return;
	WRITE_ONCE(vma->vm_lock_seq, __vma_raw_mm_seqnum(vma));
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
	(void)left;
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

static void vt_repair_seq(struct mm_struct *mm)
{
	down_write(&mm->mmap_lock);
	mmap_write_unlock(mm);
}

enum vt_scn {
	SCN_RW_EXCLUSION, SCN_DETACH_FREE, SCN_BULK_RELEASE, SCN_DOWNGRADE,
	SCN_SPECULATE, SCN_REFCOUNT_LIMIT, SCN_KILLABLE_WRITER, SCN_FAULT_PATH,
	SCN_REUSE, SCN_WATCH, NR_SCNS
};

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
	.write_vma_killable = vma_start_write_killable,
};

static const struct vt_lock_ops vt_ops_table[] = {
	{
		.name = "none",
		.desc = "the kernel's real per-VMA lock operations",
	}, {
		.name = "reader_no_seqcheck",
		.desc = "R3: reader takes vm_refcnt without checking vm_lock_seq",
		.read_vma = vt_read_no_seqcheck,
		.omit = VT_NO_SEQ_CHECK,
		.targets = BIT(SCN_RW_EXCLUSION) | BIT(SCN_BULK_RELEASE) | BIT(SCN_FAULT_PATH),
	}, {
		.name = "writer_no_wait",
		.desc = "R5: vma_start_write() does not wait for readers",
		.write_vma = vt_write_lock_no_wait,
		.targets = BIT(SCN_RW_EXCLUSION) | BIT(SCN_DETACH_FREE),
	}, {
		.name = "detach_no_wait",
		.desc = "R1: vma_mark_detached() does not wait for transient readers",
		.detach = vt_detach_no_wait,
		.targets = BIT(SCN_DETACH_FREE),
	}, {
		.name = "unlock_no_seq",
		.desc = "R6: mmap_write_unlock()/downgrade do not advance mm_lock_seq",
		.unlock_mmap = vt_write_unlock_no_seq,
		.downgrade_mmap = vt_write_downgrade_no_seq,
		.repair_release = vt_repair_seq,
		.targets = BIT(SCN_BULK_RELEASE) | BIT(SCN_DOWNGRADE),
	}, {
		.name = "reader_no_refcount",
		.desc = "reader uses the VMA found under RCU without taking vm_refcnt",
		.read_vma = vt_read_no_refcount,
		.unlock_vma = vt_unlock_no_refcount,
		.targets = BIT(SCN_DETACH_FREE),
	}, {
		.name = "reader_late_wake",
		.desc = "R2/R12: the last reader does not wake the writer waiting for it",
		.unlock_vma = vt_unlock_late_wake,
		.targets = BIT(SCN_RW_EXCLUSION),
	}, {
		.name = "reader_no_limit",
		.desc = "R4: reader count allowed past VM_REFCNT_LIMIT, into the writer flag",
		.read_vma = vt_read_no_limit,
		.omit = VT_NO_LIMIT,
		.targets = BIT(SCN_REFCOUNT_LIMIT),
	}, {
		.name = "speculate_no_retry",
		.desc = "speculative reader does not check mmap_lock_speculate_retry()",
		.speculate_retry = vt_speculate_no_retry,
		.targets = BIT(SCN_SPECULATE),
	}, {
		.name = "speculate_no_odd",
		.desc = "R7: mmap_write_lock() leaves mm_lock_seq even, hiding the writer",
		.lock_mmap = vt_write_lock_mmap_no_odd,
		.unlock_mmap = vt_write_unlock_no_odd,
		.targets = BIT(SCN_SPECULATE),
	}, {
		.name = "killable_leak",
		.desc = "killed vma_start_write_killable() leaves readers excluded",
		.write_vma_killable = vt_write_killable_leak,
		.targets = BIT(SCN_KILLABLE_WRITER),
	}, {
		.name = "reader_no_mm_check",
		.desc = "R8: reader does not check that a reused VMA still belongs to its mm",
		.read_vma = vt_read_no_mm_check,
		.omit = VT_NO_MM_CHECK,
		.targets = BIT(SCN_REUSE),
	}, {
		.name = "writer_no_vma_lock",
		.desc = "R9: page tables changed in place (as fork does) without vma_start_write()",
		.write_vma = vt_write_lock_skipped,
		.targets = BIT(SCN_FAULT_PATH),
	},
};

/* The real operations, with those that @variant replaces put in. */
static void vt_effective_ops(const struct vt_lock_ops *variant, struct vt_lock_ops *ops)
{
	*ops = vt_real_ops;
	ops->name = variant->name;
	ops->desc = variant->desc;
	ops->targets = variant->targets;
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
	if (variant->speculate_retry)
		ops->speculate_retry = variant->speculate_retry;
	if (variant->write_vma_killable)
		ops->write_vma_killable = variant->write_vma_killable;
}

static const struct vt_lock_ops *vt_find_ops(const char *name)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vt_ops_table); i++)
		if (sysfs_streq(name, vt_ops_table[i].name))
			return &vt_ops_table[i];
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Run state */

#define VT_VMA_PAGES	4
#define VT_VMA_STRIDE	(2 * VT_VMA_PAGES * PAGE_SIZE)	/* gaps stop merging */
#define VT_BASE		0x10000000UL
#define VT_MAX_THREADS	(64 + 16 + 2)
#define VT_OTHER_MMS	2	/* reuse: mms beside the test mm */

/* What the harness itself knows about each test VMA (its witness). */
struct vt_slot {
	atomic_t readers_in;
	atomic_t writer_in;
	/* bulk_release: read-locked since release; fault_path: generation */
	atomic_t probed;
};

struct vt_stats {
	atomic64_t reads;	/* read-lock attempts */
	atomic64_t read_ok;	/* per-VMA read locks taken */
	atomic64_t fallbacks;	/* attempts that fell back to mmap_lock */
	atomic64_t writes;	/* VMA write locks taken */
	atomic64_t detaches;	/* in-place detach + reattach cycles */
	atomic64_t replaces;	/* munmap or MAP_FIXED replacement of a VMA */
	atomic64_t rounds;	/* bulk_release lock/release rounds */
	atomic64_t stragglers;	/* transient references held across a write lock */
	atomic64_t limit_hits;	/* readers refused at VM_REFCNT_LIMIT */
	atomic64_t foreign;	/* reuse: VMAs of another mm met by a lookup */
	atomic64_t locked_checks; /* fault_path: pages read back under the VMA lock */
	atomic64_t handoffs;	/* reuse: lookups churner 0 freed and remapped */
	atomic64_t reused;	/* reuse: ... whose VMA came back in another mm */
	atomic64_t max_wait_us;	/* longest vma_start_write() */
};

struct vt_result {
	enum vt_scn scn;
	bool skipped;
	char skip_reason[96];
	u64 time_ms;
	u64 detected_ms;
	u64 inv_count[NR_INVS];
	char first[320];
	s64 reads, read_ok, fallbacks, writes, detaches, replaces, frees, rounds, stragglers;
	s64 limit_hits, killed, foreign, handoffs, reused, locked_checks;
	/* fault_path: /proc/vmstat vma_lock_{success,abort,retry,miss} deltas */
	bool has_vmstat;
	s64 vmstat[4];
	s64 max_wait_us;
};

struct vt_ctx;

struct vt_worker {
	struct vt_ctx *ctx;
	struct task_struct *task;
	int id;
	struct rnd_state rnd;
	int slot;		/* index in ctx->workers and ctx->held */
};

enum { PHASE_IDLE, PHASE_LOCKED, PHASE_RELEASED };

struct vt_ctx {
	const struct vt_lock_ops *ops;	/* &eff_ops */
	struct vt_lock_ops eff_ops;
	enum vt_scn scn;
	struct mm_struct *mm;
	struct vt_slot *slots;
	struct vt_stats stats;
	struct vt_worker workers[VT_MAX_THREADS];
	int nr_workers;
	u64 start_ns;
	spinlock_t vlock;	/* protects res.first and res.detected_ms */
	atomic64_t inv_count[NR_INVS];
	struct vt_result res;
	/* bulk_release phase word: round << 2 | phase */
	unsigned long phase;
	bool downgrade_only;	/* downgrade: always release by downgrading */
	/* speculate: written under mmap_lock by the writer, read locklessly */
	unsigned long spec_round, spec_check;
	atomic_t spec_section;	/* odd while the writer holds mmap_lock */
	/* killable_writer */
	struct task_struct *killable_task;
	/* reuse: mms whose VMAs come from the same slab as the test mm's */
	struct mm_struct *other_mm[VT_OTHER_MMS];
	atomic64_t killed;
	atomic_t hot_vma;	/* detach_free: VMA the detacher works on */
	/* reuse: the slow reader's lookup handed to churner 0 */
	atomic_t reuse_state;
	struct vm_area_struct *reuse_vma;
	int reuse_idx;
	/* VMA each worker holds read-locked, for the free monitor and detachers. */
	struct vm_area_struct *held[VT_MAX_THREADS];
	struct vm_free_monitor mon;
};

/* reuse: churner 0 in the test mm (and other_mm[0]), one more per other mm */
static int vt_reuse_churners = VT_OTHER_MMS;

/* A kind of worker kthread: @count of them (one if NULL), named vmalock_@name/N. */
struct vt_role {
	int (*fn)(void *arg);
	const char *name;
	int *count;
};

struct vt_scenario {
	const char *name;
	const char *desc;
	struct vt_role roles[4];	/* spawned in order, stopped in reverse */
	bool needs_free_probe;
	bool downgrade_only;
	bool not_in_all;	/* only when named */
};

/* The run in progress; the controller owns it. */
static DEFINE_MUTEX(vt_mutex);		/* serialises start/params/results */
static struct task_struct *vt_controller;
static DECLARE_COMPLETION(vt_done);
static bool vt_running;
static bool vt_stop;
static DECLARE_WAIT_QUEUE_HEAD(vt_wq);
static struct vt_ctx *vt_cur;		/* for the kprobe and the stats file */
static const char *vt_cur_name = "";
static unsigned long vt_run_mask;
static const struct vt_lock_ops *vt_run_ops;
static u64 vt_run_seed;
static char *vt_results;		/* KTAP of the last run */
static size_t vt_results_len;

static inline bool vt_should_stop(void)
{
	return kthread_should_stop() || READ_ONCE(vt_stop);
}

static unsigned long vt_vma_addr(int i)
{
	return VT_BASE + (unsigned long)i * VT_VMA_STRIDE;
}

static int vt_vma_index(struct vt_ctx *ctx, struct vm_area_struct *vma)
{
	unsigned long off = vma->vm_start - VT_BASE;

	if (vma->vm_start < VT_BASE || off % VT_VMA_STRIDE || off / VT_VMA_STRIDE >= vmas)
		return -1;
	return off / VT_VMA_STRIDE;
}

static __printf(3, 4) void vt_violation(struct vt_ctx *ctx, enum vt_inv inv,
					const char *fmt, ...)
{
	unsigned long flags;
	va_list args;
	u64 n;

	n = atomic64_inc_return(&ctx->inv_count[inv]);
	if (n > 1 && verbose < 1)
		return;

	spin_lock_irqsave(&ctx->vlock, flags);
	if (!ctx->res.first[0]) {
		int len = scnprintf(ctx->res.first, sizeof(ctx->res.first), "[%s] ",
				    vt_inv_names[inv]);

		va_start(args, fmt);
		vscnprintf(ctx->res.first + len, sizeof(ctx->res.first) - len, fmt, args);
		va_end(args);
		ctx->res.detected_ms = div_u64(ktime_get_ns() - ctx->start_ns, NSEC_PER_MSEC);
		pr_err("violation in %s: %s\n", vt_cur_name, ctx->res.first);
	} else if (verbose >= 1) {
		char buf[160];

		va_start(args, fmt);
		vscnprintf(buf, sizeof(buf), fmt, args);
		va_end(args);
		pr_err("violation in %s: [%s] %s\n", vt_cur_name, vt_inv_names[inv], buf);
	}
	spin_unlock_irqrestore(&ctx->vlock, flags);
}

static void vt_hold(void)
{
	if (hold_us)
		udelay(hold_us);
}

/*
 * A held read lock means the VMA is attached and not write-locked: the count
 * is the attach reference plus readers (2..LIMIT), or a writer is excluding
 * readers and waits for us (FLAG + 1 + readers).
 */
static bool vt_refcnt_legal_for_reader(unsigned int cnt)
{
	if (cnt >= 2 && cnt <= VM_REFCNT_LIMIT)
		return true;
	return cnt >= VM_REFCNT_EXCLUDE_READERS_FLAG + 2 &&
	       cnt < 2 * VM_REFCNT_EXCLUDE_READERS_FLAG;
}

/* Checks a reader makes while it holds @vma read-locked. */
static void vt_check_held(struct vt_worker *w, struct vm_area_struct *vma,
			  unsigned long addr, const char *when)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	unsigned int cnt = refcount_read(&vma->vm_refcnt);
	int idx = vt_vma_index(ctx, vma);

	if (vma_write_locked_now(vma, mm))
		vt_violation(ctx, INV_RW_EXCLUSION,
			     "reader/%d %s holds VMA %d [%lx-%lx) that is write-locked (vm_lock_seq=%u == mm_lock_seq), refcnt=%u",
			     w->id, when, idx, vma->vm_start, vma->vm_end,
			     READ_ONCE(vma->vm_lock_seq), cnt);
	if (idx >= 0 && atomic_read(&ctx->slots[idx].writer_in))
		vt_violation(ctx, INV_RW_EXCLUSION,
			     "reader/%d %s holds VMA %d while a writer of the harness is inside it, refcnt=%u",
			     w->id, when, idx, cnt);
	if (!vt_refcnt_legal_for_reader(cnt))
		vt_violation(ctx, INV_REFCOUNT_STATE,
			     "reader/%d %s holds VMA %d with refcnt=%#x, expected 2..%#x or >= %#x",
			     w->id, when, idx, cnt, VM_REFCNT_LIMIT,
			     VM_REFCNT_EXCLUDE_READERS_FLAG + 2);
}

static bool vt_check_right_vma(struct vt_worker *w, struct vm_area_struct *vma,
			       unsigned long addr)
{
	if (vma->vm_mm == w->ctx->mm && addr >= vma->vm_start && addr < vma->vm_end)
		return true;
	vt_violation(w->ctx, INV_RIGHT_VMA,
		     "reader/%d looked up %lx in the test mm, got VMA [%lx-%lx) of %s",
		     w->id, addr, vma->vm_start, vma->vm_end,
		     vma->vm_mm == w->ctx->mm ? "the test mm" : "another mm");
	return false;
}

/* The caller of a failed per-VMA lock falls back to mmap_lock, as faults do. */
static void vt_fallback(struct vt_ctx *ctx, unsigned long addr)
{
	atomic64_inc(&ctx->stats.fallbacks);
	mmap_read_lock(ctx->mm);
	(void)vma_lookup(ctx->mm, addr);
	mmap_read_unlock(ctx->mm);
}

/*
 * One read-side critical section on the VMA around @addr. Returns true if the
 * per-VMA lock was taken.
 */
static bool vt_read_once(struct vt_worker *w, unsigned long addr)
{
	struct vt_ctx *ctx = w->ctx;
	struct vm_area_struct *vma;
	int idx;

	atomic64_inc(&ctx->stats.reads);
	vma = ctx->ops->read_vma(ctx->mm, addr);
	if (!vma) {
		vt_fallback(ctx, addr);
		return false;
	}
	atomic64_inc(&ctx->stats.read_ok);
	WRITE_ONCE(ctx->held[w->slot], vma);
	/* Publish before checking; pairs with the free monitor's smp_mb(). */
	smp_mb();
	idx = vt_vma_index(ctx, vma);
	if (idx >= 0)
		atomic_inc(&ctx->slots[idx].readers_in);
	/* Count ourselves in before looking at writer_in; pairs with vt_write_enter(). */
	smp_mb();
	if (vt_check_right_vma(w, vma, addr)) {
		vt_check_held(w, vma, addr, "on entry");
		vt_hold();
		vt_check_held(w, vma, addr, "on exit");
	}
	if (idx >= 0)
		atomic_dec(&ctx->slots[idx].readers_in);
	WRITE_ONCE(ctx->held[w->slot], NULL);
	/* Unpublish before the reference goes. */
	smp_mb();
	ctx->ops->unlock_vma(vma);
	return true;
}

static unsigned long vt_random_addr(struct vt_worker *w, int *idx)
{
	int i = prandom_u32_state(&w->rnd) % vmas;
	unsigned long off = (prandom_u32_state(&w->rnd) % VT_VMA_PAGES) * PAGE_SIZE;

	if (idx)
		*idx = i;
	return vt_vma_addr(i) + off;
}

static int vt_reader(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;

	while (!vt_should_stop()) {
		unsigned long addr = vt_random_addr(w, NULL);
		int hot = atomic_read(&ctx->hot_vma);

		/* Half the time, crowd the VMA a detacher is working on. */
		if (hot >= 0 && (prandom_u32_state(&w->rnd) & 1))
			addr = vt_vma_addr(hot);
		vt_read_once(w, addr);
		cond_resched();
	}
	return 0;
}

/* Write-lock @vma through the ops and check the writer's view. */
static void vt_write_enter(struct vt_worker *w, struct vm_area_struct *vma)
{
	struct vt_ctx *ctx = w->ctx;
	int idx = vt_vma_index(ctx, vma);
	u64 t0 = ktime_get_ns(), us;
	int inside;

	ctx->ops->write_vma(vma);
	us = div_u64(ktime_get_ns() - t0, NSEC_PER_USEC);
	atomic64_inc(&ctx->stats.writes);
	if (us > atomic64_read(&ctx->stats.max_wait_us))
		atomic64_set(&ctx->stats.max_wait_us, us);
	if (us > (u64)writer_timeout_ms * USEC_PER_MSEC)
		vt_violation(ctx, INV_WRITER_PROGRESS,
			     "writer/%d waited %llu ms in vma_start_write() on VMA %d (bound %d ms)",
			     w->id, div_u64(us, USEC_PER_MSEC), idx, writer_timeout_ms);
	if (idx < 0)
		return;
	atomic_set(&ctx->slots[idx].writer_in, 1);
	/* Mark ourselves in before looking at readers_in; pairs with vt_read_once(). */
	smp_mb();
	inside = atomic_read(&ctx->slots[idx].readers_in);
	if (inside)
		vt_violation(ctx, INV_RW_EXCLUSION,
			     "writer/%d write-locked VMA %d while %d reader(s) of the harness hold it, refcnt=%u",
			     w->id, idx, inside, refcount_read(&vma->vm_refcnt));
}

static void vt_clear_writer_marks(struct vt_ctx *ctx)
{
	int i;

	for (i = 0; i < vmas; i++)
		atomic_set(&ctx->slots[i].writer_in, 0);
	/* Marks are clear before the lock is released. */
	smp_mb();
}

static void vt_check_seq_odd(struct vt_worker *w, bool want_odd, const char *when)
{
	unsigned int seq = READ_ONCE(w->ctx->mm->mm_lock_seq.sequence);

	if ((seq & 1) != want_odd)
		vt_violation(w->ctx, INV_SEQ_PARITY, "writer/%d: mm_lock_seq=%u %s",
			     w->id, seq, when);
}

/* ---------------------------------------------------------------------- */
/* rw_exclusion: readers against writers that hold VMA write locks */

static int vt_rw_writer(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	unsigned long round = 0;

	while (!vt_should_stop()) {
		int n = 1 + prandom_u32_state(&w->rnd) % 4, i;

		ctx->ops->lock_mmap(mm);
		vt_check_seq_odd(w, true, "after mmap_write_lock(), expected odd");
		for (i = 0; i < n; i++) {
			struct vm_area_struct *vma = vma_lookup(mm, vt_random_addr(w, NULL));

			if (vma)
				vt_write_enter(w, vma);
		}
		vt_hold();
		vt_clear_writer_marks(ctx);
		if (++round & 1) {
			ctx->ops->unlock_mmap(mm);
		} else {
			ctx->ops->downgrade_mmap(mm);
			mmap_read_unlock(mm);
		}
		if (ctx->ops->repair_release)
			ctx->ops->repair_release(mm);
		cond_resched();
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* detach_free: readers against detach, free and reuse of their VMAs */

/*
 * Detach @vma through the ops, check the result, and attach it again. A
 * broken detach leaves a reader's reference behind: wait for it (the VMA is
 * write-locked, so readers only back off) before attaching again, and force
 * the count after a second so that the run can go on.
 */
static void vt_detach_once(struct vt_worker *w, struct vm_area_struct *vma, int idx)
{
	struct vt_ctx *ctx = w->ctx;
	unsigned int cnt;
	int i, spins;

	ctx->ops->detach(vma);
	cnt = refcount_read(&vma->vm_refcnt);
	if (cnt)
		vt_violation(ctx, INV_DETACH_REFCOUNT,
			     "detacher/%d: VMA %d refcnt=%u after vma_mark_detached(), expected 0",
			     w->id, idx, cnt);
	for (i = 0; i < ctx->nr_workers; i++)
		if (READ_ONCE(ctx->held[i]) == vma)
			vt_violation(ctx, INV_READER_ON_DETACHED,
				     "detacher/%d: reader/%d still holds VMA %d after vma_mark_detached(), refcnt=%u",
				     w->id, ctx->workers[i].id, idx,
				     refcount_read(&vma->vm_refcnt));
	atomic64_inc(&ctx->stats.detaches);
	for (spins = 0; refcount_read(&vma->vm_refcnt) && spins < 1000000; spins++)
		udelay(1);
	if (refcount_read(&vma->vm_refcnt))
		refcount_set(&vma->vm_refcnt, 0);
	vma_mark_attached(vma);
}

/*
 * Readers that passed vma_start_read()'s early vm_lock_seq check just before
 * the write lock still increment vm_refcnt before they back off (seed 003).
 * Detaching many times per write section, as the kernel may detach long
 * after the write lock, gives such a transient reader a real chance to be
 * there when the detach happens.
 */
#define VT_DETACH_CYCLES	64

static void vt_detach_in_place(struct vt_worker *w, int idx)
{
	struct mm_struct *mm = w->ctx->mm;
	struct vm_area_struct *vma;
	int i;

	mmap_write_lock(mm);
	vma = vma_lookup(mm, vt_vma_addr(idx));
	if (vma) {
		vt_write_enter(w, vma);
		for (i = 0; i < VT_DETACH_CYCLES; i++)
			vt_detach_once(w, vma, idx);
	}
	vt_clear_writer_marks(w->ctx);
	mmap_write_unlock(mm);
}

/* munmap then mmap (@unmap_first), or mmap MAP_FIXED over the old VMA. */
static void vt_replace(struct vt_worker *w, int idx, bool unmap_first)
{
	struct vt_ctx *ctx = w->ctx;
	unsigned long addr = vt_vma_addr(idx), ret;
	unsigned long len = VT_VMA_PAGES * PAGE_SIZE;

	if (unmap_first)
		vm_munmap(addr, len);
	ret = vm_mmap(NULL, addr, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	if (IS_ERR_VALUE(ret))
		pr_warn_ratelimited("worker %d: vm_mmap(%lx) failed: %ld\n",
				    w->id, addr, (long)ret);
	atomic64_inc(&ctx->stats.replaces);
}

static int vt_detacher(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;

	kthread_use_mm(ctx->mm);
	while (!vt_should_stop()) {
		int idx = prandom_u32_state(&w->rnd) % vmas;

		atomic_set(&ctx->hot_vma, idx);
		if (prandom_u32_state(&w->rnd) % 4)
			vt_detach_in_place(w, idx);
		else
			vt_replace(w, idx, prandom_u32_state(&w->rnd) & 1);
		cond_resched();
	}
	kthread_unuse_mm(ctx->mm);
	return 0;
}

/*
 * Straggler: the transient reader of seed 003. It does what vma_start_read()
 * does, but lingers between the early vm_lock_seq check and the increment
 * until a writer has write-locked the VMA, then holds the reference a moment
 * before backing off. The protocol allows this state; a detach must wait for
 * it. Real lock_vma_under_rcu() readers hit that window only once in
 * millions of tries, this one every time.
 */
static int vt_straggler(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;

	while (!vt_should_stop()) {
		int hot = atomic_read(&ctx->hot_vma), spins;
		struct vm_area_struct *vma;

		if (hot < 0) {
			cond_resched();
			continue;
		}
		rcu_read_lock();
		vma = vt_lookup_rcu(mm, vt_vma_addr(hot));
		if (vma && !vma_write_locked_now(vma, mm)) {
			for (spins = 0; spins < 200 && !vma_write_locked_now(vma, mm); spins++)
				udelay(1);
			if (vt_ref_get(vma, VM_REFCNT_LIMIT)) {
				atomic64_inc(&ctx->stats.stragglers);
				vt_hold();
				vt_ref_put(vma);	/* backing off, also from a reused VMA */
			}
		}
		rcu_read_unlock();
		cond_resched();
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* bulk_release: one mmap write lock, many VMA write locks, one release */

static unsigned long vt_phase_read(struct vt_ctx *ctx)
{
	/* Pairs with the release in vt_set_phase(). */
	return smp_load_acquire(&ctx->phase);
}

static int vt_bulk_reader(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;

	while (!vt_should_stop()) {
		unsigned long p1 = vt_phase_read(ctx), p2;
		struct vm_area_struct *vma;
		unsigned long addr;
		int idx;

		if ((p1 & 3) == PHASE_IDLE) {
			cond_resched();
			continue;
		}
		addr = vt_random_addr(w, &idx);
		atomic64_inc(&ctx->stats.reads);
		vma = ctx->ops->read_vma(ctx->mm, addr);
		smp_rmb();	/* the probe before the second phase read */
		p2 = vt_phase_read(ctx);
		if (!vma) {
			atomic64_inc(&ctx->stats.fallbacks);
			cond_resched();
			continue;
		}
		atomic64_inc(&ctx->stats.read_ok);
		if (p1 == p2 && (p1 & 3) == PHASE_LOCKED)
			vt_violation(ctx, INV_BULK_RELEASE,
				     "reader/%d read-locked VMA %d while the writer holds mmap_lock and every VMA write-locked (round %lu, vm_lock_seq=%u, mm_lock_seq=%u)",
				     w->id, idx, p1 >> 2, READ_ONCE(vma->vm_lock_seq),
				     READ_ONCE(ctx->mm->mm_lock_seq.sequence));
		if (p1 == p2 && (p1 & 3) == PHASE_RELEASED)
			atomic_set(&ctx->slots[idx].probed, 1);
		ctx->ops->unlock_vma(vma);
		cond_resched();
	}
	return 0;
}

static void vt_set_phase(struct vt_ctx *ctx, unsigned long round, int phase)
{
	/* Pairs with the acquire in vt_phase_read(). */
	smp_store_release(&ctx->phase, round << 2 | phase);
	smp_mb();	/* the phase is visible before the lock changes */
}

static int vt_bulk_writer(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	unsigned long round = 0;

	while (!vt_should_stop()) {
		bool downgrade = ctx->downgrade_only || (round & 1);
		u64 deadline;
		int i, missing;

		round++;
		ctx->ops->lock_mmap(mm);
		for (i = 0; i < vmas; i++) {
			struct vm_area_struct *vma = vma_lookup(mm, vt_vma_addr(i));

			if (vma)
				vt_write_enter(w, vma);
			atomic_set(&ctx->slots[i].probed, 0);
		}
		vt_set_phase(ctx, round, PHASE_LOCKED);
		/* Let the readers probe the locked VMAs for a while. */
		usleep_range(2000, 3000);
		vt_clear_writer_marks(ctx);
		vt_set_phase(ctx, round, PHASE_IDLE);
		if (downgrade)
			ctx->ops->downgrade_mmap(mm);
		else
			ctx->ops->unlock_mmap(mm);
		vt_set_phase(ctx, round, PHASE_RELEASED);

		/* Liveness: every VMA must now be read-locked by some reader. */
		deadline = ktime_get_ns() + (u64)release_timeout_ms * NSEC_PER_MSEC;
		do {
			missing = 0;
			for (i = 0; i < vmas; i++)
				missing += !atomic_read(&ctx->slots[i].probed);
			if (!missing || vt_should_stop())
				break;
			usleep_range(100, 200);
		} while (ktime_get_ns() < deadline);
		if (missing && !vt_should_stop())
			vt_violation(ctx, INV_RELEASE_LIVENESS,
				     "%d of %d VMAs still refuse readers %d ms after %s (mm_lock_seq=%u)",
				     missing, vmas, release_timeout_ms,
				     downgrade ? "mmap_write_downgrade()" : "mmap_write_unlock()",
				     READ_ONCE(mm->mm_lock_seq.sequence));
		vt_set_phase(ctx, round, PHASE_IDLE);
		if (downgrade)
			mmap_read_unlock(mm);
		if (ctx->ops->repair_release)
			ctx->ops->repair_release(mm);
		atomic64_inc(&ctx->stats.rounds);
		cond_resched();
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* speculate: lockless readers against writers, through mm_lock_seq */

/*
 * Every write section sets, for its round r: spec_round = r, each VMA's
 * vm_private_data = r and VM_DONTDUMP = r & 1, then spec_check = ~r. A read
 * that mmap_lock_speculate_retry() accepts must see all of one round.
 */
static int vt_spec_writer(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	unsigned long round = 0;
	int i;

	while (!vt_should_stop()) {
		round++;
		ctx->ops->lock_mmap(mm);
		vt_check_seq_odd(w, true, "after mmap_write_lock(), expected odd");
		atomic_inc(&ctx->spec_section);
		WRITE_ONCE(ctx->spec_round, round);
		for (i = 0; i < vmas; i++) {
			struct vm_area_struct *vma = vma_lookup(mm, vt_vma_addr(i));

			if (!vma)
				continue;
			if (round & 1)
				vm_flags_set(vma, VM_DONTDUMP);
			else
				vm_flags_clear(vma, VM_DONTDUMP);
			WRITE_ONCE(vma->vm_private_data, (void *)round);
			atomic64_inc(&ctx->stats.writes);
		}
		vt_hold();
		WRITE_ONCE(ctx->spec_check, ~round);
		atomic_inc(&ctx->spec_section);
		ctx->ops->unlock_mmap(mm);
		if (ctx->ops->repair_release)
			ctx->ops->repair_release(mm);
		atomic64_inc(&ctx->stats.rounds);
		cond_resched();
	}
	return 0;
}

static int vt_spec_reader(void *arg)
{
	bool (*retry)(struct mm_struct *mm, unsigned int seq);
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;

	retry = ctx->ops->speculate_retry;
	while (!vt_should_stop()) {
		unsigned long addr, round, check, priv = 0;
		int s1, s2, idx, dontdump = 0;
		struct vm_area_struct *vma;
		unsigned int seq;
		bool began;

		addr = vt_random_addr(w, &idx);
		atomic64_inc(&ctx->stats.reads);
		s1 = atomic_read(&ctx->spec_section);
		began = mmap_lock_speculate_try_begin(mm, &seq);
		s2 = atomic_read(&ctx->spec_section);
		/* One write section spanned try_begin(): it had to fail. */
		if (began && s1 == s2 && (s1 & 1))
			vt_violation(ctx, INV_SEQ_PARITY,
				     "reader/%d: mmap_lock_speculate_try_begin() succeeded (seq=%u) inside write section %d",
				     w->id, seq, s1 / 2);
		if (!began) {
			atomic64_inc(&ctx->stats.fallbacks);
			cond_resched();
			continue;
		}
		rcu_read_lock();
		vma = vt_lookup_rcu(mm, addr);
		if (vma) {
			priv = (unsigned long)READ_ONCE(vma->vm_private_data);
			dontdump = !!(READ_ONCE(vma->vm_flags) & VM_DONTDUMP);
		}
		round = READ_ONCE(ctx->spec_round);
		check = READ_ONCE(ctx->spec_check);
		rcu_read_unlock();
		if (retry(mm, seq)) {
			atomic64_inc(&ctx->stats.fallbacks);
			cond_resched();
			continue;
		}
		atomic64_inc(&ctx->stats.read_ok);
		if (check != ~round || (vma && (priv != round || dontdump != (round & 1))))
			vt_violation(ctx, INV_SPECULATE,
				     "reader/%d: retry() accepted a mixed state: round=%lu check=%#lx VMA %d private=%lu dontdump=%d",
				     w->id, round, check, idx, priv, dontdump);
		cond_resched();
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* refcount_limit: readers at the VM_REFCNT_LIMIT ceiling, and a writer */

static struct vm_area_struct *vt_vma0(struct vt_ctx *ctx)
{
	struct vm_area_struct *vma;

	mmap_read_lock(ctx->mm);
	vma = vma_lookup(ctx->mm, vt_vma_addr(0));
	mmap_read_unlock(ctx->mm);
	return vma;	/* the scenario never unmaps it */
}

/*
 * The crowd stands for (LIMIT - nr of readers) readers holding VMA 0, so that the
 * real readers reach the ceiling. Like readers, it leaves when a writer
 * waits (and wakes it, as the last reader's vma_refcount_put() does), and
 * comes back when the writer is gone.
 */
static int vt_crowd(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	int crowd = VM_REFCNT_LIMIT - readers;
	struct vm_area_struct *vma = vt_vma0(ctx);
	bool in = false;

	while (vma && !vt_should_stop()) {
		unsigned int cnt = refcount_read(&vma->vm_refcnt);

		if (!in && cnt < VM_REFCNT_EXCLUDE_READERS_FLAG && !vma_write_locked_now(vma, mm)) {
			int old;

			/* Never past LIMIT itself: a writer's flag must still fit. */
			in = __refcount_add_not_zero_limited_acquire(crowd, &vma->vm_refcnt, &old,
								     VM_REFCNT_LIMIT);
		} else if (in && cnt >= VM_REFCNT_EXCLUDE_READERS_FLAG) {
			if (!refcount_sub_and_test(crowd, &vma->vm_refcnt))
				rcuwait_wake_up(&mm->vma_writer_wait);
			in = false;
		}
		cond_resched();
	}
	if (in && !refcount_sub_and_test(crowd, &vma->vm_refcnt))
		rcuwait_wake_up(&mm->vma_writer_wait);
	return 0;
}

static int vt_limit_reader(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct vm_area_struct *vma = vt_vma0(ctx);

	while (vma && !vt_should_stop()) {
		if (!vt_read_once(w, vt_vma_addr(0)) &&
		    refcount_read(&vma->vm_refcnt) == VM_REFCNT_LIMIT)
			atomic64_inc(&ctx->stats.limit_hits);
		cond_resched();
	}
	return 0;
}

static int vt_limit_writer(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct vm_area_struct *vma = vt_vma0(ctx);

	/*
	 * With readers past the ceiling (reader_no_limit) the count reaches the
	 * writer flag, and a writer adding its own flag would overflow and
	 * saturate it, hanging the guest. The readers' check catches the bug;
	 * the writer stays out of that run.
	 */
	if (ctx->ops->omit & VT_NO_LIMIT)
		return 0;
	while (vma && !vt_should_stop()) {
		mmap_write_lock(ctx->mm);
		vt_write_enter(w, vma);
		vt_hold();
		vt_clear_writer_marks(ctx);
		mmap_write_unlock(ctx->mm);
		usleep_range(500, 1000);	/* let the readers climb back */
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* killable_writer: vma_start_write_killable() killed while readers hold */

/* Holds VMA 0 read-locked for a millisecond at a time, as a slow fault does. */
static int vt_holder(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;

	while (!vt_should_stop()) {
		struct vm_area_struct *vma = ctx->ops->read_vma(ctx->mm, vt_vma_addr(0));

		if (vma) {
			usleep_range(1000, 2000);
			ctx->ops->unlock_vma(vma);
		}
		cond_resched();
	}
	return 0;
}

static void vt_unexclude(struct vm_area_struct *vma)
{
	bool detached = refcount_sub_and_test(VM_REFCNT_EXCLUDE_READERS_FLAG, &vma->vm_refcnt);

	WARN_ON_ONCE(detached);	/* it is attached */
}

static int vt_killable_writer(void *arg)
{
	int (*killable)(struct vm_area_struct *vma);
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;

	killable = ctx->ops->write_vma_killable;
	allow_signal(SIGKILL);
	WRITE_ONCE(ctx->killable_task, current);
	while (!vt_should_stop()) {
		struct vm_area_struct *vma;
		unsigned int cnt;
		int ret;

		mmap_write_lock(mm);
		vma = vma_lookup(mm, vt_vma_addr(0));
		ret = vma ? killable(vma) : 0;
		if (ret == -EINTR) {
			bool locked = __is_vma_write_locked(vma);

			atomic64_inc(&ctx->killed);
			cnt = refcount_read(&vma->vm_refcnt);
			if (cnt < 1 || cnt >= VM_REFCNT_EXCLUDE_READERS_FLAG || locked)
				vt_violation(ctx, INV_KILLABLE,
					     "writer/%d: killed vma_start_write_killable() left VMA 0 with refcnt=%#x%s, expected attached with readers only",
					     w->id, cnt, locked ? ", write-locked" : "");
			/* Undo a broken error path so that the run can go on. */
			if (cnt >= VM_REFCNT_EXCLUDE_READERS_FLAG)
				vt_unexclude(vma);
			flush_signals(current);
		} else if (vma) {
			atomic64_inc(&ctx->stats.writes);
		}
		mmap_write_unlock(mm);
		cond_resched();
	}
	return 0;
}

/* Sends SIGKILL to the killable writer every millisecond or two. */
static int vt_killer(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;

	while (!vt_should_stop()) {
		struct task_struct *t = READ_ONCE(ctx->killable_task);

		usleep_range(1000, 2000);
		if (t)
			send_sig(SIGKILL, t, 1);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* fault_path: page faults through lock_vma_under_rcu() and handle_mm_fault() */

/*
 * Read-back tries, 5 us apart: compaction may hold the page under a migration
 * entry a moment (longer on a TCG guest); a zapped page stays absent.
 */
#define VT_READ_BACK_TRIES	2000
/*
 * Between write and read-back: long enough for a writer to come in. A spin:
 * a sleep this short costs several times more on a TCG guest.
 */
#define VT_LOCKED_PAUSE_US	50

/*
 * While the faulter holds the VMA read-locked, nothing may change its page
 * tables (the harness never zaps under a VMA read lock, as MADV_DONTNEED
 * would): what it writes to the page just faulted in, it reads back after a
 * pause. Without faults: one under the VMA lock could wait for a writer that
 * waits for this reader.
 */
static void vt_check_locked_page(struct vt_worker *w, struct vm_area_struct *vma,
				 unsigned long addr, u64 want)
{
	void __user *uaddr = (void __user *)addr;
	struct vt_ctx *ctx = w->ctx;
	char what[40];
	u64 got = 0;
	int tries;

	if (copy_to_user_nofault(uaddr, &want, sizeof(want)))
		return;		/* not present: being migrated, say */
	atomic64_inc(&ctx->stats.locked_checks);
	udelay(VT_LOCKED_PAUSE_US);
	for (tries = 0; tries < VT_READ_BACK_TRIES; tries++) {
		if (!copy_from_user_nofault(&got, uaddr, sizeof(got)))
			break;
		udelay(5);
	}
	if (tries < VT_READ_BACK_TRIES && got == want)
		return;
	if (tries < VT_READ_BACK_TRIES)
		snprintf(what, sizeof(what), "read back %#llx", got);
	else
		strscpy(what, "then its page was gone");
	vt_violation(ctx, INV_FAULT_DATA,
		     "faulter/%d holds VMA %d read-locked (refcnt=%u vm_lock_seq=%u mm_lock_seq=%u): wrote %#llx at %lx, %s",
		     w->id, vt_vma_index(ctx, vma), refcount_read(&vma->vm_refcnt),
		     READ_ONCE(vma->vm_lock_seq), READ_ONCE(ctx->mm->mm_lock_seq.sequence),
		     want, addr, what);
}

/*
 * What the architecture's fault handler does for a user fault, from a
 * kthread that adopted the test mm (x86 takes the per-VMA path only for
 * faults from user mode, so copy_to_user() alone would never reach it).
 * Returns true if the fault was handled under the per-VMA lock.
 */
static bool vt_fault_in(struct vt_worker *w, unsigned long addr, u64 want)
{
	unsigned int flags = FAULT_FLAG_DEFAULT | FAULT_FLAG_WRITE;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;
	vm_fault_t fault;

	vma = ctx->ops->read_vma(mm, addr);
	/* Never fault on a VMA a writer holds: a broken lock is caught here. */
	if (vma && vma_write_locked_now(vma, mm)) {
		vt_violation(ctx, INV_RW_EXCLUSION,
			     "faulter: per-VMA lock taken on write-locked VMA [%lx-%lx), refcnt=%u",
			     vma->vm_start, vma->vm_end, refcount_read(&vma->vm_refcnt));
		ctx->ops->unlock_vma(vma);
		vma = NULL;
	}
	if (vma) {
		fault = handle_mm_fault(vma, addr, flags | FAULT_FLAG_VMA_LOCK, NULL);
		if (!(fault & (VM_FAULT_RETRY | VM_FAULT_COMPLETED))) {
			vt_check_locked_page(w, vma, addr, want);
			ctx->ops->unlock_vma(vma);
		}
		/* Counted as the fault handler counts them, for /proc/vmstat. */
		if (!(fault & VM_FAULT_RETRY)) {
			count_vm_vma_lock_event(VMA_LOCK_SUCCESS);
			return true;
		}
		count_vm_vma_lock_event(VMA_LOCK_RETRY);
	}
	/* Fallback, as the fault handler does: under mmap_lock, no retry. */
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma && (vma->vm_flags & VM_WRITE))
		handle_mm_fault(vma, addr, FAULT_FLAG_WRITE, NULL);
	mmap_read_unlock(mm);
	return false;
}

/*
 * Faulters own every nr-th page of every VMA; they fault it in, write
 * (id, generation) with copy_to_user() and read it back. A VMA's
 * generation is odd while a mapper replaces or splits it: a value is only
 * checked if the generation did not move around the write and the read.
 */
static int vt_faulter(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	u64 round = 0;

	kthread_use_mm(ctx->mm);
	while (!vt_should_stop()) {
		int idx, g1, g2;
		unsigned long addr = vt_random_addr(w, &idx);
		u64 want = (u64)(w->id + 1) << 48 | ++round, got = 0;

		/* Each faulter its own cache line of the page. */
		addr += (w->id % (PAGE_SIZE / SMP_CACHE_BYTES)) * SMP_CACHE_BYTES;
		atomic64_inc(&ctx->stats.reads);
		g1 = atomic_read(&ctx->slots[idx].probed);
		if (vt_fault_in(w, addr, want))
			atomic64_inc(&ctx->stats.read_ok);
		else
			atomic64_inc(&ctx->stats.fallbacks);
		if (copy_to_user((void __user *)addr, &want, sizeof(want)) ||
		    copy_from_user(&got, (void __user *)addr, sizeof(got))) {
			cond_resched();
			continue;	/* unmapped meanwhile */
		}
		/* Pairs with the mapper's barriers around its generation. */
		smp_rmb();
		g2 = atomic_read(&ctx->slots[idx].probed);
		if (g1 == g2 && !(g1 & 1) && got != want)
			vt_violation(ctx, INV_FAULT_DATA,
				     "faulter/%d: VMA %d at %lx holds %#llx after writing %#llx (generation %d)",
				     w->id, idx, addr, got, want, g1);
		cond_resched();
	}
	kthread_unuse_mm(ctx->mm);
	return 0;
}

/*
 * Change a VMA's page tables in place, under mmap_lock and the VMA write
 * lock, as fork does when it write-protects the parent for COW (here: zap
 * them; the VMA object stays). R9 was fork doing it without the VMA lock.
 */
static void vt_zap_in_place(struct vt_worker *w, int idx)
{
	struct mm_struct *mm = w->ctx->mm;
	struct vm_area_struct *vma;

	mmap_write_lock(mm);
	vma = vma_lookup(mm, vt_vma_addr(idx));
	if (vma) {
		w->ctx->ops->write_vma(vma);
		zap_vma_range(vma, vma->vm_start, vma->vm_end - vma->vm_start);
		atomic64_inc(&w->ctx->stats.writes);
	}
	mmap_write_unlock(mm);
}

/*
 * Replace VMAs, split them by unmapping a page and mapping it again, and
 * zap their pages in place.
 */
static int vt_mapper(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;

	kthread_use_mm(ctx->mm);
	while (!vt_should_stop()) {
		int idx = prandom_u32_state(&w->rnd) % vmas;
		atomic_t *gen = &ctx->slots[idx].probed;
		unsigned long page = vt_vma_addr(idx) +
			(1 + prandom_u32_state(&w->rnd) % (VT_VMA_PAGES - 2)) * PAGE_SIZE;

		atomic_inc(gen);
		smp_mb__after_atomic();	/* odd before the mapping changes */
		switch (prandom_u32_state(&w->rnd) % 3) {
		case 0:
			vt_replace(w, idx, prandom_u32_state(&w->rnd) & 1);
			break;
		case 1:
			vt_zap_in_place(w, idx);
			break;
		default:
			vm_munmap(page, PAGE_SIZE);
			if (IS_ERR_VALUE(vm_mmap(NULL, page, PAGE_SIZE, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0)))
				pr_warn_ratelimited("mapper/%d: vm_mmap(%lx) failed\n",
						    w->id, page);
			atomic64_inc(&ctx->stats.replaces);
			break;
		}
		smp_mb__before_atomic();	/* even after it changed */
		atomic_inc(gen);
		usleep_range(100, 200);
	}
	kthread_unuse_mm(ctx->mm);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* reuse: VMAs freed in one mm and reused by another, under RCU readers */

/*
 * The race the vm_mm check is for, forced: the slow reader looks a VMA up
 * under RCU and hands it to churner 0, which frees it (mapping over it in the
 * test mm) and, on the same CPU, maps over the same address in another mm,
 * whose new VMA is usually the object just freed. Only then does the reader
 * take its reference. States of ctx->reuse_state:
 */
enum {
	REUSE_IDLE,		/* no lookup handed over */
	REUSE_LOOKED_UP,	/* ctx->reuse_vma found under RCU, waiting */
	REUSE_REUSING,		/* churner 0 frees and reuses it */
	REUSE_DONE,		/* the reader may go on */
};

/* Longest a slow reader waits, under RCU, for churner 0 to take its lookup. */
#define VT_REUSE_WAIT_US	50000

static void vt_reuse_handoff(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct vm_area_struct *looked_up = READ_ONCE(ctx->reuse_vma), *now;
	struct mm_struct *other = ctx->other_mm[0];
	int idx = READ_ONCE(ctx->reuse_idx);

	/* The free and the allocation on one CPU: its slab sheaf is LIFO. */
	migrate_disable();
	vt_replace(w, idx, false);
	kthread_unuse_mm(ctx->mm);
	kthread_use_mm(other);
	vt_replace(w, idx, false);
	migrate_enable();

	mmap_read_lock(other);
	now = vma_lookup(other, vt_vma_addr(idx));
	mmap_read_unlock(other);
	kthread_unuse_mm(other);
	kthread_use_mm(ctx->mm);

	atomic64_inc(&ctx->stats.handoffs);
	if (now == looked_up)
		atomic64_inc(&ctx->stats.reused);
}

/*
 * Churner 0 replaces VMAs of the test mm and serves the slow reader's
 * handoffs; the others replace VMAs in mms of their own, so that VMAs keep
 * moving between mms through the slab beside the forced handoffs.
 */
static int vt_churner(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = w->id ? ctx->other_mm[w->id] : ctx->mm;

	kthread_use_mm(mm);
	while (!vt_should_stop()) {
		int idx = prandom_u32_state(&w->rnd) % vmas;

		if (!w->id && atomic_cmpxchg(&ctx->reuse_state, REUSE_LOOKED_UP,
					     REUSE_REUSING) == REUSE_LOOKED_UP) {
			vt_reuse_handoff(w);
			atomic_set_release(&ctx->reuse_state, REUSE_DONE);
		} else {
			vt_replace(w, idx, prandom_u32_state(&w->rnd) & 1);
		}
		cond_resched();
	}
	kthread_unuse_mm(mm);
	return 0;
}

/*
 * Under RCU, wait for churner 0 to free and reuse ctx->reuse_vma. If it does
 * not take the handoff in time, take it back; once taken, it always ends.
 */
static void vt_reuse_wait(struct vt_ctx *ctx)
{
	int us;

	for (us = 0; us < VT_REUSE_WAIT_US && !vt_should_stop(); us += 5) {
		if (atomic_read_acquire(&ctx->reuse_state) == REUSE_DONE)
			return;
		udelay(5);
	}
	if (atomic_cmpxchg(&ctx->reuse_state, REUSE_LOOKED_UP, REUSE_IDLE) == REUSE_LOOKED_UP)
		return;
	while (atomic_read_acquire(&ctx->reuse_state) != REUSE_DONE)
		udelay(5);
}

/*
 * vma_start_read()'s steps with the handoff between the tree walk and the
 * increment. It counts the VMAs of another mm it met (the race the vm_mm
 * check is for) and backs off as the kernel does; under reader_no_mm_check
 * it follows that variant and keeps the VMA as its own.
 */
static int vt_slow_reader(void *arg)
{
	struct vt_worker *w = arg;
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;

	while (!vt_should_stop()) {
		int idx = prandom_u32_state(&w->rnd) % vmas;
		unsigned long addr = vt_vma_addr(idx);
		struct vm_area_struct *vma;

		rcu_read_lock();
		vma = vt_lookup_rcu(mm, addr);
		if (vma) {
			WRITE_ONCE(ctx->reuse_vma, vma);
			WRITE_ONCE(ctx->reuse_idx, idx);
			atomic_set_release(&ctx->reuse_state, REUSE_LOOKED_UP);
			vt_reuse_wait(ctx);
			atomic_set(&ctx->reuse_state, REUSE_IDLE);
		}
		if (vma && vt_ref_get(vma, VM_REFCNT_LIMIT)) {
			if (vma->vm_mm != mm) {
				atomic64_inc(&ctx->stats.foreign);
				if ((ctx->ops->omit & VT_NO_MM_CHECK) &&
				    addr >= vma->vm_start && addr < vma->vm_end)
					vt_check_right_vma(w, vma, addr);
			}
			vt_ref_put(vma);
		}
		rcu_read_unlock();
		cond_resched();
	}
	return 0;
}

static const struct vt_scenario vt_scenarios[NR_SCNS] = {
	[SCN_RW_EXCLUSION] = {
		.name = "rw_exclusion",
		.desc = "readers against writers; no reader inside a write-locked VMA",
		.roles = { { vt_reader, "rd", &readers }, { vt_rw_writer, "wr", &writers } },
	},
	[SCN_DETACH_FREE] = {
		.name = "detach_free",
		.desc = "readers against detach, munmap and replacement; no reader at free",
		.roles = { { vt_reader, "rd", &readers }, { vt_detacher, "dt", &detachers },
			   { vt_straggler, "st" } },
		.needs_free_probe = true,
	},
	[SCN_BULK_RELEASE] = {
		.name = "bulk_release",
		.desc = "all VMAs write-locked; readers fail until unlock/downgrade, then succeed",
		.roles = { { vt_bulk_reader, "rd", &readers }, { vt_bulk_writer, "wr" } },
	},
	[SCN_DOWNGRADE] = {
		.name = "downgrade",
		.desc = "mmap_write_downgrade() mid-section releases all VMAs while read-held",
		.roles = { { vt_bulk_reader, "rd", &readers }, { vt_bulk_writer, "wr" } },
		.downgrade_only = true,
	},
	[SCN_SPECULATE] = {
		.name = "speculate",
		.desc = "lockless readers (mmap_lock_speculate_*) see one state or retry",
		.roles = { { vt_spec_reader, "sp", &readers }, { vt_spec_writer, "wr", &writers } },
	},
	[SCN_REFCOUNT_LIMIT] = {
		.name = "refcount_limit",
		.desc = "readers at VM_REFCNT_LIMIT fail cleanly; a writer still gets in",
		.roles = { { vt_limit_reader, "rd", &readers }, { vt_limit_writer, "wr" },
			   { vt_crowd, "crowd" } },
	},
	[SCN_KILLABLE_WRITER] = {
		.name = "killable_writer",
		.desc = "killed vma_start_write_killable(): -EINTR, count restored",
		.roles = { { vt_reader, "rd", &readers }, { vt_holder, "hold" },
			   { vt_killable_writer, "kw" }, { vt_killer, "kill" } },
	},
	[SCN_FAULT_PATH] = {
		.name = "fault_path",
		.desc = "faults under the per-VMA lock while VMAs are replaced and split",
		.roles = { { vt_faulter, "flt", &readers }, { vt_mapper, "map", &writers } },
	},
	[SCN_REUSE] = {
		.name = "reuse",
		.desc = "VMAs freed and reused by other mms; readers only get their own",
		.roles = { { vt_reader, "rd", &readers },
			   { vt_churner, "churn", &vt_reuse_churners },
			   { vt_slow_reader, "slow" } },
	},
	[SCN_WATCH] = {
		.name = "watch",
		.desc = "only the vm_area_free() monitor, watching a user-space stressor",
		.needs_free_probe = true,
		.not_in_all = true,
	},
};

/* ---------------------------------------------------------------------- */
/* Scenario driver */

static int vt_map_vmas(struct vt_ctx *ctx)
{
	int i;

	for (i = 0; i < vmas; i++) {
		unsigned long ret = vm_mmap(NULL, vt_vma_addr(i), VT_VMA_PAGES * PAGE_SIZE,
					    PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);

		if (IS_ERR_VALUE(ret))
			return (int)ret;
	}
	return 0;
}

static struct mm_struct *vt_mm_create(void)
{
	struct mm_struct *mm = mm_alloc();

	if (!mm)
		return NULL;
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	return mm;
}

static int vt_spawn(struct vt_ctx *ctx, int (*fn)(void *), const char *role, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct vt_worker *w = &ctx->workers[ctx->nr_workers];
		struct task_struct *t;

		w->ctx = ctx;
		w->id = i;
		w->slot = ctx->nr_workers;
		prandom_seed_state(&w->rnd, vt_run_seed + ctx->nr_workers * 7919 + ctx->scn);
		t = kthread_create(fn, w, "vmalock_%s/%d", role, i);
		if (IS_ERR(t))
			return PTR_ERR(t);
		get_task_struct(t);
		w->task = t;
		ctx->nr_workers++;
		wake_up_process(t);
	}
	return 0;
}

static void vt_stop_workers(struct vt_ctx *ctx)
{
	int i;

	/* Last spawned first: helpers (killer, crowd) go before those they act on. */
	for (i = ctx->nr_workers - 1; i >= 0; i--) {
		kthread_stop(ctx->workers[i].task);
		put_task_struct(ctx->workers[i].task);
	}
	ctx->nr_workers = 0;
}

/* Merge the free monitor's counts, and its first violation if it came first. */
static void vt_merge_monitor(struct vt_ctx *ctx)
{
	struct vm_free_monitor *m = &ctx->mon;
	struct vt_result *r = &ctx->res;
	char first[sizeof(r->first)];
	u64 ms;

	r->frees = atomic64_read(&m->frees);
	atomic64_add(atomic64_read(&m->reader_at_free), &ctx->inv_count[INV_READER_AT_FREE]);
	atomic64_add(atomic64_read(&m->refcount_at_free), &ctx->inv_count[INV_REFCOUNT_AT_FREE]);
	if (!vm_free_monitor_first(m, first, sizeof(first)))
		return;
	ms = div_u64(m->ns - ctx->start_ns, NSEC_PER_MSEC);
	if (r->first[0] && r->detected_ms <= ms)
		return;
	r->detected_ms = ms;
	strscpy(r->first, first);
	pr_err("violation in %s: %s\n", vt_scenarios[ctx->scn].name, first);
}

static void vt_snapshot(struct vt_ctx *ctx)
{
	struct vt_result *r = &ctx->res;
	int i;

	r->reads = atomic64_read(&ctx->stats.reads);
	r->read_ok = atomic64_read(&ctx->stats.read_ok);
	r->fallbacks = atomic64_read(&ctx->stats.fallbacks);
	r->writes = atomic64_read(&ctx->stats.writes);
	r->detaches = atomic64_read(&ctx->stats.detaches);
	r->replaces = atomic64_read(&ctx->stats.replaces);
	r->rounds = atomic64_read(&ctx->stats.rounds);
	r->stragglers = atomic64_read(&ctx->stats.stragglers);
	r->limit_hits = atomic64_read(&ctx->stats.limit_hits);
	r->killed = atomic64_read(&ctx->killed);
	r->foreign = atomic64_read(&ctx->stats.foreign);
	r->handoffs = atomic64_read(&ctx->stats.handoffs);
	r->locked_checks = atomic64_read(&ctx->stats.locked_checks);
	r->reused = atomic64_read(&ctx->stats.reused);
	r->max_wait_us = atomic64_read(&ctx->stats.max_wait_us);
	for (i = 0; i < NR_INVS; i++)
		r->inv_count[i] = atomic64_read(&ctx->inv_count[i]);
}

/* The vma_lock_* events of /proc/vmstat, summed over CPUs, into @out[4]. */
static bool vt_vma_lock_events(s64 *out)
{
#ifdef CONFIG_PER_VMA_LOCK_STATS
	static const int items[4] = {
		VMA_LOCK_SUCCESS, VMA_LOCK_ABORT, VMA_LOCK_RETRY, VMA_LOCK_MISS
	};
	unsigned long *ev = kcalloc(NR_VM_EVENT_ITEMS, sizeof(*ev), GFP_KERNEL);
	int i;

	if (!ev)
		return false;
	all_vm_events(ev);
	for (i = 0; i < 4; i++)
		out[i] = ev[items[i]];
	kfree(ev);
	return true;
#else
	return false;
#endif
}

/* What the scenario has not reached yet, or NULL. */
static const char *vt_coverage_missing(struct vt_ctx *ctx)
{
	switch (ctx->scn) {
	case SCN_SPECULATE:
		return atomic64_read(&ctx->stats.read_ok) ? NULL :
		       "no speculative read was accepted by retry()";
	case SCN_REFCOUNT_LIMIT:
		return atomic64_read(&ctx->stats.limit_hits) ? NULL :
		       "readers never met VM_REFCNT_LIMIT";
	case SCN_KILLABLE_WRITER:
		return atomic64_read(&ctx->killed) ? NULL :
		       "no vma_start_write_killable() was interrupted";
	case SCN_FAULT_PATH:
		return atomic64_read(&ctx->stats.read_ok) ? NULL :
		       "every fault fell back to mmap_lock: the per-VMA path was not tested";
	case SCN_REUSE:
		return atomic64_read(&ctx->stats.foreign) ? NULL :
		       "no lookup met a VMA reused by another mm";
	case SCN_WATCH:
		return atomic64_read(&ctx->mon.frees) ? NULL : "no VMA was freed while watching";
	case SCN_DETACH_FREE:
		return atomic64_read(&ctx->stats.stragglers) ? NULL :
		       "no transient reader met a detach";
	default:
		return NULL;
	}
}

/*
 * Run for duration_ms; a scenario that has not yet reached the state it is
 * about (a race, such as reuse, may take a while) gets up to three more.
 */
static void vt_wait_run(struct vt_ctx *ctx)
{
	unsigned long end = jiffies + msecs_to_jiffies(4 * duration_ms);

	wait_event_timeout(vt_wq, READ_ONCE(vt_stop), msecs_to_jiffies(duration_ms));
	while (!READ_ONCE(vt_stop) && vt_coverage_missing(ctx) && time_before(jiffies, end))
		wait_event_timeout(vt_wq, READ_ONCE(vt_stop), msecs_to_jiffies(50));
}

/* A run that never reached the state it is about did not test it: say so. */
static void vt_check_coverage(struct vt_ctx *ctx)
{
	const char *missing = vt_coverage_missing(ctx);

	if (missing)
		vt_violation(ctx, INV_COVERAGE, "%s", missing);
}

static void vt_skip(struct vt_result *r, const char *why, int err)
{
	r->skipped = true;
	scnprintf(r->skip_reason, sizeof(r->skip_reason), "%s (%d)", why, err);
	pr_warn("%s: skipped: %s\n", vt_scenarios[r->scn].name, r->skip_reason);
}

static void vt_run_scenario(enum vt_scn scn, struct vt_result *out)
{
	const struct vt_scenario *s = &vt_scenarios[scn];
	const struct vt_role *r;
	struct vt_ctx *ctx;
	bool probed = false;
	int err, i;

	memset(out, 0, sizeof(*out));
	out->scn = scn;
	ctx = kzalloc_obj(*ctx);
	if (!ctx) {
		vt_skip(out, "out of memory", -ENOMEM);
		return;
	}
	ctx->res.scn = scn;
	ctx->scn = scn;
	vt_effective_ops(vt_run_ops, &ctx->eff_ops);
	ctx->ops = &ctx->eff_ops;
	spin_lock_init(&ctx->vlock);
	atomic_set(&ctx->hot_vma, -1);
	ctx->slots = kcalloc(vmas, sizeof(*ctx->slots), GFP_KERNEL);
	ctx->mm = vt_mm_create();
	for (i = 0; scn == SCN_REUSE && i < ARRAY_SIZE(ctx->other_mm); i++)
		ctx->other_mm[i] = vt_mm_create();
	if (!ctx->slots || !ctx->mm ||
	    (scn == SCN_REUSE && (!ctx->other_mm[0] || !ctx->other_mm[1]))) {
		vt_skip(&ctx->res, "out of memory", -ENOMEM);
		goto out_free;
	}

	kthread_use_mm(ctx->mm);
	err = vt_map_vmas(ctx);
	if (err) {
		vt_skip(&ctx->res, "vm_mmap of the test VMAs failed", err);
		goto out_mm;
	}

	vt_cur_name = s->name;
	if (s->needs_free_probe) {
		ctx->mon.held = ctx->held;
		ctx->mon.nr_held = VT_MAX_THREADS;
		err = vm_free_monitor_start(&ctx->mon);
		if (err) {
			vt_skip(&ctx->res, "cannot kprobe vm_area_free (CONFIG_KPROBES?)", err);
			goto out_mm;
		}
		probed = true;
	}
	ctx->downgrade_only = s->downgrade_only;
	ctx->spec_check = ~0UL;		/* round 0: nothing written yet */
	if (scn == SCN_FAULT_PATH)
		ctx->res.has_vmstat = vt_vma_lock_events(ctx->res.vmstat);
	ctx->start_ns = ktime_get_ns();
	mutex_lock(&vt_mutex);
	WRITE_ONCE(vt_cur, ctx);
	mutex_unlock(&vt_mutex);
	for (err = 0, r = s->roles; r < s->roles + ARRAY_SIZE(s->roles) && r->fn && !err; r++)
		err = vt_spawn(ctx, r->fn, r->name, r->count ? *r->count : 1);
	if (err) {
		vt_skip(&ctx->res, "kthread_create failed", err);
	} else {
		if (verbose >= 2)
			pr_info("%s: %d threads, %d VMAs, ops %s\n",
				s->name, ctx->nr_workers, vmas, ctx->ops->name);
		vt_wait_run(ctx);
	}
	vt_stop_workers(ctx);
	ctx->res.time_ms = div_u64(ktime_get_ns() - ctx->start_ns, NSEC_PER_MSEC);
	if (ctx->res.has_vmstat) {
		s64 now[4];

		ctx->res.has_vmstat = vt_vma_lock_events(now);
		for (i = 0; i < 4; i++)
			ctx->res.vmstat[i] = now[i] - ctx->res.vmstat[i];
	}
	if (!err)
		vt_check_coverage(ctx);
	if (probed)
		vm_free_monitor_stop(&ctx->mon);
	mutex_lock(&vt_mutex);		/* the status file reads vt_cur under it */
	WRITE_ONCE(vt_cur, NULL);
	mutex_unlock(&vt_mutex);
	vt_snapshot(ctx);
	if (probed)
		vt_merge_monitor(ctx);
out_mm:
	kthread_unuse_mm(ctx->mm);
out_free:
	if (ctx->mm)
		mmput(ctx->mm);	/* last user: exit_mmap() frees every VMA */
	for (i = 0; i < ARRAY_SIZE(ctx->other_mm); i++)
		if (ctx->other_mm[i])
			mmput(ctx->other_mm[i]);
	*out = ctx->res;
	kfree(ctx->slots);
	kfree(ctx);
}

/* ---------------------------------------------------------------------- */
/* Results as KTAP */

#define VT_RESULTS_SIZE	(32 * 1024)

static u64 vt_violations(const struct vt_result *r)
{
	u64 n = 0;
	int i;

	for (i = 0; i < NR_INVS; i++)
		n += r->inv_count[i];
	return n;
}

static size_t vt_format_result(char *buf, size_t size, int num, const struct vt_result *r)
{
	const char *name = vt_scenarios[r->scn].name;
	u64 ops = r->reads + r->writes + r->detaches + r->replaces;
	u64 v = vt_violations(r);
	size_t len = 0;
	int i;

	if (r->skipped)
		return scnprintf(buf, size, "ok %d %s # SKIP %s\n", num, name, r->skip_reason);
	len += scnprintf(buf + len, size - len,
			 "# %s: ops=%llu successes=%lld fallbacks=%lld violations=%llu time_ms=%llu ops_per_s=%llu",
			 name, ops, r->read_ok, r->fallbacks, v, r->time_ms,
			 div64_u64(ops * 1000, max_t(u64, r->time_ms, 1)));
	if (v)
		len += scnprintf(buf + len, size - len, " detected_ms=%llu", r->detected_ms);
	len += scnprintf(buf + len, size - len,
			 "\n# %s: reads=%lld writes=%lld detaches=%lld replaces=%lld frees_seen=%lld rounds=%lld stragglers=%lld limit_hits=%lld killed=%lld foreign_vmas=%lld handoffs=%lld reused=%lld max_write_wait_us=%lld\n",
			 name, r->reads, r->writes, r->detaches, r->replaces, r->frees,
			 r->rounds, r->stragglers, r->limit_hits, r->killed,
			 r->foreign, r->handoffs, r->reused, r->max_wait_us);
	if (r->has_vmstat) {
		s64 all = max_t(s64, r->vmstat[0] + r->vmstat[1] + r->vmstat[2], 1);

		len += scnprintf(buf + len, size - len,
				 "# %s: vmstat vma_lock_success=%lld vma_lock_abort=%lld vma_lock_retry=%lld vma_lock_miss=%lld per_vma_percent=%lld locked_page_checks=%lld\n",
				 name, r->vmstat[0], r->vmstat[1], r->vmstat[2], r->vmstat[3],
				 div64_s64(r->vmstat[0] * 100, all), r->locked_checks);
	}
	for (i = 0; i < NR_INVS; i++)
		if (r->inv_count[i])
			len += scnprintf(buf + len, size - len,
					 "# %s: invariant %s violated %llu times\n",
					 name, vt_inv_names[i], r->inv_count[i]);
	if (v)
		len += scnprintf(buf + len, size - len, "# %s: first violation: %s\n",
				 name, r->first);
	len += scnprintf(buf + len, size - len, "%s %d %s\n", v ? "not ok" : "ok", num, name);
	return len;
}

static int vt_controller_fn(void *unused)
{
	struct vt_result *res;
	size_t len = 0;
	int num = 0, n = hweight_long(vt_run_mask);
	char *buf;
	int i;

	buf = kzalloc(VT_RESULTS_SIZE, GFP_KERNEL);
	res = kzalloc_obj(*res);
	if (!buf || !res)
		goto out;
	len += scnprintf(buf + len, VT_RESULTS_SIZE - len,
			 "KTAP version 1\n# vmalock_test: kernel=%s broken=%s duration_ms=%d seed=%llu readers=%d writers=%d detachers=%d vmas=%d hold_us=%d\n1..%d\n",
			 init_utsname()->release, vt_run_ops->name, duration_ms, vt_run_seed,
			 readers, writers, detachers, vmas, hold_us, n);
	for (i = 0; i < NR_SCNS; i++) {
		if (!(vt_run_mask & BIT(i)))
			continue;
		if (READ_ONCE(vt_stop)) {
			memset(res, 0, sizeof(*res));
			res->scn = i;
			res->skipped = true;
			strscpy(res->skip_reason, "run stopped before this scenario");
		} else {
			vt_run_scenario(i, res);
		}
		len += vt_format_result(buf + len, VT_RESULTS_SIZE - len, ++num, res);
		if (verbose >= 2)
			pr_info("%s done\n", vt_scenarios[i].name);
	}
out:
	mutex_lock(&vt_mutex);
	kfree(vt_results);
	vt_results = buf;
	vt_results_len = len;
	vt_running = false;
	vt_cur_name = "";
	mutex_unlock(&vt_mutex);
	kfree(res);
	complete_all(&vt_done);
	return 0;
}

static void vt_pr_unknown_broken(const char *name)
{
	char list[256];
	int i, len = 0;

	for (i = 0; i < ARRAY_SIZE(vt_ops_table); i++)
		len += scnprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
				 vt_ops_table[i].name);
	pr_err("broken=%s unknown; allowed: %s\n", name, list);
}

/* Parse "all" or "a,b,c" into a scenario mask for @ops. */
static int vt_parse_run(const char *spec, const struct vt_lock_ops *ops, unsigned long *mask)
{
	char *dup, *p, *tok;
	int i, err = 0;

	*mask = 0;
	if (sysfs_streq(spec, "all")) {
		*mask = ops->targets;
		for (i = 0; !ops->targets && i < NR_SCNS; i++)
			if (!vt_scenarios[i].not_in_all)
				*mask |= BIT(i);
		return 0;
	}
	dup = kstrdup(spec, GFP_KERNEL);
	if (!dup)
		return -ENOMEM;
	p = strim(dup);
	while ((tok = strsep(&p, ",")) && !err) {
		tok = strim(tok);
		if (!*tok)
			continue;
		for (i = 0; i < NR_SCNS; i++)
			if (!strcmp(tok, vt_scenarios[i].name))
				break;
		if (i == NR_SCNS) {
			char list[256];
			int j, len = 0;

			for (j = 0; j < NR_SCNS; j++)
				len += scnprintf(list + len, sizeof(list) - len, ", %s",
						 vt_scenarios[j].name);
			pr_err("unknown scenario '%s'; allowed: all%s\n", tok, list);
			err = -EINVAL;
		} else if (ops->targets && !(ops->targets & BIT(i))) {
			char list[128] = "";
			int j, len = 0;

			for (j = 0; j < NR_SCNS; j++)
				if (ops->targets & BIT(j))
					len += scnprintf(list + len, sizeof(list) - len, " %s",
							 vt_scenarios[j].name);
			pr_err("broken variant %s is not caught by %s; it applies to:%s\n",
			       ops->name, tok, list);
			err = -EINVAL;
		} else {
			*mask |= BIT(i);
		}
	}
	kfree(dup);
	if (!err && !*mask) {
		pr_err("no scenario given; write all or a comma-separated list\n");
		err = -EINVAL;
	}
	return err;
}

/*
 * The controller completes vt_done just before it returns; wait for it to be
 * gone before its code may be unloaded or a new one is started.
 */
static void vt_reap_controller(void)
{
	if (!vt_controller)
		return;
	kthread_stop(vt_controller);
	put_task_struct(vt_controller);
	vt_controller = NULL;
}

static int vt_start(const char *spec)
{
	const struct vt_lock_ops *ops;
	unsigned long mask;
	int err;

	mutex_lock(&vt_mutex);
	if (vt_running) {
		pr_err("a run is in progress; wait for it or write 1 to stop\n");
		err = -EBUSY;
		goto out;
	}
	ops = vt_find_ops(broken);
	if (!ops) {
		pr_err("unknown broken variant '%s'\n", broken);
		err = -EINVAL;
		goto out;
	}
	err = vt_parse_run(spec, ops, &mask);
	if (err)
		goto out;
	vt_run_ops = ops;
	vt_run_mask = mask;
	vt_run_seed = seed ?: get_random_u64();
	vt_stop = false;
	vt_reap_controller();
	reinit_completion(&vt_done);
	vt_controller = kthread_create(vt_controller_fn, NULL, "vmalock_ctl");
	if (IS_ERR(vt_controller)) {
		err = PTR_ERR(vt_controller);
		vt_controller = NULL;
		complete_all(&vt_done);
		goto out;
	}
	get_task_struct(vt_controller);
	vt_running = true;
	wake_up_process(vt_controller);
out:
	mutex_unlock(&vt_mutex);
	return err;
}

static void vt_request_stop(void)
{
	WRITE_ONCE(vt_stop, true);
	wake_up_all(&vt_wq);
}

/* ---------------------------------------------------------------------- */
/* debugfs */

static struct dentry *vt_dir;

static ssize_t vt_copy_cmd(const char __user *ubuf, size_t count, char *buf, size_t size)
{
	if (count >= size) {
		pr_err("input too long (at most %zu bytes)\n", size - 1);
		return -EINVAL;
	}
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	return 0;
}

static ssize_t vt_run_write(struct file *file, const char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	char buf[256];
	ssize_t err = vt_copy_cmd(ubuf, count, buf, sizeof(buf));

	if (err)
		return err;
	err = vt_start(buf);
	if (err)
		return err;
	/* Block until done so that a shell can simply wait for the echo. */
	if (wait_for_completion_interruptible(&vt_done)) {
		vt_request_stop();
		wait_for_completion(&vt_done);
		return -EINTR;
	}
	return count;
}

static const struct file_operations vt_run_fops = {
	.owner = THIS_MODULE,
	.write = vt_run_write,
};

static ssize_t vt_stop_write(struct file *file, const char __user *ubuf, size_t count,
			     loff_t *ppos)
{
	bool val;
	int err = kstrtobool_from_user(ubuf, count, &val);

	if (err || !val) {
		pr_err("stop: write 1 to stop the run in progress\n");
		return -EINVAL;
	}
	vt_request_stop();
	return count;
}

static const struct file_operations vt_stop_fops = {
	.owner = THIS_MODULE,
	.write = vt_stop_write,
};

static int vt_scenarios_show(struct seq_file *m, void *v)
{
	int i;

	seq_puts(m, "scenarios (write all or a comma-separated list to run):\n");
	for (i = 0; i < NR_SCNS; i++)
		seq_printf(m, "  %-14s %s\n", vt_scenarios[i].name, vt_scenarios[i].desc);
	seq_puts(m, "broken variants (set broken=NAME in params; must be reported as FAIL):\n");
	for (i = 0; i < ARRAY_SIZE(vt_ops_table); i++) {
		const struct vt_lock_ops *o = &vt_ops_table[i];
		int j;

		seq_printf(m, "  %-18s %s", o->name, o->desc);
		if (o->targets) {
			seq_puts(m, "; caught by:");
			for (j = 0; j < NR_SCNS; j++)
				if (o->targets & BIT(j))
					seq_printf(m, " %s", vt_scenarios[j].name);
		}
		seq_putc(m, '\n');
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vt_scenarios);

static int vt_params_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vt_params); i++)
		seq_printf(m, "%s=%d\n", vt_params[i].name, *vt_params[i].val);
	seq_printf(m, "seed=%lu\nbroken=%s\n", seed, broken);
	return 0;
}

static int vt_set_param(char *key, char *val)
{
	int i, v;

	for (i = 0; i < ARRAY_SIZE(vt_params); i++) {
		const struct vt_param *p = &vt_params[i];

		if (strcmp(key, p->name))
			continue;
		if (kstrtoint(val, 0, &v) || v < p->min || v > p->max) {
			pr_err("%s=%s out of range; allowed %d..%d\n", key, val, p->min, p->max);
			return -EINVAL;
		}
		*p->val = v;
		return 0;
	}
	if (!strcmp(key, "seed")) {
		if (kstrtoul(val, 0, &seed)) {
			pr_err("seed=%s is not a number\n", val);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "broken")) {
		if (!vt_find_ops(val)) {
			vt_pr_unknown_broken(val);
			return -EINVAL;
		}
		strscpy(broken, val, sizeof(broken));
		return 0;
	}
	pr_err("unknown parameter '%s'; allowed: readers writers detachers vmas duration_ms hold_us writer_timeout_ms release_timeout_ms verbose seed broken\n",
	       key);
	return -EINVAL;
}

/* "key=value key=value ..." ; all or nothing. */
static ssize_t vt_params_write(struct file *file, const char __user *ubuf, size_t count,
			       loff_t *ppos)
{
	int saved[ARRAY_SIZE(vt_params)], i;
	char saved_broken[sizeof(broken)];
	ulong saved_seed = seed;
	char buf[256], *p, *tok;
	ssize_t err = vt_copy_cmd(ubuf, count, buf, sizeof(buf));

	if (err)
		return err;
	mutex_lock(&vt_mutex);
	if (vt_running) {
		pr_err("params: a run is in progress; parameters are fixed until it ends\n");
		err = -EBUSY;
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(vt_params); i++)
		saved[i] = *vt_params[i].val;
	strscpy(saved_broken, broken, sizeof(broken));
	p = buf;
	while ((tok = strsep(&p, " \t\n")) && !err) {
		char *val;

		if (!*tok)
			continue;
		val = strchr(tok, '=');
		if (!val) {
			pr_err("params: '%s' is not key=value\n", tok);
			err = -EINVAL;
			break;
		}
		*val++ = '\0';
		err = vt_set_param(tok, val);
	}
	if (err) {
		for (i = 0; i < ARRAY_SIZE(vt_params); i++)
			*vt_params[i].val = saved[i];
		strscpy(broken, saved_broken, sizeof(broken));
		seed = saved_seed;
	}
out:
	mutex_unlock(&vt_mutex);
	return err ?: count;
}

static int vt_params_open(struct inode *inode, struct file *file)
{
	return single_open(file, vt_params_show, NULL);
}

static const struct file_operations vt_params_fops = {
	.owner = THIS_MODULE,
	.open = vt_params_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = vt_params_write,
};

static int vt_status_show(struct seq_file *m, void *v)
{
	struct vt_ctx *ctx;

	mutex_lock(&vt_mutex);
	seq_printf(m, "%s\n", vt_running ? "running" : vt_results ? "done" : "idle");
	if (vt_running)
		seq_printf(m, "scenario=%s broken=%s seed=%llu\n", vt_cur_name,
			   vt_run_ops->name, vt_run_seed);
	/* vt_cur lives until the controller clears it, under the scenario. */
	ctx = READ_ONCE(vt_cur);
	if (vt_running && ctx) {
		int i;

		seq_printf(m, "reads=%lld read_ok=%lld fallbacks=%lld writes=%lld detaches=%lld replaces=%lld frees_seen=%lld rounds=%lld\n",
			   atomic64_read(&ctx->stats.reads), atomic64_read(&ctx->stats.read_ok),
			   atomic64_read(&ctx->stats.fallbacks), atomic64_read(&ctx->stats.writes),
			   atomic64_read(&ctx->stats.detaches), atomic64_read(&ctx->stats.replaces),
			   atomic64_read(&ctx->mon.frees), atomic64_read(&ctx->stats.rounds));
		for (i = 0; i < NR_INVS; i++)
			seq_printf(m, "%s=%lld\n", vt_inv_names[i],
				   atomic64_read(&ctx->inv_count[i]));
	}
	mutex_unlock(&vt_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vt_status);

static int vt_results_show(struct seq_file *m, void *v)
{
	mutex_lock(&vt_mutex);
	if (vt_running)
		seq_puts(m, "# a run is in progress\n");
	else if (vt_results)
		seq_write(m, vt_results, vt_results_len);
	else
		seq_puts(m, "# no run yet\n");
	mutex_unlock(&vt_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vt_results);

static int __init vt_init(void)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(vt_params); i++) {
		const struct vt_param *p = &vt_params[i];

		if (*p->val < p->min || *p->val > p->max) {
			pr_err("%s=%d out of range; allowed %d..%d\n", p->name, *p->val,
			       p->min, p->max);
			return -EINVAL;
		}
	}
	if (!vt_find_ops(broken)) {
		vt_pr_unknown_broken(broken);
		return -EINVAL;
	}
	complete_all(&vt_done);	/* no run yet: nothing to wait for */

	vt_dir = debugfs_create_dir("vmalock_test", NULL);
	debugfs_create_file("scenarios", 0444, vt_dir, NULL, &vt_scenarios_fops);
	debugfs_create_file("params", 0644, vt_dir, NULL, &vt_params_fops);
	debugfs_create_file("run", 0200, vt_dir, NULL, &vt_run_fops);
	debugfs_create_file("stop", 0200, vt_dir, NULL, &vt_stop_fops);
	debugfs_create_file("status", 0444, vt_dir, NULL, &vt_status_fops);
	debugfs_create_file("results", 0444, vt_dir, NULL, &vt_results_fops);

	if (run[0]) {
		err = vt_start(run);
		if (err) {
			debugfs_remove_recursive(vt_dir);
			return err;
		}
	}
	return 0;
}

static void __exit vt_exit(void)
{
	vt_request_stop();
	debugfs_remove_recursive(vt_dir);
	/* The controller stops every worker and frees the run before completing. */
	wait_for_completion(&vt_done);
	vt_reap_controller();
	kfree(vt_results);
}

#else /* !CONFIG_PER_VMA_LOCK */

static int __init vt_init(void)
{
	pr_err("this kernel has no CONFIG_PER_VMA_LOCK; nothing to test (needs an SMP MMU kernel on an architecture that selects ARCH_SUPPORTS_PER_VMA_LOCK)\n");
	return -EINVAL;
}

static void __exit vt_exit(void)
{
}

#endif /* CONFIG_PER_VMA_LOCK */

module_init(vt_init);
module_exit(vt_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Stress test and invariant checker for the per-VMA lock");
