// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_test: the scenarios. Each is a set of worker roles, whose step
 * functions the harness calls in a loop from kthreads, plus optional hooks;
 * the checks the roles make while they run are the invariants of
 * Documentation/vmalock-test/protocol.rst. Every lock operation goes through
 * ctx->ops (vmalock_ops.c), so that a broken variant reaches every role.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/rcuwait.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "vmalock_core.h"

/* ---------------------------------------------------------------------- */
/* Checks and steps several scenarios share */

static void vt_hold(void)
{
	if (vt_cxt.p.hold_us)
		udelay(vt_cxt.p.hold_us);
}

static unsigned long vt_random_addr(struct vt_worker *w, int *idx)
{
	int i = prandom_u32_state(&w->rnd) % vt_cxt.p.vmas;
	unsigned long off = (prandom_u32_state(&w->rnd) % VT_VMA_PAGES) * PAGE_SIZE;

	if (idx)
		*idx = i;
	return vt_vma_addr(i) + off;
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

/* Checks a reader makes while it holds @vma read-locked (invariants 3, 8). */
static void vt_check_held(struct vt_worker *w, struct vm_area_struct *vma, const char *when)
{
	struct vt_ctx *ctx = w->ctx;
	unsigned int cnt = refcount_read(&vma->vm_refcnt);
	int idx = vt_vma_index(vma);

	if (vma_write_locked_now(vma, ctx->mm))
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

/* Invariant 9: the VMA returned is the test mm's and holds @addr. */
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
	vt_count(ctx, STAT_FALLBACKS);
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

	vt_count(ctx, STAT_READS);
	vma = ctx->ops->read_vma(ctx->mm, addr);
	if (!vma) {
		vt_fallback(ctx, addr);
		return false;
	}
	vt_count(ctx, STAT_READ_OK);
	WRITE_ONCE(ctx->held[w->slot], vma);
	/* Publish before checking; pairs with the free monitor's smp_mb(). */
	smp_mb();
	idx = vt_vma_index(vma);
	if (idx >= 0)
		atomic_inc(&ctx->slots[idx].readers_in);
	/* Count ourselves in before looking at writer_in; pairs with vt_write_enter(). */
	smp_mb();
	if (vt_check_right_vma(w, vma, addr)) {
		vt_check_held(w, vma, "on entry");
		vt_hold();
		vt_check_held(w, vma, "on exit");
	}
	if (idx >= 0)
		atomic_dec(&ctx->slots[idx].readers_in);
	WRITE_ONCE(ctx->held[w->slot], NULL);
	/* Unpublish before the reference goes. */
	smp_mb();
	ctx->ops->unlock_vma(vma);
	return true;
}

/* Write-lock @vma through the ops and check the writer's view (3, 12). */
static void vt_write_enter(struct vt_worker *w, struct vm_area_struct *vma)
{
	struct vt_ctx *ctx = w->ctx;
	int idx = vt_vma_index(vma);
	u64 t0 = ktime_get_ns(), us;
	int inside;

	/* A wait that never ends is the controller's to report (vt_check_writers()). */
	atomic_set(&w->write_said, 0);
	w->write_idx = idx;
	WRITE_ONCE(w->write_since, t0);
	ctx->ops->write_vma(vma);
	WRITE_ONCE(w->write_since, 0);
	us = div_u64(ktime_get_ns() - t0, NSEC_PER_USEC);
	vt_count(ctx, STAT_WRITES);
	vt_stat_max(ctx, STAT_MAX_WAIT_US, us);
	if (us > (u64)vt_cxt.p.writer_timeout_ms * USEC_PER_MSEC && !atomic_xchg(&w->write_said, 1))
		vt_violation(ctx, INV_WRITER_PROGRESS,
			     "writer/%d waited %llu ms in vma_start_write() on VMA %d (bound %d ms)",
			     w->id, div_u64(us, USEC_PER_MSEC), idx, vt_cxt.p.writer_timeout_ms);
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

	for (i = 0; i < vt_cxt.p.vmas; i++)
		atomic_set(&ctx->slots[i].writer_in, 0);
	/* Marks are clear before the lock is released. */
	smp_mb();
}

/* Invariant 6, the writer's half: mm_lock_seq is odd under mmap_write_lock(). */
static void vt_check_seq_odd(struct vt_worker *w)
{
	unsigned int seq = READ_ONCE(w->ctx->mm->mm_lock_seq.sequence);

	if (!(seq & 1))
		vt_violation(w->ctx, INV_SEQ_PARITY,
			     "writer/%d: mm_lock_seq=%u after mmap_write_lock(), expected odd",
			     w->id, seq);
}

/* munmap then mmap (@unmap_first), or mmap MAP_FIXED over the old VMA. */
static void vt_replace(struct vt_worker *w, int idx, bool unmap_first)
{
	unsigned long addr = vt_vma_addr(idx), ret;
	unsigned long len = VT_VMA_PAGES * PAGE_SIZE;

	if (unmap_first)
		vm_munmap(addr, len);
	ret = vm_mmap(NULL, addr, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	if (IS_ERR_VALUE(ret))
		pr_warn_ratelimited("worker %d: vm_mmap(%lx) failed: %ld\n",
				    w->id, addr, (long)ret);
	vt_count(w->ctx, STAT_REPLACES);
}

/* VMA 0, which the scenarios that use it never unmap, as the role's VMA. */
static int vt_start_vma0(struct vt_worker *w)
{
	struct mm_struct *mm = w->ctx->mm;

	mmap_read_lock(mm);
	w->vma = vma_lookup(mm, vt_vma_addr(0));
	mmap_read_unlock(mm);
	return w->vma ? 0 : -ENOENT;
}

/* ---------------------------------------------------------------------- */
/* mirror: the module's hand-made read path against lock_vma_under_rcu() */

/*
 * The broken read variants redo vma_start_read() by hand (vmalock_ops.c).
 * With nothing left out, that copy must answer as the kernel does in every
 * state a VMA can be in; with one step left out, it must differ exactly in
 * the state that step is for, or the variant no longer tests what it says.
 * A kernel whose read path changed shows up here, by name, before any
 * broken variant silently tests a stale copy.
 */
struct vt_mirror_case {
	const char *name;
	unsigned int differs;	/* VT_NO_* steps that must change the answer */
	/* Optional: put VMA 0 into the state; return the VMA to hand over. */
	struct vm_area_struct *(*enter)(struct vt_ctx *ctx, struct vm_area_struct *vma);
	void (*leave)(struct vt_ctx *ctx, struct vm_area_struct *vma);
	unsigned long offset;	/* of the address looked up, from VMA 0 */
	bool injected;		/* enter() hands the reader a VMA of another mm */
};

static struct vm_area_struct *vt_mirror_write_lock(struct vt_ctx *ctx,
						   struct vm_area_struct *vma)
{
	mmap_write_lock(ctx->mm);
	vma_start_write(vma);
	return NULL;
}

static void vt_mirror_write_unlock(struct vt_ctx *ctx, struct vm_area_struct *vma)
{
	mmap_write_unlock(ctx->mm);
}

/* As many readers as VM_REFCNT_LIMIT allows already hold the VMA. */
static struct vm_area_struct *vt_mirror_fill(struct vt_ctx *ctx, struct vm_area_struct *vma)
{
	refcount_add(VM_REFCNT_LIMIT - refcount_read(&vma->vm_refcnt), &vma->vm_refcnt);
	return NULL;
}

static void vt_mirror_drain(struct vt_ctx *ctx, struct vm_area_struct *vma)
{
	WARN_ON_ONCE(refcount_sub_and_test(VM_REFCNT_LIMIT - 1, &vma->vm_refcnt));
}

/* The VMA at the same address in another mm, as a reused VMA is met. */
static struct vm_area_struct *vt_mirror_other(struct vt_ctx *ctx, struct vm_area_struct *vma)
{
	struct mm_struct *other = ctx->mirror.other_mm;
	unsigned long ret;

	kthread_unuse_mm(ctx->mm);
	kthread_use_mm(other);
	ret = vm_mmap(NULL, vt_vma_addr(0), VT_VMA_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	kthread_unuse_mm(other);
	kthread_use_mm(ctx->mm);
	if (IS_ERR_VALUE(ret))
		return NULL;
	mmap_read_lock(other);
	vma = vma_lookup(other, vt_vma_addr(0));
	mmap_read_unlock(other);
	return vma;
}

static const struct vt_mirror_case vt_mirror_cases[] = {
	{ .name = "attached", .offset = PAGE_SIZE },
	{ .name = "gap", .offset = VT_VMA_PAGES * PAGE_SIZE },
	{ .name = "write_locked", .differs = VT_NO_SEQ_CHECK,
	  .enter = vt_mirror_write_lock, .leave = vt_mirror_write_unlock },
	{ .name = "at_limit", .differs = VT_NO_LIMIT,
	  .enter = vt_mirror_fill, .leave = vt_mirror_drain },
	{ .name = "other_mm", .differs = VT_NO_MM_CHECK,
	  .enter = vt_mirror_other, .injected = true },
};

static const unsigned int vt_mirror_omits[] = {
	0, VT_NO_SEQ_CHECK, VT_NO_LIMIT, VT_NO_MM_CHECK
};

static void vt_mirror_compare(struct vt_ctx *ctx, const struct vt_mirror_case *st,
			      struct vm_area_struct *vma0, struct vm_area_struct *injected)
{
	unsigned long addr = vt_vma_addr(0) + st->offset;
	struct vm_area_struct *kernel = NULL, *got;
	int i;

	/*
	 * The kernel's answer; for a VMA of another mm it refuses (the KUnit
	 * case reused_vma_of_other_mm_test shows that on the real path).
	 */
	if (!st->injected) {
		kernel = lock_vma_under_rcu(ctx->mm, addr);
		if (kernel)
			vma_end_read(kernel);
	}
	for (i = 0; i < ARRAY_SIZE(vt_mirror_omits); i++) {
		unsigned int omit = vt_mirror_omits[i];
		bool must_differ = omit & st->differs;

		vt_count(ctx, STAT_READS);
		if (st->injected) {
			rcu_read_lock();
			got = vt_start_read_mirror(ctx->mm, injected, addr, omit);
			rcu_read_unlock();
		} else {
			got = vt_read_mirror(ctx->mm, addr, omit);
		}
		if (got)
			vma_end_read(got);
		if (must_differ ? !got || got == kernel : got != kernel)
			vt_violation(ctx, INV_MIRROR,
				     "state %s, omitting %#x: the hand-made read path %s, the kernel's %s",
				     st->name, omit, got ? "took the VMA" : "refused",
				     kernel ? "took it" : "refuses");
		else
			vt_count(ctx, STAT_READ_OK);
	}
}

static void vt_mirror_run(struct vt_ctx *ctx)
{
	struct vm_area_struct *vma0, *injected = NULL;
	int i;

	mmap_read_lock(ctx->mm);
	vma0 = vma_lookup(ctx->mm, vt_vma_addr(0));
	mmap_read_unlock(ctx->mm);
	if (!vma0)
		return;
	for (i = 0; i < ARRAY_SIZE(vt_mirror_cases); i++) {
		const struct vt_mirror_case *st = &vt_mirror_cases[i];

		if (st->enter)
			injected = st->enter(ctx, vma0);
		if (st->injected && !injected)
			vt_violation(ctx, INV_COVERAGE, "state %s could not be set up", st->name);
		else
			vt_mirror_compare(ctx, st, vma0, injected);
		if (st->leave)
			st->leave(ctx, vma0);
	}
}

static int vt_mirror_setup(struct vt_ctx *ctx)
{
	ctx->mirror.other_mm = vt_mm_create();
	return ctx->mirror.other_mm ? 0 : -ENOMEM;
}

static void vt_mirror_teardown(struct vt_ctx *ctx)
{
	if (ctx->mirror.other_mm)
		mmput(ctx->mirror.other_mm);
}

/* ---------------------------------------------------------------------- */
/* rw_exclusion: readers against writers that hold VMA write locks */

static void vt_reader_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	unsigned long addr = vt_random_addr(w, NULL);
	int hot = atomic_read(&ctx->hot_vma);

	/* Half the time, crowd the VMA a detacher is working on. */
	if (hot >= 0 && (prandom_u32_state(&w->rnd) & 1))
		addr = vt_vma_addr(hot);
	vt_read_once(w, addr);
}

static void vt_rw_writer_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	int n = 1 + prandom_u32_state(&w->rnd) % 4, i;

	ctx->ops->lock_mmap(mm);
	vt_check_seq_odd(w);
	for (i = 0; i < n; i++) {
		struct vm_area_struct *vma = vma_lookup(mm, vt_random_addr(w, NULL));

		if (vma)
			vt_write_enter(w, vma);
	}
	vt_hold();
	vt_clear_writer_marks(ctx);
	if (w->iter & 1) {
		ctx->ops->unlock_mmap(mm);
	} else {
		ctx->ops->downgrade_mmap(mm);
		mmap_read_unlock(mm);
	}
	if (ctx->ops->repair_release)
		ctx->ops->repair_release(mm);
}

/* ---------------------------------------------------------------------- */
/* detach_free: readers against detach, free and reuse of their VMAs */

/*
 * Detach @vma through the ops, check the result (invariant 2), and attach it
 * again. A broken detach leaves a reader's reference behind: wait for it (the
 * VMA is write-locked, so readers only back off) before attaching again, and
 * force the count after a second so that the run can go on.
 */
static void vt_detach_once(struct vt_worker *w, struct vm_area_struct *vma, int idx)
{
	struct vt_ctx *ctx = w->ctx;
	unsigned int cnt;
	int i, spins;

	/* The race R1 is about: a transient reader is in when the detach begins. */
	if (refcount_read(&vma->vm_refcnt) > 1)
		vt_count(ctx, STAT_DETACH_READERS);
	ctx->ops->detach(vma);
	cnt = refcount_read(&vma->vm_refcnt);
	if (cnt)
		vt_violation(ctx, INV_DETACH_REFCOUNT,
			     "detacher/%d: VMA %d refcnt=%u after vma_mark_detached(), expected 0",
			     w->id, idx, cnt);
	for (i = 0; i < ctx->pool.nr; i++)
		if (READ_ONCE(ctx->held[i]) == vma)
			vt_violation(ctx, INV_READER_ON_DETACHED,
				     "detacher/%d: reader/%d still holds VMA %d after vma_mark_detached(), refcnt=%u",
				     w->id, ctx->workers[i].id, idx,
				     refcount_read(&vma->vm_refcnt));
	vt_count(ctx, STAT_DETACHES);
	for (spins = 0; refcount_read(&vma->vm_refcnt) && spins < 1000000; spins++)
		udelay(1);
	if (refcount_read(&vma->vm_refcnt))
		refcount_set(&vma->vm_refcnt, 0);
	vma_mark_attached(vma);
}

/*
 * Readers that passed vma_start_read()'s early vm_lock_seq check just before
 * the write lock still increment vm_refcnt before they back off (bug R1).
 * Detaching many times per write section, as the kernel may detach long
 * after the write lock, gives such a transient reader a real chance to be
 * there when the detach happens.
 */
#define VT_DETACH_CYCLES	64
/* Longest a detacher waits for the straggler before it locks the VMA. */
#define VT_STRAGGLER_LATE_US	200

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

static void vt_detacher_step(struct vt_worker *w)
{
	int idx = prandom_u32_state(&w->rnd) % vt_cxt.p.vmas, us;

	atomic_set(&w->ctx->hot_vma, idx);
	/* Let the straggler find the VMA before it is locked: the race of R1. */
	for (us = 0; us < VT_STRAGGLER_LATE_US &&
	     atomic_read(&w->ctx->straggler_on) != idx; us++)
		udelay(1);
	if (prandom_u32_state(&w->rnd) % 4)
		vt_detach_in_place(w, idx);
	else
		vt_replace(w, idx, prandom_u32_state(&w->rnd) & 1);
}

/*
 * Straggler: the transient reader of bug R1. It does what vma_start_read()
 * does, but lingers between the early vm_lock_seq check and the increment
 * until a writer has write-locked the VMA, then holds the reference a moment
 * before backing off. The protocol allows this state; a detach must wait for
 * it. Real lock_vma_under_rcu() readers hit that window only once in
 * millions of tries, this one every time.
 */
/* How long a straggler waits, under RCU, for the writer to come. */
#define VT_STRAGGLER_WAIT_US	2000
/*
 * How long it then holds its reference, waiting for a detach to begin with
 * it in: not a fixed moment, which a loaded host (vCPUs preempted for
 * milliseconds) makes too short for the detacher to come.
 */
#define VT_STRAGGLER_HOLD_US	20000

static void vt_straggler_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	int hot = atomic_read(&ctx->hot_vma), spins;
	struct vm_area_struct *vma;

	if (hot < 0)
		return;
	rcu_read_lock();
	vma = vt_lookup_rcu(mm, vt_vma_addr(hot));
	if (vma && !vma_write_locked_now(vma, mm)) {
		atomic_set(&ctx->straggler_on, hot);
		for (spins = 0; spins < VT_STRAGGLER_WAIT_US && !vma_write_locked_now(vma, mm);
		     spins++)
			udelay(1);
		/* Only a reference taken under the write lock can meet a detach. */
		if (vma_write_locked_now(vma, mm) && vt_ref_get(vma, VM_REFCNT_LIMIT)) {
			s64 seen = vt_stat(ctx, STAT_DETACH_READERS);

			vt_count(ctx, STAT_STRAGGLERS);
			for (spins = 0; spins < VT_STRAGGLER_HOLD_US &&
			     vt_stat(ctx, STAT_DETACH_READERS) == seen; spins++)
				udelay(1);
			vt_ref_put(vma);	/* backing off, also from a reused VMA */
		}
		atomic_set(&ctx->straggler_on, -1);
	}
	rcu_read_unlock();
}

