// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for the per-VMA lock: exact vm_refcnt values at every state
 * transition (vmalock_state), races forced step by step with kthreads and
 * completions (vmalock_race), and the vm_area_free() monitor (vmalock_free).
 *
 * Every test works on VMAs of its own mm (kunit_attach_mm()), never on a
 * process's. Where a test must hold a lock while a condition is checked, it
 * uses EXPECT, not ASSERT: an aborted test thread must not leave mmap_lock
 * held behind it.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>

#include "vmalock_monitor.h"

/* mm_alloc() and arch_pick_mmap_layout() are exported for tests only. */
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

#define VK_BASE		0x20000000UL
#define VK_LEN		(4 * PAGE_SIZE)
#define VK_STRIDE	(2 * VK_LEN)	/* gaps keep VMAs from merging */
#define VK_FLAG		VM_REFCNT_EXCLUDE_READERS_FLAG
#define VK_TIMEOUT	(10 * HZ)

static unsigned long vk_addr(int i)
{
	return VK_BASE + i * VK_STRIDE;
}

static unsigned int vk_refcnt(struct vm_area_struct *vma)
{
	return refcount_read(&vma->vm_refcnt);
}

/* Map VMA @i in the test's mm and return it. */
static struct vm_area_struct *vk_map(struct kunit *test, int i)
{
	unsigned long addr = kunit_vm_mmap(test, NULL, vk_addr(i), VK_LEN,
					   PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);
	struct vm_area_struct *vma;

	KUNIT_ASSERT_EQ(test, addr, vk_addr(i));
	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	mmap_read_unlock(current->mm);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	return vma;
}

/*
 * The per-VMA lock must refuse @addr. A lock taken all the same is released
 * again, or the mm could never be torn down (under a kernel mutant, say).
 */
static void vk_expect_refused(struct kunit *test, struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *got = lock_vma_under_rcu(mm, addr);

	KUNIT_EXPECT_NULL(test, got);
	if (got)
		vma_end_read(got);
}

/* The per-VMA lock must give @vma for @addr; anything else is released. */
static bool vk_lock_expect(struct kunit *test, unsigned long addr, struct vm_area_struct *vma)
{
	struct vm_area_struct *got = lock_vma_under_rcu(current->mm, addr);

	KUNIT_EXPECT_PTR_EQ(test, got, vma);
	if (got && got != vma)
		vma_end_read(got);
	return got == vma;
}

/* Is @vma read-locked in lockdep's view (by the current task)? */
static bool vk_lockdep_read_held(struct vm_area_struct *vma)
{
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	return lock_is_held(&vma->vmlock_dep_map);
#else
	return false;
#endif
}

static bool vk_write_locked(struct vm_area_struct *vma)
{
	return READ_ONCE(vma->vm_lock_seq) == READ_ONCE(vma->vm_mm->mm_lock_seq.sequence);
}

/*
 * Wait until @vma's count reaches @want: the other thread has got to the
 * state under test. Polls a state, so it is not a sleep used as ordering.
 */
static bool vk_wait_refcnt(struct vm_area_struct *vma, unsigned int want)
{
	unsigned long timeout = jiffies + VK_TIMEOUT;

	while (vk_refcnt(vma) != want) {
		if (time_after(jiffies, timeout))
			return false;
		usleep_range(50, 100);
	}
	return true;
}

/* ---------------------------------------------------------------------- */
/* vmalock_state: one thread, exact refcount values */

static void attach_detach_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0);
	struct mm_struct *mm = current->mm;

	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);	/* mmap attached it */
	mmap_write_lock(mm);
	vma_start_write(vma);
	vma_mark_detached(vma);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 0);
	KUNIT_EXPECT_FALSE(test, vma_is_attached(vma));
	/* A detached VMA refuses readers and keeps its count. */
	KUNIT_EXPECT_FALSE(test, vma_start_read_locked(vma));
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 0);
	vma_mark_attached(vma);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);
	mmap_write_unlock(mm);
}

