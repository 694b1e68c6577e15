/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Free monitor shared by vmalock_test.ko and the KUnit suites: a kprobe on
 * vm_area_free() that checks every VMA freed in the system (invariant 1 of
 * Documentation/vmalock-test/protocol.rst): its vm_refcnt must be 0 and no
 * registered reader may hold it.
 *
 * The kprobe handler runs in int3 context, which lockdep treats like NMI: it
 * only counts and claims a record with atomics, no locks and no printk.
 *
 * Both modules include this file; it is small enough not to be a module of
 * its own.
 */
#ifndef _VMALOCK_MONITOR_H
#define _VMALOCK_MONITOR_H

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/ptrace.h>

struct vm_free_monitor {
	/* Set by the user before vm_free_monitor_start(). */
	struct vm_area_struct **held;	/* one slot per reader, NULL if none */
	int nr_held;

	/* Results, valid while running and after vm_free_monitor_stop(). */
	atomic64_t frees;		/* vm_area_free() calls seen */
	atomic64_t reader_at_free;	/* freed while a slot held it */
	atomic64_t refcount_at_free;	/* freed with vm_refcnt != 0 */
	/* First violation; see vm_free_monitor_first(). */
	atomic_t claimed;
	int ready;
	bool reader;		/* reader_at_free, else refcount_at_free */
	u64 ns;			/* ktime_get_mono_fast_ns() when seen */
	unsigned long start, end;
	unsigned int refcnt;
	int slot;

	struct kprobe kp;
};

static inline void vm_free_monitor_claim(struct vm_free_monitor *m, bool reader,
					 struct vm_area_struct *vma, unsigned int cnt, int slot)
{
	atomic64_inc(reader ? &m->reader_at_free : &m->refcount_at_free);
	if (atomic_cmpxchg(&m->claimed, 0, 1))
		return;
	m->reader = reader;
	m->ns = ktime_get_mono_fast_ns();
	m->start = vma->vm_start;
	m->end = vma->vm_end;
	m->refcnt = cnt;
	m->slot = slot;
	/* The record is complete before it is seen; pairs with vm_free_monitor_first(). */
	smp_store_release(&m->ready, 1);
}

static inline int vm_free_monitor_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_free_monitor *m = container_of(p, struct vm_free_monitor, kp);
	struct vm_area_struct *vma = (void *)regs_get_kernel_argument(regs, 0);
	unsigned int cnt;
	int i;

	if (!vma)
		return 0;
	atomic64_inc(&m->frees);
	cnt = refcount_read(&vma->vm_refcnt);
	if (cnt)
		vm_free_monitor_claim(m, false, vma, cnt, -1);
	/* Pairs with the readers' smp_mb() after publishing their slot. */
	smp_mb();
	for (i = 0; i < m->nr_held; i++)
		if (READ_ONCE(m->held[i]) == vma)
			vm_free_monitor_claim(m, true, vma, cnt, i);
	return 0;
}

/*
 * Never called: a kprobe with a post handler is not optimized into a jump.
 * Under QEMU TCG, an optimized probe unregistered just before the same task
 * freed a VMA left it a stale int3 (an Oops at vm_area_free+0x5).
 */
static inline void vm_free_monitor_post(struct kprobe *p, struct pt_regs *regs,
					unsigned long flags)
{
}

static inline int vm_free_monitor_start(struct vm_free_monitor *m)
{
	atomic64_set(&m->frees, 0);
	atomic64_set(&m->reader_at_free, 0);
	atomic64_set(&m->refcount_at_free, 0);
	atomic_set(&m->claimed, 0);
	m->ready = 0;
	memset(&m->kp, 0, sizeof(m->kp));
	m->kp.symbol_name = "vm_area_free";
	m->kp.pre_handler = vm_free_monitor_pre;
	m->kp.post_handler = vm_free_monitor_post;
	return register_kprobe(&m->kp);
}

static inline void vm_free_monitor_stop(struct vm_free_monitor *m)
{
	unregister_kprobe(&m->kp);	/* waits for running handlers */
}

/*
 * Describe the first violation in @buf; returns false if there was none.
 */
static inline bool vm_free_monitor_first(struct vm_free_monitor *m, char *buf, size_t size)
{
	/* Pairs with the release in vm_free_monitor_claim(). */
	if (!smp_load_acquire(&m->ready))
		return false;
	if (m->reader)
		scnprintf(buf, size,
			  "[reader_at_free] vm_area_free() of [%lx-%lx) while reader slot %d holds it, refcnt=%u",
			  m->start, m->end, m->slot, m->refcnt);
	else
		scnprintf(buf, size,
			  "[refcount_at_free] vm_area_free() of [%lx-%lx) with refcnt=%u, expected 0",
			  m->start, m->end, m->refcnt);
	return true;
}

#endif /* _VMALOCK_MONITOR_H */