static const char *vt_detach_coverage(struct vt_ctx *ctx)
{
	return vt_stat(ctx, STAT_DETACH_READERS) ? NULL :
	       "no detach began with a transient reader in";
}

/* ---------------------------------------------------------------------- */
/* bulk_release, downgrade: one mmap write lock, many VMA write locks */

enum { VT_PHASE_IDLE, VT_PHASE_LOCKED, VT_PHASE_RELEASED };

static unsigned long vt_phase_read(struct vt_ctx *ctx)
{
	/* Pairs with the release in vt_set_phase(). */
	return smp_load_acquire(&ctx->bulk.phase);
}

static void vt_set_phase(struct vt_ctx *ctx, unsigned long round, int phase)
{
	/* Pairs with the acquire in vt_phase_read(). */
	smp_store_release(&ctx->bulk.phase, round << 2 | phase);
	smp_mb();	/* the phase is visible before the lock changes */
}

static void vt_bulk_reader_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	unsigned long p1 = vt_phase_read(ctx), p2;
	struct vm_area_struct *vma;
	unsigned long addr;
	int idx;

	if ((p1 & 3) == VT_PHASE_IDLE)
		return;
	addr = vt_random_addr(w, &idx);
	vt_count(ctx, STAT_READS);
	vma = ctx->ops->read_vma(ctx->mm, addr);
	smp_rmb();	/* the probe before the second phase read */
	p2 = vt_phase_read(ctx);
	if (!vma) {
		vt_count(ctx, STAT_FALLBACKS);
		return;
	}
	vt_count(ctx, STAT_READ_OK);
	if (p1 == p2 && (p1 & 3) == VT_PHASE_LOCKED)
		vt_violation(ctx, INV_BULK_RELEASE,
			     "reader/%d read-locked VMA %d while the writer holds mmap_lock and every VMA write-locked (round %lu, vm_lock_seq=%u, mm_lock_seq=%u)",
			     w->id, idx, p1 >> 2, READ_ONCE(vma->vm_lock_seq),
			     READ_ONCE(ctx->mm->mm_lock_seq.sequence));
	if (p1 == p2 && (p1 & 3) == VT_PHASE_RELEASED)
		atomic_set(&ctx->slots[idx].released_seen, 1);
	ctx->ops->unlock_vma(vma);
}