static void read_lock_locked_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0);
	struct mm_struct *mm = current->mm;

	mmap_read_lock(mm);
	KUNIT_EXPECT_TRUE(test, vma_start_read_locked(vma));
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 2);
	if (IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC))
		KUNIT_EXPECT_TRUE(test, vk_lockdep_read_held(vma));
	vma_end_read(vma);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);
	KUNIT_EXPECT_FALSE(test, vk_lockdep_read_held(vma));
	mmap_read_unlock(mm);
}

static void read_lock_rcu_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0);

	if (!vk_lock_expect(test, vk_addr(0) + PAGE_SIZE, vma))
		return;
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 2);
	if (IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC))
		KUNIT_EXPECT_TRUE(test, vk_lockdep_read_held(vma));
	vma_end_read(vma);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);
	KUNIT_EXPECT_FALSE(test, vk_lockdep_read_held(vma));
}

static void write_lock_excludes_readers_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0), *got;
	struct mm_struct *mm = current->mm;

	mmap_write_lock(mm);
	vma_start_write(vma);
	KUNIT_EXPECT_EQ(test, vma->vm_lock_seq, mm->mm_lock_seq.sequence);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);
	vk_expect_refused(test, mm, vk_addr(0));
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);
	mmap_write_unlock(mm);

	got = lock_vma_under_rcu(mm, vk_addr(0));
	KUNIT_EXPECT_PTR_EQ(test, got, vma);
	if (got)
		vma_end_read(got);
}

static void second_start_write_noop_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0);
	struct mm_struct *mm = current->mm;
	unsigned int seq;

	mmap_write_lock(mm);
	vma_start_write(vma);
	seq = vma->vm_lock_seq;
	vma_start_write(vma);
	KUNIT_EXPECT_EQ(test, vma->vm_lock_seq, seq);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);
	KUNIT_EXPECT_TRUE(test, vk_write_locked(vma));
	mmap_write_unlock(mm);
}

static void start_write_killable_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0);
	struct mm_struct *mm = current->mm;

	mmap_write_lock(mm);
	KUNIT_EXPECT_EQ(test, vma_start_write_killable(vma), 0);
	KUNIT_EXPECT_TRUE(test, vk_write_locked(vma));
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);
	mmap_write_unlock(mm);
	KUNIT_EXPECT_FALSE(test, vk_write_locked(vma));
}

enum vk_release { VK_UNLOCK, VK_DOWNGRADE };

static const enum vk_release vk_releases[] = { VK_UNLOCK, VK_DOWNGRADE };

static void vk_release_desc(const enum vk_release *r, char *desc)
{
	strscpy(desc, *r == VK_UNLOCK ? "mmap_write_unlock" : "mmap_write_downgrade",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(vk_release, vk_releases, vk_release_desc);

#define VK_BULK	4

/* mmap_write_unlock() and mmap_write_downgrade() release every VMA at once. */
static void bulk_release_test(struct kunit *test)
{
	const enum vk_release *how = test->param_value;
	struct vm_area_struct *vma[VK_BULK], *got;
	struct mm_struct *mm = current->mm;
	int i;

	for (i = 0; i < VK_BULK; i++)
		vma[i] = vk_map(test, i);
	mmap_write_lock(mm);
	for (i = 0; i < VK_BULK; i++)
		vma_start_write(vma[i]);
	for (i = 0; i < VK_BULK; i++)
		vk_expect_refused(test, mm, vk_addr(i));
	if (*how == VK_UNLOCK)
		mmap_write_unlock(mm);
	else
		mmap_write_downgrade(mm);
	/* For downgrade: readers succeed while mmap_lock is still held for read. */
	for (i = 0; i < VK_BULK; i++) {
		got = lock_vma_under_rcu(mm, vk_addr(i));
		KUNIT_EXPECT_PTR_EQ(test, got, vma[i]);
		if (got)
			vma_end_read(got);
	}
	if (*how == VK_DOWNGRADE)
		mmap_read_unlock(mm);
}

static void lookup_misses_test(struct kunit *test)
{
	struct mm_struct *mm = current->mm;

	vk_map(test, 0);
	vk_map(test, 1);
	/* In the gap between two VMAs, and beyond the last one. */
	vk_expect_refused(test, mm, vk_addr(0) + VK_LEN);
	vk_expect_refused(test, mm, vk_addr(8));
	/* A VMA that munmap detached and removed. */
	KUNIT_ASSERT_EQ(test, vm_munmap(vk_addr(1), VK_LEN), 0);
	vk_expect_refused(test, mm, vk_addr(1));
}

/* At VM_REFCNT_LIMIT a new reader fails instead of reaching the writer flag. */
static void refcount_limit_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0), *got;
	struct mm_struct *mm = current->mm;

	/* LIMIT: both read paths refuse and leave the count alone. */
	refcount_set(&vma->vm_refcnt, VM_REFCNT_LIMIT);
	vk_expect_refused(test, mm, vk_addr(0));
	mmap_read_lock(mm);
	KUNIT_EXPECT_FALSE(test, vma_start_read_locked(vma));
	mmap_read_unlock(mm);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), VM_REFCNT_LIMIT);
	/* LIMIT - 1: one more reader fits, reaches LIMIT, and the next fails. */
	refcount_set(&vma->vm_refcnt, VM_REFCNT_LIMIT - 1);
	got = lock_vma_under_rcu(mm, vk_addr(0));
	KUNIT_EXPECT_PTR_EQ(test, got, vma);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), VM_REFCNT_LIMIT);
	KUNIT_EXPECT_LT(test, vk_refcnt(vma), VK_FLAG);
	vk_expect_refused(test, mm, vk_addr(0));
	if (got)
		vma_end_read(got);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), VM_REFCNT_LIMIT - 1);
	refcount_set(&vma->vm_refcnt, 1);
}