/* Liveness (invariant 5): after the release every VMA is read-locked soon. */
static void vt_bulk_check_release(struct vt_worker *w, bool downgrade)
{
	struct vt_ctx *ctx = w->ctx;
	u64 deadline = ktime_get_ns() + (u64)vt_cxt.p.release_timeout_ms * NSEC_PER_MSEC;
	int i, missing;

	do {
		missing = 0;
		for (i = 0; i < vt_cxt.p.vmas; i++)
			missing += !atomic_read(&ctx->slots[i].released_seen);
		if (!missing || vt_should_stop())
			return;
		usleep_range(100, 200);
	} while (ktime_get_ns() < deadline);
	vt_violation(ctx, INV_RELEASE_LIVENESS,
		     "%d of %d VMAs still refuse readers %d ms after %s (mm_lock_seq=%u)",
		     missing, vt_cxt.p.vmas, vt_cxt.p.release_timeout_ms,
		     downgrade ? "mmap_write_downgrade()" : "mmap_write_unlock()",
		     READ_ONCE(ctx->mm->mm_lock_seq.sequence));
}

static void vt_bulk_writer_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	unsigned long round = w->iter;
	bool downgrade = ctx->bulk.downgrade_only || !(round & 1);
	int i;

	ctx->ops->lock_mmap(mm);
	for (i = 0; i < vt_cxt.p.vmas; i++) {
		struct vm_area_struct *vma = vma_lookup(mm, vt_vma_addr(i));

		if (vma)
			vt_write_enter(w, vma);
		atomic_set(&ctx->slots[i].released_seen, 0);
	}
	vt_set_phase(ctx, round, VT_PHASE_LOCKED);
	/* Let the readers probe the locked VMAs for a while. */
	usleep_range(2000, 3000);
	vt_clear_writer_marks(ctx);
	vt_set_phase(ctx, round, VT_PHASE_IDLE);
	if (downgrade)
		ctx->ops->downgrade_mmap(mm);
	else
		ctx->ops->unlock_mmap(mm);
	vt_set_phase(ctx, round, VT_PHASE_RELEASED);
	vt_bulk_check_release(w, downgrade);
	vt_set_phase(ctx, round, VT_PHASE_IDLE);
	if (downgrade)
		mmap_read_unlock(mm);
	if (ctx->ops->repair_release)
		ctx->ops->repair_release(mm);
	vt_count(ctx, STAT_ROUNDS);
}