static void speculate_test(struct kunit *test)
{
	struct mm_struct *mm = current->mm;
	unsigned int seq, seq2;

	vk_map(test, 0);
	KUNIT_EXPECT_TRUE(test, mmap_lock_speculate_try_begin(mm, &seq));
	KUNIT_EXPECT_FALSE(test, mmap_lock_speculate_retry(mm, seq));
	mmap_write_lock(mm);
	KUNIT_EXPECT_FALSE(test, mmap_lock_speculate_try_begin(mm, &seq2));
	mmap_write_unlock(mm);
	/* The write section began after try_begin(): retry must say so. */
	KUNIT_EXPECT_TRUE(test, mmap_lock_speculate_retry(mm, seq));
	KUNIT_EXPECT_TRUE(test, mmap_lock_speculate_try_begin(mm, &seq2));
	KUNIT_EXPECT_FALSE(test, mmap_lock_speculate_retry(mm, seq2));
}

static void seq_parity_test(struct kunit *test)
{
	struct mm_struct *mm = current->mm;
	unsigned int seq;

	vk_map(test, 0);
	seq = READ_ONCE(mm->mm_lock_seq.sequence);
	KUNIT_EXPECT_EQ(test, seq & 1, 0);
	mmap_write_lock(mm);
	KUNIT_EXPECT_EQ(test, mm->mm_lock_seq.sequence, seq + 1);
	mmap_write_unlock(mm);
	KUNIT_EXPECT_EQ(test, mm->mm_lock_seq.sequence, seq + 2);
	mmap_write_lock(mm);
	mmap_write_downgrade(mm);
	KUNIT_EXPECT_EQ(test, mm->mm_lock_seq.sequence, seq + 4);
	mmap_read_unlock(mm);
}

static struct kunit_case vmalock_state_cases[] = {
	KUNIT_CASE(attach_detach_test),
	KUNIT_CASE(read_lock_locked_test),
	KUNIT_CASE(read_lock_rcu_test),
	KUNIT_CASE(write_lock_excludes_readers_test),
	KUNIT_CASE(second_start_write_noop_test),
	KUNIT_CASE(start_write_killable_test),
	KUNIT_CASE_PARAM(bulk_release_test, vk_release_gen_params),
	KUNIT_CASE(lookup_misses_test),
	KUNIT_CASE(refcount_limit_test),
	KUNIT_CASE(speculate_test),
	KUNIT_CASE(seq_parity_test),
	{}
};