static int vt_downgrade_setup(struct vt_ctx *ctx)
{
	ctx->bulk.downgrade_only = true;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* speculate: lockless readers against writers, through mm_lock_seq */

static int vt_spec_setup(struct vt_ctx *ctx)
{
	ctx->spec.check = ~0UL;		/* round 0: nothing written yet */
	return 0;
}

/*
 * Every write section sets, for its round r: spec.round = r, each VMA's
 * vm_private_data = r and VM_DONTDUMP = r & 1, then spec.check = ~r. A read
 * that mmap_lock_speculate_retry() accepts must see all of one round.
 */
static void vt_spec_writer_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	unsigned long round = w->iter;
	int i;

	ctx->ops->lock_mmap(mm);
	vt_check_seq_odd(w);
	atomic_inc(&ctx->spec.section);
	WRITE_ONCE(ctx->spec.round, round);
	for (i = 0; i < vt_cxt.p.vmas; i++) {
		struct vm_area_struct *vma = vma_lookup(mm, vt_vma_addr(i));

		if (!vma)
			continue;
		if (round & 1)
			vm_flags_set(vma, VM_DONTDUMP);
		else
			vm_flags_clear(vma, VM_DONTDUMP);
		WRITE_ONCE(vma->vm_private_data, (void *)round);
		vt_count(ctx, STAT_WRITES);
	}
	vt_hold();
	WRITE_ONCE(ctx->spec.check, ~round);
	atomic_inc(&ctx->spec.section);
	ctx->ops->unlock_mmap(mm);
	if (ctx->ops->repair_release)
		ctx->ops->repair_release(mm);
	vt_count(ctx, STAT_ROUNDS);
}

static void vt_spec_reader_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	unsigned long addr, round, check, priv = 0;
	int s1, s2, idx, dontdump = 0;
	struct vm_area_struct *vma;
	unsigned int seq;
	bool began;

	addr = vt_random_addr(w, &idx);
	vt_count(ctx, STAT_READS);
	s1 = atomic_read(&ctx->spec.section);
	began = mmap_lock_speculate_try_begin(mm, &seq);
	s2 = atomic_read(&ctx->spec.section);
	/* One write section spanned try_begin(): it had to fail. */
	if (began && s1 == s2 && (s1 & 1))
		vt_violation(ctx, INV_SEQ_PARITY,
			     "reader/%d: mmap_lock_speculate_try_begin() succeeded (seq=%u) inside write section %d",
			     w->id, seq, s1 / 2);
	if (!began) {
		vt_count(ctx, STAT_FALLBACKS);
		return;
	}
	rcu_read_lock();
	vma = vt_lookup_rcu(mm, addr);
	if (vma) {
		priv = (unsigned long)READ_ONCE(vma->vm_private_data);
		dontdump = !!(READ_ONCE(vma->vm_flags) & VM_DONTDUMP);
	}
	round = READ_ONCE(ctx->spec.round);
	check = READ_ONCE(ctx->spec.check);
	rcu_read_unlock();
	if (ctx->ops->speculate_retry(mm, seq)) {
		vt_count(ctx, STAT_FALLBACKS);
		return;
	}
	vt_count(ctx, STAT_READ_OK);
	if (check != ~round || (vma && (priv != round || dontdump != (round & 1))))
		vt_violation(ctx, INV_SPECULATE,
			     "reader/%d: retry() accepted a mixed state: round=%lu check=%#lx VMA %d private=%lu dontdump=%d",
			     w->id, round, check, idx, priv, dontdump);
}

static const char *vt_spec_coverage(struct vt_ctx *ctx)
{
	return vt_stat(ctx, STAT_READ_OK) ? NULL : "no speculative read was accepted by retry()";
}

/* ---------------------------------------------------------------------- */
/* refcount_limit: readers at the VM_REFCNT_LIMIT ceiling, and a writer */

/*
 * The crowd stands for (LIMIT - nr of readers) readers holding VMA 0, so that
 * the real readers reach the ceiling. Like readers, it leaves when a writer
 * waits (and wakes it, as the last reader's vma_refcount_put() does), and
 * comes back when the writer is gone.
 */
static void vt_crowd_leave(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;

	if (!ctx->limit.crowd_in)
		return;
	if (!refcount_sub_and_test(VM_REFCNT_LIMIT - vt_cxt.p.readers, &w->vma->vm_refcnt))
		rcuwait_wake_up(&ctx->mm->vma_writer_wait);
	ctx->limit.crowd_in = false;
}