/* Each test gets an mm of its own, torn down when the test thread exits. */
static int vk_init(struct kunit *test)
{
	return kunit_attach_mm();
}

static struct kunit_suite vmalock_state_suite = {
	.name = "vmalock_state",
	.init = vk_init,
	.test_cases = vmalock_state_cases,
};

/* ---------------------------------------------------------------------- */
/* vmalock_race: forced interleavings */

struct vk_thread {
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	unsigned long addr;
	struct completion locked, reader_in, done, go;
	struct task_struct *task;
	int ret;
	unsigned int refcnt_after;
	bool write_locked_after;
};

static void vk_thread_stop(void *arg)
{
	struct vk_thread *t = arg;

	complete_all(&t->go);
	kthread_stop(t->task);
	put_task_struct(t->task);
	mmput(t->mm);
}

/*
 * Start @fn on @mm (the test's own if NULL). The thread keeps the mm alive,
 * and the test's end releases and stops it even after a failed assertion.
 */
static struct vk_thread *vk_thread_start(struct kunit *test, int (*fn)(void *),
					 struct mm_struct *mm, struct vm_area_struct *vma,
					 unsigned long addr)
{
	struct vk_thread *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->mm = mm ?: current->mm;
	t->vma = vma;
	t->addr = addr;
	init_completion(&t->locked);
	init_completion(&t->reader_in);
	init_completion(&t->done);
	init_completion(&t->go);
	t->task = kthread_create(fn, t, "vmalock_kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t->task));
	get_task_struct(t->task);
	mmget(t->mm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vk_thread_stop, t), 0);
	wake_up_process(t->task);
	return t;
}

/* Return once told to, or once the test is over. */
static void vk_thread_wait_go(struct vk_thread *t)
{
	wait_for_completion(&t->go);
	while (!kthread_should_stop())
		schedule_timeout_uninterruptible(1);
}

static int vk_writer_fn(void *arg)
{
	struct vk_thread *t = arg;

	mmap_write_lock(t->mm);
	complete(&t->locked);
	vma_start_write(t->vma);
	t->refcnt_after = vk_refcnt(t->vma);
	t->write_locked_after = __is_vma_write_locked(t->vma);
	complete(&t->done);
	wait_for_completion(&t->go);
	mmap_write_unlock(t->mm);
	vk_thread_wait_go(t);
	return 0;
}

/* vma_start_write() waits for a reader and proceeds after vma_end_read(). */
static void writer_waits_for_reader_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0);
	struct vk_thread *t;

	if (!vk_lock_expect(test, vk_addr(0), vma))
		return;
	t = vk_thread_start(test, vk_writer_fn, NULL, vma, 0);
	wait_for_completion(&t->locked);
	/* The writer excludes readers and waits for ours: FLAG + 1 + 1. */
	KUNIT_EXPECT_TRUE(test, vk_wait_refcnt(vma, VK_FLAG + 2));
	KUNIT_EXPECT_FALSE(test, completion_done(&t->done));
	vma_end_read(vma);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&t->done, VK_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, t->refcnt_after, 1);
	KUNIT_EXPECT_TRUE(test, t->write_locked_after);
	complete_all(&t->go);
}

static int vk_detacher_fn(void *arg)
{
	struct vk_thread *t = arg;

	mmap_write_lock(t->mm);
	vma_start_write(t->vma);
	complete(&t->locked);
	wait_for_completion(&t->reader_in);
	vma_mark_detached(t->vma);
	t->refcnt_after = vk_refcnt(t->vma);
	complete(&t->done);
	wait_for_completion(&t->go);
	vma_mark_attached(t->vma);
	mmap_write_unlock(t->mm);
	vk_thread_wait_go(t);
	return 0;
}

/*
 * R1: a reader passed vma_start_read()'s early check before the write
 * lock and increments vm_refcnt after it. vma_mark_detached() must wait for
 * that reader to back off, end at 0, and lockdep must stay balanced.
 */
static void detach_waits_for_transient_reader_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0);
	struct vk_thread *t;
	int oldcnt;
	bool ref;

	t = vk_thread_start(test, vk_detacher_fn, NULL, vma, 0);
	wait_for_completion(&t->locked);
	/* The reader's increment, as vma_start_read() does it. */
	ref = __refcount_inc_not_zero_limited_acquire(&vma->vm_refcnt, &oldcnt, VM_REFCNT_LIMIT);
	KUNIT_EXPECT_TRUE(test, ref);
	if (!ref) {
		complete(&t->reader_in);
		return;		/* the cleanup lets the detacher finish */
	}
	__vma_lockdep_acquire_read(vma);
	KUNIT_EXPECT_EQ(test, oldcnt, 1);
	/* It now sees the write lock and will back off. */
	KUNIT_EXPECT_TRUE(test, vk_write_locked(vma));
	complete(&t->reader_in);
	/* The detacher dropped the attach reference and waits for ours. */
	KUNIT_EXPECT_TRUE(test, vk_wait_refcnt(vma, VK_FLAG + 1));
	KUNIT_EXPECT_FALSE(test, completion_done(&t->done));
	vma_refcount_put(vma);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&t->done, VK_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, t->refcnt_after, 0);
	KUNIT_EXPECT_FALSE(test, vk_lockdep_read_held(vma));
	if (IS_ENABLED(CONFIG_LOCKDEP))
		KUNIT_EXPECT_TRUE(test, debug_locks);
	complete_all(&t->go);
}

static int vk_replacer_fn(void *arg)
{
	struct vk_thread *t = arg;

	wait_for_completion(&t->reader_in);
	kthread_use_mm(t->mm);
	t->ret = (int)vm_mmap(NULL, t->addr, VK_LEN, PROT_READ,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	kthread_unuse_mm(t->mm);
	complete(&t->done);
	vk_thread_wait_go(t);
	return 0;
}

/*
 * A reader finds a VMA in the tree, the VMA is replaced (detached, freed)
 * before the reader increments: the increment fails (vma_start_read()'s
 * -EAGAIN) and the retry finds the replacement.
 */
static void detached_reader_retries_test(struct kunit *test)
{
	MA_STATE(mas, &current->mm->mm_mt, vk_addr(0), vk_addr(0));
	struct vm_area_struct *vma = vk_map(test, 0), *found, *got;
	unsigned long timeout = jiffies + VK_TIMEOUT;
	struct vk_thread *t;
	bool replaced = true;

	t = vk_thread_start(test, vk_replacer_fn, NULL, NULL, vk_addr(0));
	rcu_read_lock();
	found = mas_walk(&mas);
	complete(&t->reader_in);
	/* No sleeping inside the RCU read side: spin until replaced. */
	while (!completion_done(&t->done)) {
		if (time_after(jiffies, timeout)) {
			replaced = false;
			break;
		}
		cpu_relax();
	}
	/* The old VMA is type-stable under RCU; it must be detached now. */
	KUNIT_EXPECT_EQ(test, found == vma ? vk_refcnt(vma) : 0, 0);
	rcu_read_unlock();
	KUNIT_EXPECT_PTR_EQ(test, found, vma);
	KUNIT_ASSERT_TRUE(test, replaced);
	KUNIT_EXPECT_EQ(test, t->ret, (int)vk_addr(0));

	got = lock_vma_under_rcu(current->mm, vk_addr(0));
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_EXPECT_PTR_NE(test, got, vma);
	KUNIT_EXPECT_FALSE(test, got->vm_flags & VM_WRITE);	/* the replacement */
	KUNIT_EXPECT_EQ(test, got->vm_start, vk_addr(0));
	vma_end_read(got);
	complete_all(&t->go);
}

/* The kretprobe makes mas_walk() return a VMA of another mm, once. */
static struct {
	struct task_struct *task;
	struct vm_area_struct *other;
	atomic_t hits;
} vk_reuse;

static int vk_mas_walk_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (current != READ_ONCE(vk_reuse.task) || !regs_return_value(regs))
		return 0;
	if (atomic_inc_return(&vk_reuse.hits) == 1)
		regs_set_return_value(regs, (unsigned long)vk_reuse.other);
	return 0;
}

/* Set afresh before each registration: one leaves kp.addr and more set. */
static struct kretprobe vk_mas_walk_probe;