static void vt_crowd_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct vm_area_struct *vma = w->vma;
	unsigned int cnt = refcount_read(&vma->vm_refcnt);
	int old;

	if (!ctx->limit.crowd_in && cnt < VM_REFCNT_EXCLUDE_READERS_FLAG &&
	    !vma_write_locked_now(vma, ctx->mm))
		/* Never past LIMIT itself: a writer's flag must still fit. */
		ctx->limit.crowd_in =
			__refcount_add_not_zero_limited_acquire(VM_REFCNT_LIMIT - vt_cxt.p.readers,
								&vma->vm_refcnt, &old,
								VM_REFCNT_LIMIT);
	else if (cnt >= VM_REFCNT_EXCLUDE_READERS_FLAG)
		vt_crowd_leave(w);
}

static void vt_limit_reader_step(struct vt_worker *w)
{
	if (!vt_read_once(w, vt_vma_addr(0)) &&
	    refcount_read(&w->vma->vm_refcnt) == VM_REFCNT_LIMIT)
		vt_count(w->ctx, STAT_LIMIT_HITS);
}

/*
 * With readers past the ceiling (reader_no_limit) the count reaches the
 * writer flag, and a writer adding its own flag would overflow and saturate
 * it, hanging the guest. The readers' check catches the bug; the writer
 * stays out of that run.
 */
static int vt_limit_writer_start(struct vt_worker *w)
{
	if (w->ctx->ops->omit & VT_NO_LIMIT)
		return -EPERM;
	return vt_start_vma0(w);
}

static void vt_limit_writer_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;

	mmap_write_lock(ctx->mm);
	vt_write_enter(w, w->vma);
	vt_hold();
	vt_clear_writer_marks(ctx);
	mmap_write_unlock(ctx->mm);
	usleep_range(500, 1000);	/* let the readers climb back */
}

static const char *vt_limit_coverage(struct vt_ctx *ctx)
{
	return vt_stat(ctx, STAT_LIMIT_HITS) ? NULL : "readers never met VM_REFCNT_LIMIT";
}

/* ---------------------------------------------------------------------- */
/* killable_writer: vma_start_write_killable() killed while readers hold */

/* Holds VMA 0 read-locked for a millisecond at a time, as a slow fault does. */
static void vt_holder_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct vm_area_struct *vma = ctx->ops->read_vma(ctx->mm, vt_vma_addr(0));

	if (vma) {
		usleep_range(1000, 2000);
		ctx->ops->unlock_vma(vma);
	}
}

static void vt_unexclude(struct vm_area_struct *vma)
{
	bool detached = refcount_sub_and_test(VM_REFCNT_EXCLUDE_READERS_FLAG, &vma->vm_refcnt);

	WARN_ON_ONCE(detached);	/* it is attached */
}

static int vt_killable_writer_start(struct vt_worker *w)
{
	allow_signal(SIGKILL);
	WRITE_ONCE(w->ctx->kill.task, current);
	return 0;
}

static void vt_killable_writer_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;
	unsigned int cnt;
	int ret;

	mmap_write_lock(mm);
	vma = vma_lookup(mm, vt_vma_addr(0));
	ret = vma ? ctx->ops->write_vma_killable(vma) : 0;
	if (ret == -EINTR) {
		bool locked = vt_is_vma_write_locked(vma);

		vt_count(ctx, STAT_KILLED);
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
		vt_count(ctx, STAT_WRITES);
	}
	mmap_write_unlock(mm);
}

/* Sends SIGKILL to the killable writer every millisecond or two. */
static void vt_killer_step(struct vt_worker *w)
{
	struct task_struct *t = READ_ONCE(w->ctx->kill.task);

	usleep_range(1000, 2000);
	if (t)
		send_sig(SIGKILL, t, 1);
}

static const char *vt_killable_coverage(struct vt_ctx *ctx)
{
	return vt_stat(ctx, STAT_KILLED) ? NULL : "no vma_start_write_killable() was interrupted";
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
	vt_count(ctx, STAT_LOCKED_CHECKS);
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
		     w->id, vt_vma_index(vma), refcount_read(&vma->vm_refcnt),
		     READ_ONCE(vma->vm_lock_seq), READ_ONCE(ctx->mm->mm_lock_seq.sequence),
		     want, addr, what);
}

/*
 * notifier_exclusion: mm_take_all_locks(), which mmu_notifier_register()
 * calls, write-locks every VMA of the mm; they stay write-locked until
 * mmap_write_unlock(). ctx->fault.window is odd from its return to the
 * unlock, so a faulter that holds a VMA read-locked must see it even, and
 * unchanged from the read lock to the unlock. A hold is reported once: at
 * the read lock if the window was open then, else at the end of its fault.
 */
static int vt_window(struct vt_ctx *ctx)
{
	return atomic_read(&ctx->fault.window);
}

static void vt_check_no_window(struct vt_worker *w, struct vm_area_struct *vma,
			       int since, const char *what)
{
	struct vt_ctx *ctx = w->ctx;
	int now = vt_window(ctx);

	if (!(since & 1) && now == since)
		return;
	vt_violation(ctx, INV_NOTIFIER_EXCLUSION,
		     "faulter/%d %s VMA %d read-locked while mm_take_all_locks() had every VMA write-locked (registration %d), vm_lock_seq=%u mm_lock_seq=%u refcnt=%u",
		     w->id, what, vt_vma_index(vma), (now + 1) / 2,
		     READ_ONCE(vma->vm_lock_seq), READ_ONCE(ctx->mm->mm_lock_seq.sequence),
		     refcount_read(&vma->vm_refcnt));
}

/*
 * What the architecture's fault handler does for a user fault, from a
 * kthread that adopted the test mm (x86 takes the per-VMA path only for
 * faults from user mode, so copy_to_user() alone would never reach it).
 * Returns true if the fault was handled under the per-VMA lock.
 */
static bool vt_fault_in(struct vt_worker *w, unsigned long addr, u64 want)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	int before = vt_window(ctx), held = 0, after;
	struct vm_area_struct *vma;
	vm_fault_t fault;

	vma = ctx->ops->read_vma(mm, addr);
	if (vma) {
		held = vt_window(ctx);
		vt_check_no_window(w, vma, held, "took");
	}
	/* Never fault on a VMA a writer holds: a broken lock is caught here. */
	if (vma && vma_write_locked_now(vma, mm)) {
		vt_violation(ctx, INV_RW_EXCLUSION,
			     "faulter: per-VMA lock taken on write-locked VMA [%lx-%lx), refcnt=%u",
			     vma->vm_start, vma->vm_end, refcount_read(&vma->vm_refcnt));
		ctx->ops->unlock_vma(vma);
		vma = NULL;
	}
	if (vma) {
		fault = ctx->ops->fault_vma(vma, addr);
		if (vt_fault_holds_vma(fault)) {
			vt_check_locked_page(w, vma, addr, want);
			if (!(held & 1))
				vt_check_no_window(w, vma, held, "completed a fault on");
			ctx->ops->unlock_vma(vma);
		}
		if (!(fault & VM_FAULT_RETRY))
			return true;
	}
	vt_fault_mmap_locked(mm, addr);
	/* A registration was under way while this fault fell back (coverage). */
	after = vt_window(ctx);
	if ((before & 1) || before != after)
		vt_count(ctx, STAT_REG_FALLBACKS);
	return false;
}

/*
 * Faulters own every nr-th page of every VMA; they fault it in, write
 * (id, iteration) with copy_to_user() and read it back. A VMA's generation
 * is odd while a mapper replaces or splits it: a value is only checked if
 * the generation did not move around the write and the read.
 */
static void vt_faulter_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	int idx, g1, g2;
	unsigned long addr = vt_random_addr(w, &idx);
	u64 want = (u64)(w->id + 1) << 48 | w->iter, got = 0;

	/* Each faulter its own cache line of the page. */
	addr += (w->id % (PAGE_SIZE / SMP_CACHE_BYTES)) * SMP_CACHE_BYTES;
	vt_count(ctx, STAT_READS);
	g1 = atomic_read(&ctx->slots[idx].generation);
	vt_count(ctx, vt_fault_in(w, addr, want) ? STAT_READ_OK : STAT_FALLBACKS);
	if (copy_to_user((void __user *)addr, &want, sizeof(want)) ||
	    copy_from_user(&got, (void __user *)addr, sizeof(got)))
		return;	/* unmapped meanwhile */
	/* Pairs with the mapper's barriers around its generation. */
	smp_rmb();
	g2 = atomic_read(&ctx->slots[idx].generation);
	if (g1 == g2 && !(g1 & 1) && got != want)
		vt_violation(ctx, INV_FAULT_DATA,
			     "faulter/%d: VMA %d at %lx holds %#llx after writing %#llx (generation %d)",
			     w->id, idx, addr, got, want, g1);
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
		vt_count(w->ctx, STAT_WRITES);
	}
	mmap_write_unlock(mm);
}

/* Split @idx: unmap one of its inner pages and map it again. */
static void vt_split(struct vt_worker *w, int idx)
{
	unsigned long page = vt_vma_addr(idx) +
		(1 + prandom_u32_state(&w->rnd) % (VT_VMA_PAGES - 2)) * PAGE_SIZE;

	vm_munmap(page, PAGE_SIZE);
	if (IS_ERR_VALUE(vm_mmap(NULL, page, PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0)))
		pr_warn_ratelimited("mapper/%d: vm_mmap(%lx) failed\n", w->id, page);
	vt_count(w->ctx, STAT_REPLACES);
}

/* Replace VMAs, split them, and zap their pages in place. */
static void vt_mapper_step(struct vt_worker *w)
{
	int idx = prandom_u32_state(&w->rnd) % vt_cxt.p.vmas;
	atomic_t *gen = &w->ctx->slots[idx].generation;

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
		vt_split(w, idx);
		break;
	}
	smp_mb__before_atomic();	/* even after it changed */
	atomic_inc(gen);
	usleep_range(100, 200);
}

/*
 * The MMU notifier registrar: mm_take_all_locks() under contention, from
 * faulters and mappers. It registers as mmu_notifier_get_locked() and
 * mmu_interval_notifier_insert_locked() callers do, under an mmap_lock it
 * already holds, and keeps that lock a moment: every VMA stays write-locked
 * until mmap_write_unlock(), after mm_drop_all_locks() too. A kretprobe on
 * mm_take_all_locks() opens the window, so that the check rests on the
 * kernel's own return, not on the registrar's say.
 */
#define VT_MN_HOLD_US	200

static void vt_registrar_sat_out(struct vt_worker *w, const char *why)
{
	WRITE_ONCE(w->ctx->fault.mn_skipped, true);
	vt_role_skipped(w, why);
}

#if defined(CONFIG_MMU_NOTIFIER) && defined(CONFIG_KRETPROBES)
static const struct mmu_notifier_ops vt_mn_ops;

static struct vt_ctx *vt_all_locks_ctx(struct kretprobe_instance *ri)
{
	return container_of(get_kretprobe(ri), struct vt_ctx, fault.all_locks);
}

/* Only the test mm's calls: non-zero skips the return handler. */
static int vt_all_locks_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return regs_get_kernel_argument(regs, 0) != (unsigned long)vt_all_locks_ctx(ri)->mm;
}

static int vt_all_locks_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vt_ctx *ctx = vt_all_locks_ctx(ri);

	if (regs_return_value(regs))
		return 0;	/* -EINTR: it dropped what it had taken */
	vt_count(ctx, STAT_ALL_LOCKS);
	/* Odd; only the registrar, under the mmap_lock it holds, makes it even. */
	if (!(vt_window(ctx) & 1))
		atomic_inc(&ctx->fault.window);
	return 0;
}

/*
 * Never called. A kprobe with a post handler at the same address keeps the
 * kretprobe's from being optimized into a jump: see vm_free_monitor_post().
 */
static void vt_all_locks_pin_post(struct kprobe *p, struct pt_regs *regs, unsigned long flags)
{
}

static int vt_registrar_start(struct vt_worker *w)
{
	struct vt_fault_state *f = &w->ctx->fault;
	char why[64];
	int err;

	f->mn.ops = &vt_mn_ops;
	f->all_locks_pin = (struct kprobe) {
		.symbol_name = "mm_take_all_locks",
		.post_handler = vt_all_locks_pin_post,
	};
	f->all_locks = (struct kretprobe) {
		.kp.symbol_name = "mm_take_all_locks",
		.entry_handler = vt_all_locks_entry,
		.handler = vt_all_locks_ret,
		.maxactive = 4,
	};
	err = register_kprobe(&f->all_locks_pin);
	if (!err) {
		err = register_kretprobe(&f->all_locks);
		if (!err)
			return 0;
		unregister_kprobe(&f->all_locks_pin);
	}
	snprintf(why, sizeof(why), "cannot kretprobe mm_take_all_locks() (%d)", err);
	vt_registrar_sat_out(w, why);
	return err;
}