static int vk_mapper_fn(void *arg)
{
	struct vk_thread *t = arg;

	kthread_use_mm(t->mm);
	t->ret = (int)vm_mmap(NULL, t->addr, VK_LEN, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);
	mmap_read_lock(t->mm);
	t->vma = vma_lookup(t->mm, t->addr);
	mmap_read_unlock(t->mm);
	kthread_unuse_mm(t->mm);
	complete(&t->done);
	vk_thread_wait_go(t);
	return 0;
}

static void vk_mmput(void *mm)
{
	mmput(mm);
}

/*
 * SLAB_TYPESAFE_BY_RCU: the tree walk under RCU can yield a VMA that was
 * freed and reused by another mm, at the same address. lock_vma_under_rcu()
 * must not return it for the old mm (the Dec 2024 vm_mm check, R8).
 */
static void reused_vma_of_other_mm_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0), *got;
	struct mm_struct *other_mm;
	struct vk_thread *t;

	if (!IS_ENABLED(CONFIG_KRETPROBES))
		kunit_skip(test, "needs CONFIG_KRETPROBES to stand in for the race");
	other_mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, other_mm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vk_mmput, other_mm), 0);
	other_mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(other_mm, &current->signal->rlim[RLIMIT_STACK]);

	t = vk_thread_start(test, vk_mapper_fn, other_mm, NULL, vk_addr(0));
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&t->done, VK_TIMEOUT), 0);
	KUNIT_ASSERT_EQ(test, t->ret, (int)vk_addr(0));
	KUNIT_ASSERT_NOT_NULL(test, t->vma);

	vk_reuse.other = t->vma;
	atomic_set(&vk_reuse.hits, 0);
	WRITE_ONCE(vk_reuse.task, current);
	/* A second run (debugfs kunit/vmalock_race/run) would get -EINVAL. */
	vk_mas_walk_probe = (struct kretprobe) {
		.kp.symbol_name = "mas_walk",
		.handler = vk_mas_walk_ret,
		.maxactive = 16,
	};
	KUNIT_ASSERT_EQ(test, register_kretprobe(&vk_mas_walk_probe), 0);
	got = lock_vma_under_rcu(current->mm, vk_addr(0));
	unregister_kretprobe(&vk_mas_walk_probe);
	WRITE_ONCE(vk_reuse.task, NULL);

	KUNIT_EXPECT_GE(test, atomic_read(&vk_reuse.hits), 1);
	KUNIT_EXPECT_NULL(test, got);
	if (got && got->vm_mm != current->mm)
		KUNIT_FAIL(test, "returned a VMA of another mm");
	if (got)
		vma_end_read(got);
	KUNIT_EXPECT_EQ(test, vk_refcnt(t->vma), 1);	/* its reference was dropped */
	/* Without the stand-in, the lookup finds our own VMA. */
	got = lock_vma_under_rcu(current->mm, vk_addr(0));
	KUNIT_EXPECT_PTR_EQ(test, got, vma);
	if (got)
		vma_end_read(got);
	complete_all(&t->go);
}

static int vk_killable_writer_fn(void *arg)
{
	struct vk_thread *t = arg;

	allow_signal(SIGKILL);
	mmap_write_lock(t->mm);
	complete(&t->locked);
	t->ret = vma_start_write_killable(t->vma);
	t->refcnt_after = vk_refcnt(t->vma);
	t->write_locked_after = __is_vma_write_locked(t->vma);
	mmap_write_unlock(t->mm);
	complete(&t->done);
	vk_thread_wait_go(t);
	return 0;
}