/* Register, hold the window, stay registered a moment, unregister. */
static void vt_registrar_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	int err;

	mmap_write_lock(mm);
	err = __mmu_notifier_register(&ctx->fault.mn, mm);
	if (!err) {
		usleep_range(VT_MN_HOLD_US / 2, VT_MN_HOLD_US);
		if (vt_window(ctx) & 1)
			atomic_inc(&ctx->fault.window);
	}
	mmap_write_unlock(mm);
	if (err) {
		pr_warn_ratelimited("registrar: __mmu_notifier_register() failed (%d)\n", err);
		usleep_range(1000, 2000);
		return;
	}
	vt_count(ctx, STAT_REGISTRATIONS);
	usleep_range(VT_MN_HOLD_US, 2 * VT_MN_HOLD_US);
	/* Waits for an SRCU grace period: nothing uses the notifier after it. */
	mmu_notifier_unregister(&ctx->fault.mn, mm);
}

static void vt_registrar_stop(struct vt_worker *w)
{
	unregister_kretprobe(&w->ctx->fault.all_locks);
	unregister_kprobe(&w->ctx->fault.all_locks_pin);
}
#else
static int vt_registrar_start(struct vt_worker *w)
{
	vt_registrar_sat_out(w, IS_ENABLED(CONFIG_MMU_NOTIFIER) ?
			     "CONFIG_KRETPROBES is not set" : "CONFIG_MMU_NOTIFIER is not set");
	return -ENODEV;
}

static void vt_registrar_step(struct vt_worker *w)
{
}

static void vt_registrar_stop(struct vt_worker *w)
{
}
#endif

static const char *vt_fault_coverage(struct vt_ctx *ctx)
{
	if (!vt_stat(ctx, STAT_READ_OK))
		return "every fault fell back to mmap_lock: the per-VMA path was not tested";
	if (READ_ONCE(ctx->fault.mn_skipped))
		return NULL;	/* said in the diagnostics */
	if (!vt_stat(ctx, STAT_REGISTRATIONS))
		return "no MMU notifier was registered";
	if (!vt_stat(ctx, STAT_ALL_LOCKS))
		return "no mm_take_all_locks() window seen: notifier_exclusion checked nothing";
	if (!vt_stat(ctx, STAT_REG_FALLBACKS))
		return "no fault met a registration: mm_take_all_locks() ran uncontended";
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* reuse: VMAs freed in one mm and reused by another, under RCU readers */

/*
 * The race the vm_mm check is for (bug R8), forced: the slow reader looks a
 * VMA up under RCU and hands it to churner 0, which frees it (mapping over it
 * in the test mm) and, on the same CPU, maps over the same address in another
 * mm, whose new VMA is usually the object just freed. Only then does the
 * reader take its reference. States of ctx->reuse.state:
 */
enum {
	VT_REUSE_IDLE,		/* no lookup handed over */
	VT_REUSE_LOOKED_UP,	/* reuse.vma found under RCU, waiting */
	VT_REUSE_REUSING,	/* churner 0 frees and reuses it */
	VT_REUSE_DONE,		/* the reader may go on */
};

/* Longest a slow reader waits, under RCU, for churner 0 to take its lookup. */
#define VT_REUSE_WAIT_US	50000

static int vt_reuse_churners = VT_OTHER_MMS;

static int vt_reuse_setup(struct vt_ctx *ctx)
{
	int i;

	for (i = 0; i < VT_OTHER_MMS; i++) {
		ctx->reuse.other_mm[i] = vt_mm_create();
		if (!ctx->reuse.other_mm[i])
			return -ENOMEM;
	}
	return 0;
}

static void vt_reuse_teardown(struct vt_ctx *ctx)
{
	int i;

	for (i = 0; i < VT_OTHER_MMS; i++)
		if (ctx->reuse.other_mm[i])
			mmput(ctx->reuse.other_mm[i]);
}

static void vt_reuse_handoff(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct vm_area_struct *looked_up = READ_ONCE(ctx->reuse.vma), *now;
	struct mm_struct *other = ctx->reuse.other_mm[0];
	int idx = READ_ONCE(ctx->reuse.idx);

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

	vt_count(ctx, STAT_HANDOFFS);
	if (now == looked_up)
		vt_count(ctx, STAT_REUSED);
}

/*
 * Churner 0 replaces VMAs of the test mm and serves the slow reader's
 * handoffs; the others replace VMAs in mms of their own, so that VMAs keep
 * moving between mms through the slab beside the forced handoffs.
 */
static int vt_churner_start(struct vt_worker *w)
{
	if (w->id)
		w->mm = w->ctx->reuse.other_mm[w->id];
	return 0;
}

static void vt_churner_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	int idx = prandom_u32_state(&w->rnd) % vt_cxt.p.vmas;

	if (!w->id && atomic_cmpxchg(&ctx->reuse.state, VT_REUSE_LOOKED_UP,
				     VT_REUSE_REUSING) == VT_REUSE_LOOKED_UP) {
		vt_reuse_handoff(w);
		atomic_set_release(&ctx->reuse.state, VT_REUSE_DONE);
	} else {
		vt_replace(w, idx, prandom_u32_state(&w->rnd) & 1);
	}
}

/*
 * Under RCU, wait for churner 0 to free and reuse the VMA looked up. If it does not
 * take the handoff in time, take it back; once taken, it always ends.
 */
static void vt_reuse_wait(struct vt_ctx *ctx)
{
	int us;

	for (us = 0; us < VT_REUSE_WAIT_US && !vt_should_stop(); us += 5) {
		if (atomic_read_acquire(&ctx->reuse.state) == VT_REUSE_DONE)
			return;
		udelay(5);
	}
	if (atomic_cmpxchg(&ctx->reuse.state, VT_REUSE_LOOKED_UP,
			   VT_REUSE_IDLE) == VT_REUSE_LOOKED_UP)
		return;
	while (atomic_read_acquire(&ctx->reuse.state) != VT_REUSE_DONE)
		udelay(5);
}

/*
 * vma_start_read()'s steps with the handoff between the tree walk and the
 * increment. It counts the VMAs of another mm it met (the race the vm_mm
 * check is for) and backs off as the kernel does; under reader_no_mm_check
 * it follows that variant and keeps the VMA as its own.
 */
static void vt_slow_reader_step(struct vt_worker *w)
{
	struct vt_ctx *ctx = w->ctx;
	struct mm_struct *mm = ctx->mm;
	int idx = prandom_u32_state(&w->rnd) % vt_cxt.p.vmas;
	unsigned long addr = vt_vma_addr(idx);
	struct vm_area_struct *vma;

	rcu_read_lock();
	vma = vt_lookup_rcu(mm, addr);
	if (vma) {
		WRITE_ONCE(ctx->reuse.vma, vma);
		WRITE_ONCE(ctx->reuse.idx, idx);
		atomic_set_release(&ctx->reuse.state, VT_REUSE_LOOKED_UP);
		vt_reuse_wait(ctx);
		atomic_set(&ctx->reuse.state, VT_REUSE_IDLE);
	}
	if (vma && vt_ref_get(vma, VM_REFCNT_LIMIT)) {
		if (vma->vm_mm != mm) {
			vt_count(ctx, STAT_FOREIGN);
			if ((ctx->ops->omit & VT_NO_MM_CHECK) &&
			    addr >= vma->vm_start && addr < vma->vm_end)
				vt_check_right_vma(w, vma, addr);
		}
		vt_ref_put(vma);
	}
	rcu_read_unlock();
}

static const char *vt_reuse_coverage(struct vt_ctx *ctx)
{
	return vt_stat(ctx, STAT_FOREIGN) ? NULL : "no lookup met a VMA reused by another mm";
}

/* ---------------------------------------------------------------------- */
/* watch: only the monitors, the free monitor and the system-wide one */

static const char *vt_watch_coverage(struct vt_ctx *ctx)
{
	if (!atomic64_read(&ctx->mon.frees))
		return "no VMA was freed while watching";
	/* Tracepoints that never fire would make every system-wide check pass. */
	if (vt_sysmon_running() && !(vt_sysmon_total(VT_SYS_READS) &&
				     vt_sysmon_total(VT_SYS_WRITES) &&
				     vt_sysmon_total(VT_SYS_DETACHES)))
		return "the system-wide monitor saw no read lock, write lock or detach";
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* onoff: CPU hotplug under the scenario's load */

#ifdef CONFIG_HOTPLUG_CPU
/* Take a CPU other than the boot CPU offline for onoff_ms, then back. */
static void vt_onoff_step(struct vt_worker *w)
{
	unsigned int cpu = 1 + prandom_u32_state(&w->rnd) % (nr_cpu_ids - 1);

	vt_sleep_ms(vt_cxt.p.onoff_ms);
	if (vt_should_stop() || !cpu_online(cpu) || remove_cpu(cpu))
		return;
	vt_sleep_ms(vt_cxt.p.onoff_ms);
	if (add_cpu(cpu))
		pr_warn_ratelimited("onoff: CPU %u did not come back online\n", cpu);
	vt_count(w->ctx, STAT_CPU_OFFLINES);
}

static int vt_onoff_start(struct vt_worker *w)
{
	return nr_cpu_ids > 1 ? 0 : -ENODEV;
}
#else
static void vt_onoff_step(struct vt_worker *w)
{
}

static int vt_onoff_start(struct vt_worker *w)
{
	return -ENODEV;		/* onoff_ms is refused without CONFIG_HOTPLUG_CPU */
}
#endif

const struct vt_role vt_onoff_role = { "onoff", vt_onoff_step, vt_onoff_start };

/* ---------------------------------------------------------------------- */
/* The table */

#define VT_READERS	{ "rd", vt_reader_step, .count = &vt_cxt.p.readers }

const struct vt_scenario vt_scenarios[NR_SCNS] = {
	[SCN_MIRROR] = {
		.desc = "the module's hand-made read path answers as lock_vma_under_rcu()",
		.setup = vt_mirror_setup,
		.run = vt_mirror_run,
		.teardown = vt_mirror_teardown,
	},
	[SCN_RW_EXCLUSION] = {
		.desc = "readers against writers; no reader inside a write-locked VMA",
		.roles = { VT_READERS, { "wr", vt_rw_writer_step, .count = &vt_cxt.p.writers } },
	},
	[SCN_DETACH_FREE] = {
		.desc = "readers against detach, munmap and replacement; no reader at free",
		.roles = { VT_READERS,
			   { "dt", vt_detacher_step, .count = &vt_cxt.p.detachers, .use_mm = true },
			   { "st", vt_straggler_step } },
		.coverage = vt_detach_coverage,
		.needs = BIT(VT_FEAT_DETACH_EXPORT),
		.needs_free_probe = true,
	},
	[SCN_BULK_RELEASE] = {
		.desc = "all VMAs write-locked; readers fail until unlock/downgrade, then succeed",
		.roles = { { "rd", vt_bulk_reader_step, .count = &vt_cxt.p.readers },
			   { "wr", vt_bulk_writer_step } },
	},
	[SCN_DOWNGRADE] = {
		.desc = "mmap_write_downgrade() mid-section releases all VMAs while read-held",
		.roles = { { "rd", vt_bulk_reader_step, .count = &vt_cxt.p.readers },
			   { "wr", vt_bulk_writer_step } },
		.setup = vt_downgrade_setup,
	},
	[SCN_SPECULATE] = {
		.desc = "lockless readers (mmap_lock_speculate_*) see one state or retry",
		.roles = { { "sp", vt_spec_reader_step, .count = &vt_cxt.p.readers },
			   { "wr", vt_spec_writer_step, .count = &vt_cxt.p.writers } },
		.setup = vt_spec_setup,
		.coverage = vt_spec_coverage,
	},
	[SCN_REFCOUNT_LIMIT] = {
		.desc = "readers at VM_REFCNT_LIMIT fail cleanly; a writer still gets in",
		.roles = { { "rd", vt_limit_reader_step, vt_start_vma0,
			     .count = &vt_cxt.p.readers },
			   { "wr", vt_limit_writer_step, vt_limit_writer_start },
			   { "crowd", vt_crowd_step, vt_start_vma0, vt_crowd_leave } },
		.coverage = vt_limit_coverage,
	},
	[SCN_KILLABLE_WRITER] = {
		.desc = "killed vma_start_write_killable(): -EINTR, count restored",
		.roles = { VT_READERS, { "hold", vt_holder_step },
			   { "kw", vt_killable_writer_step, vt_killable_writer_start },
			   { "kill", vt_killer_step } },
		.coverage = vt_killable_coverage,
		.needs = BIT(VT_FEAT_WRITE_KILLABLE),
	},
	[SCN_FAULT_PATH] = {
		.desc = "faults under the per-VMA lock while VMAs change and notifiers register",
		.roles = { { "flt", vt_faulter_step, .count = &vt_cxt.p.readers, .use_mm = true },
			   { "map", vt_mapper_step, .count = &vt_cxt.p.writers, .use_mm = true },
			   { "mnreg", vt_registrar_step, vt_registrar_start, vt_registrar_stop } },
		.coverage = vt_fault_coverage,
		.has_vmstat = true,
	},
	[SCN_REUSE] = {
		.desc = "VMAs freed and reused by other mms; readers only get their own",
		.roles = { VT_READERS,
			   { "churn", vt_churner_step, vt_churner_start,
			     .count = &vt_reuse_churners, .use_mm = true },
			   { "slow", vt_slow_reader_step } },
		.setup = vt_reuse_setup,
		.teardown = vt_reuse_teardown,
		.coverage = vt_reuse_coverage,
	},
	[SCN_WATCH] = {
		.desc = "only the monitors (vm_area_free(), system-wide), watching user space",
		.coverage = vt_watch_coverage,
		.needs_free_probe = true,
		.only_named = true,
	},
};