/* A killed vma_start_write_killable() returns -EINTR and restores the count. */
static void start_write_killable_killed_test(struct kunit *test)
{
	struct vm_area_struct *vma = vk_map(test, 0), *got;
	struct vk_thread *t;

	if (!vk_lock_expect(test, vk_addr(0), vma))
		return;
	t = vk_thread_start(test, vk_killable_writer_fn, NULL, vma, 0);
	wait_for_completion(&t->locked);
	KUNIT_EXPECT_TRUE(test, vk_wait_refcnt(vma, VK_FLAG + 2));
	send_sig(SIGKILL, t->task, 1);
	KUNIT_EXPECT_GT(test, wait_for_completion_timeout(&t->done, VK_TIMEOUT), 0);
	KUNIT_EXPECT_EQ(test, t->ret, -EINTR);
	KUNIT_EXPECT_EQ(test, t->refcnt_after, 2);	/* attached + our reader */
	KUNIT_EXPECT_FALSE(test, t->write_locked_after);
	vma_end_read(vma);
	KUNIT_EXPECT_EQ(test, vk_refcnt(vma), 1);
	/* Still attached and usable. */
	got = lock_vma_under_rcu(current->mm, vk_addr(0));
	KUNIT_EXPECT_PTR_EQ(test, got, vma);
	if (got)
		vma_end_read(got);
	complete_all(&t->go);
}

static struct kunit_case vmalock_race_cases[] = {
	KUNIT_CASE(writer_waits_for_reader_test),
	KUNIT_CASE(detach_waits_for_transient_reader_test),
	KUNIT_CASE(detached_reader_retries_test),
	KUNIT_CASE(reused_vma_of_other_mm_test),
	KUNIT_CASE(start_write_killable_killed_test),
	{}
};

static struct kunit_suite vmalock_race_suite = {
	.name = "vmalock_race",
	.init = vk_init,
	.test_cases = vmalock_race_cases,
};

/* ---------------------------------------------------------------------- */
/* vmalock_free: the vm_area_free() monitor of vmalock_test */

static void vk_monitor_stop(void *m)
{
	vm_free_monitor_stop(m);
}

static struct vm_free_monitor *vk_monitor_start(struct kunit *test,
						struct vm_area_struct **held)
{
	struct vm_free_monitor *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	int err;

	KUNIT_ASSERT_NOT_NULL(test, m);
	m->held = held;
	m->nr_held = 1;
	err = vm_free_monitor_start(m);
	if (err)
		kunit_skip(test, "cannot kprobe vm_area_free (%d)", err);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vk_monitor_stop, m), 0);
	return m;
}

static void free_detached_silent_test(struct kunit *test)
{
	struct vm_area_struct *held[1] = { NULL };
	struct vm_free_monitor *m = vk_monitor_start(test, held);
	char buf[160];

	vk_map(test, 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(vk_addr(0), VK_LEN), 0);
	KUNIT_EXPECT_GE(test, atomic64_read(&m->frees), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&m->reader_at_free), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&m->refcount_at_free), 0);
	KUNIT_EXPECT_FALSE(test, vm_free_monitor_first(m, buf, sizeof(buf)));
}

/*
 * A deliberately broken reader: it records the VMA as held without taking
 * vm_refcnt, so nothing stops munmap from freeing it. The monitor must name
 * it. The mm itself is left intact: the reader never touches the VMA.
 */
static void free_with_reader_reported_test(struct kunit *test)
{
	struct vm_area_struct *held[1] = { NULL };
	struct vm_free_monitor *m = vk_monitor_start(test, held);
	struct vm_area_struct *vma = vk_map(test, 0);
	char buf[160];

	WRITE_ONCE(held[0], vma);
	/* Publish before the free; pairs with the monitor's smp_mb(). */
	smp_mb();
	KUNIT_ASSERT_EQ(test, vm_munmap(vk_addr(0), VK_LEN), 0);
	WRITE_ONCE(held[0], NULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&m->reader_at_free), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&m->refcount_at_free), 0);
	KUNIT_ASSERT_TRUE(test, vm_free_monitor_first(m, buf, sizeof(buf)));
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "[reader_at_free]"));
}

static struct kunit_case vmalock_free_cases[] = {
	KUNIT_CASE(free_detached_silent_test),
	KUNIT_CASE(free_with_reader_reported_test),
	{}
};

static struct kunit_suite vmalock_free_suite = {
	.name = "vmalock_free",
	.init = vk_init,
	.test_cases = vmalock_free_cases,
};

kunit_test_suites(&vmalock_state_suite, &vmalock_race_suite, &vmalock_free_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of the per-VMA lock");
