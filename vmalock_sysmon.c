// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_test: the system-wide monitor.
 *
 * Probes on the vma_lock tracepoints (patches/0003) see every per-VMA lock
 * operation of the running kernel, not only the harness's: page faults from
 * user space, /proc maps readers, fork, split, mremap, ... While a run is
 * active the monitor keeps a record of every VMA read lock held by any task
 * and checks (Documentation/vmalock-test/protocol.rst, invariants 13, 14 and the
 * system-wide halves of 2 and 3):
 *
 *   stable_while_read_locked  what a reader saw at lock time (bounds, pgoff,
 *                             flags, file, mm; anon_vma may only go from NULL
 *                             to set) is unchanged when it unlocks
 *   sys_rw_exclusion          no vma_start_write() returns while a recorded
 *                             reader holds the VMA
 *   sys_reader_at_detach      no vma_mark_detached() returns while a recorded
 *                             reader holds the VMA (every VMA is detached
 *                             before vm_area_free(), which asserts it)
 *   lock_order                a task holding a VMA read lock never waits for
 *                             an mmap_lock (mmap_read_trylock() is fine)
 *
 * and counts, per call site of the write lock (and of detach, and of the
 * read lock), how often it ran and how often it found readers to wait for:
 * which kernel paths the run exercised under contention.
 *
 * The probes run in whatever context the lock operation runs in, maybe
 * atomic, and inside the lock operations being measured, so they share as
 * little as they can: the read-lock records are hashed by VMA and by task
 * into buckets with a lock each, and come from a pool allocated at start
 * that each CPU draws on in batches (a full pool is counted, never slept
 * on); counts and call sites are kept per CPU and summed when collected. A
 * violation is only recorded in the probe (under the one shared lock,
 * which the rare paths take); it is formatted when the harness collects it
 * after the scenario.
 *
 * Optionally (struct vt_sys_delay) the probes pause the harness's and the
 * stressor's tasks at the lock's steps, at random, so that rare
 * interleavings come up more often; the pauses are seeded and counted.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hash.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/log2.h>
#include <linux/mempolicy.h>
#include <linux/mutex.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/stacktrace.h>
#include <linux/string.h>
#include <linux/userfaultfd_k.h>
#include <linux/vmalloc.h>

#include "vmalock_core.h"

const char * const vt_site_kind_names[NR_VT_SITE_KINDS] = {
	[VT_SITE_READ] = "read",
	[VT_SITE_WRITE] = "write",
	[VT_SITE_DETACH] = "detach",
	[VT_SITE_KILLED] = "write_killed",
};

const char * const vt_sys_count_names[NR_VT_SYS_COUNTS] = {
	[VT_SYS_READS] = "sys_read_locks",
	[VT_SYS_REFUSED] = "sys_read_refused",
	[VT_SYS_WRITES] = "sys_write_locks",
	[VT_SYS_WAITED] = "sys_write_waits",
	[VT_SYS_DETACHES] = "sys_detaches",
	[VT_SYS_MMAP_WAITS] = "sys_mmap_lock_waits",
	[VT_SYS_UNMATCHED] = "sys_unmatched_unlocks",
	[VT_SYS_OVERFLOW] = "sys_untracked_readers",
	[VT_SYS_MEMORY_ERRORS] = "sys_memory_errors",
	[VT_SYS_DELAYS] = "sys_delays",
	[VT_SYS_DELAY_US] = "sys_delay_us",
	[VT_SYS_SITS] = "sys_sits",
	[VT_SYS_SIT_US] = "sys_sit_us",
	[VT_SYS_ANON_PREPARES] = "sys_anon_prepares",
};

#if VT_HAVE_VMA_LOCK_TRACE

#include <linux/kfence.h>
#include <trace/events/error_report.h>
#include <trace/events/mmap_lock.h>
#include <trace/events/vma_lock.h>

#define VT_SYS_READERS		8192	/* read locks held at once, system-wide */
#define VT_SYS_BATCH		32	/* records a CPU takes from the pool at once */
#define VT_SYS_VMA_BITS		12
#define VT_SYS_TASK_BITS	10
#define VT_SYS_HOLDER_BITS	10	/* mmap_lock holds at once, system-wide */
#define VT_SYS_NOTE_BITS	8	/* anon_vma set-ups noted at once */
#define VT_SYS_SLOT_PROBE	16	/* slots a task's entry may take, from its hash */
#define VT_SYS_SITES		1024	/* call sites, a power of two */
#define VT_SYS_STACK		8
#define VT_SYS_RELEASED		256	/* KFENCE VMAs last read-unlocked, a ring */
#define VT_SYS_SAY_LEN		320	/* one violation, as said on the console */

/*
 * Where the probes pause when asked to (struct vt_sys_delay), named after
 * the event they pause at. Patch 0003 has no event before a writer starts
 * to wait for readers; the closest is mmap_lock_acquire_returned for a
 * write lock: the writer holds mmap_lock and is about to write-lock VMAs.
 */
enum vt_delay_step {
	VT_DELAY_READ_LOCKED,		/* vma_read_locked: holding the read lock */
	VT_DELAY_NEXT_VMA,		/* ... taken by lock_next_vma() (/proc maps) */
	VT_DELAY_READ_REFUSED,		/* vma_read_refused: before the retry or fallback */
	VT_DELAY_MMAP_WRITE_LOCKED,	/* mmap write lock taken: before vma_start_write() */
	VT_DELAY_DETACH_BEGIN,		/* vma_detach_begin: before detach waits */
	VT_DELAY_READ_UNLOCKED,		/* vma_read_unlocked: before the put */
	NR_VT_DELAY_STEPS
};

static const char * const vt_delay_step_names[NR_VT_DELAY_STEPS] = {
	[VT_DELAY_READ_LOCKED] = "read_locked",
	[VT_DELAY_NEXT_VMA] = "next_vma",
	[VT_DELAY_READ_REFUSED] = "read_refused",
	[VT_DELAY_MMAP_WRITE_LOCKED] = "mmap_write_locked",
	[VT_DELAY_DETACH_BEGIN] = "detach_begin",
	[VT_DELAY_READ_UNLOCKED] = "read_unlocked",
};

/*
 * The tasks that are paused, by the start of their comm: the harness's and
 * the bench's kthreads (vmalock_ROLE/N, vmalock_ctl, vmalock_bench/N) and
 * user/vmalock_user_stress ("vmalock_user_st"), and the selftest the
 * stressor's maps checks follow (tools/testing/selftests/proc), if run in
 * the guest. Every other task of the guest runs at its own pace.
 */
static const char * const vt_delay_comms[] = {
	"vmalock_",
	"proc-maps-race",
};

/*
 * The sitters: tasks that read-lock the VMA another task of theirs is about
 * to change (user/vmalock_user_stress), so that a reader is there when the
 * write lock comes. vt_sys_sit() holds their read locks until it does.
 */
#define VT_SIT_COMM	"vmalock_sit"

/* What a reader saw of its VMA when it took the read lock. */
struct vt_vma_view {
	unsigned long start, end, pgoff, flags;
	struct file *file;
	struct mm_struct *mm;
	struct anon_vma *anon_vma;
	void *policy;			/* vm_policy (NUMA) */
	unsigned long policy_nodes;	/* ... its nodes (a cpuset rebinds them) */
	void *uffd_ctx;			/* vm_userfaultfd_ctx.ctx (USERFAULTFD) */
	unsigned int uffd_features;	/* ... its features (UFFDIO_SET_MODE) */
};

struct vt_sys_reader {
	struct hlist_node by_vma;	/* or in a free list */
	struct hlist_node by_task;
	struct vm_area_struct *vma;
	struct task_struct *task;	/* compared, never dereferenced */
	pid_t pid;
	unsigned long ip;		/* where the read lock was taken */
	struct vt_vma_view seen;
};

/*
 * A task and what it has: an mm whose mmap_lock it holds (holders), a VMA
 * whose anon_vma it set up without it (notes). task NULL: a free slot.
 */
struct vt_sys_slot {
	struct task_struct *task;	/* compared, never dereferenced */
	const void *key;
};

/* Records hashed by VMA or by task, under a lock of their own. */
struct vt_sys_bucket {
	raw_spinlock_t lock;
	struct hlist_head head;
};

/* A read unlock of a VMA that KFENCE guards: touched later, it faults. */
struct vt_sys_released {
	struct vm_area_struct *vma;
	unsigned long ip;		/* where it was unlocked */
	pid_t pid;
	u64 ns;
};

struct vt_sys_site {
	unsigned long ip;		/* set last: 0 while the slot is free */
	enum vt_site_kind kind;
	bool next_vma;			/* read lock: taken by lock_next_vma() */
	u64 calls, locked, with_readers, wait_ns, max_wait_ns;
	u64 readable;			/* write: locks a reader could have met */
};

/* The first violation since the last collection, as seen (not formatted). */
struct vt_sys_first {
	bool set;
	enum vt_inv inv;
	u64 ns;
	unsigned long start, end;	/* the VMA's bounds as the reader saw them */
	unsigned long reader_ip, ip;	/* read lock taken at; the offending call */
	const char *field;		/* stable_while_read_locked: what changed */
	bool admitted;			/* sys_rw_exclusion, seen by the reader */
	unsigned long old, new;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	pid_t reader_pid;
	unsigned long addr;		/* use_after_put: the access */
	u64 after_ns;			/* ... this long after the unlock */
};

/*
 * What one CPU counts and keeps. Only probes running on it write it, with
 * interrupts off; the collection reads it at any time, so the counters are
 * written whole (WRITE_ONCE) and a call site is published by its ip.
 */
struct vt_sys_cpu {
	u64 counts[NR_VT_SYS_COUNTS];
	struct hlist_head free;		/* records this CPU hands out */
	unsigned int nr_free;
	u64 sites_full;			/* call sites not counted: table full */
	struct rnd_state rnd;		/* the pauses', seeded per CPU */
	u64 delays[NR_VT_DELAY_STEPS];
	struct vt_sys_site sites[VT_SYS_SITES];
} ____cacheline_aligned_in_smp;

struct vt_sys {
	/* The pool's reserve, the violations, the KFENCE ring: rare paths. */
	raw_spinlock_t lock;
	struct hlist_head free;
	struct vt_sys_released released[VT_SYS_RELEASED];
	unsigned int nr_released;	/* ever; the ring's next slot modulo its size */
	u64 inv[NR_INVS];
	u64 inv_taken[NR_INVS];
	struct vt_sys_first first;

	struct vt_sys_bucket vmas[1 << VT_SYS_VMA_BITS];
	struct vt_sys_bucket tasks[1 << VT_SYS_TASK_BITS];
	/* Who holds which mm's mmap_lock; holders_lost: one did not fit. */
	struct vt_sys_slot holders[1 << VT_SYS_HOLDER_BITS];
	bool holders_lost;
	struct kprobe anon_prepare;	/* on __anon_vma_prepare() */
	struct vt_sys_slot notes[1 << VT_SYS_NOTE_BITS];
	atomic_t nr_notes;
	struct vt_sys_reader readers[VT_SYS_READERS];
	atomic_long_t held;		/* read locks recorded now */
	unsigned long held_max;		/* ... at most (a racy maximum) */
	u64 taken[NR_VT_SYS_COUNTS];	/* at the last collection */
	struct vt_sys_delay delay;
	unsigned long probes;		/* attached: BIT(enum vt_sys_probe) */
	struct vt_sys_cpu *cpu;		/* nr_cpu_ids of them */
};

/* The monitor of the run or bench in progress; set and cleared under vt_sys_mutex. */
static struct vt_sys *vt_sys;
static DEFINE_MUTEX(vt_sys_mutex);

/* A counter of this CPU's, which the collection reads without a lock. */
static inline void vt_sys_add(u64 *counter, u64 n)
{
	WRITE_ONCE(*counter, *counter + n);
}

/* The current CPU's part; interrupts are off. */
static inline struct vt_sys_cpu *vt_sys_this_cpu(struct vt_sys *s)
{
	return &s->cpu[smp_processor_id()];
}

static void vt_vma_view(struct vm_area_struct *vma, struct vt_vma_view *v)
{
	v->start = vma->vm_start;
	v->end = vma->vm_end;
	v->pgoff = vma->vm_pgoff;
	/* The only flags a read-lock holder may set (madvise guard regions). */
	v->flags = vma->vm_flags & ~VM_ATOMIC_SET_ALLOWED;
	v->file = vma->vm_file;
	v->mm = vma->vm_mm;
	v->anon_vma = vma->anon_vma;
#ifdef CONFIG_NUMA
	v->policy = vma->vm_policy;
	/* mpol_rebind_mm() changes them in place, VMA by VMA write-locked. */
	v->policy_nodes = v->policy ? nodes_addr(vma->vm_policy->nodes)[0] : 0;
#endif
#ifdef CONFIG_USERFAULTFD
	v->uffd_ctx = vma->vm_userfaultfd_ctx.ctx;
	/*
	 * UFFDIO_SET_MODE write-locks every VMA of the context before it
	 * flips these, so that no fault in flight sees the mode change.
	 */
	v->uffd_features = v->uffd_ctx ? READ_ONCE(vma->vm_userfaultfd_ctx.ctx->features) : 0;
#endif
}

/* A violation of @inv by the current task at @ip, to be completed and reported. */
static void vt_sys_violation(struct vt_sys_first *f, enum vt_inv inv, unsigned long ip)
{
	memset(f, 0, sizeof(*f));
	f->set = true;
	f->inv = inv;
	f->ns = ktime_get_ns();
	f->ip = ip;
	f->pid = task_pid_nr(current);
	get_task_comm(f->comm, current);
}

/* As vt_sys_violation(), against the read lock that @r records. */
static void vt_sys_violation_reader(struct vt_sys_first *f, enum vt_inv inv,
				    const struct vt_sys_reader *r, unsigned long ip)
{
	vt_sys_violation(f, inv, ip);
	f->start = r->seen.start;
	f->end = r->seen.end;
	f->reader_ip = r->ip;
	f->reader_pid = r->pid;
}

/*
 * Count violation @f; keep it if it is the first since the last collection.
 * Returns whether it is, for the caller to say it. Under s->lock.
 */
static bool __vt_sys_claim(struct vt_sys *s, const struct vt_sys_first *f)
{
	s->inv[f->inv]++;
	if (s->first.set)
		return false;
	s->first = *f;
	return true;
}

static void vt_sys_format(const struct vt_sys_first *f, char *buf, size_t size)
{
	int len = scnprintf(buf, size, "[%s] ", vt_inv_names[f->inv]);

	switch (f->inv) {
	case INV_STABLE_WHILE_READ_LOCKED:
		scnprintf(buf + len, size - len,
			  "%s of [%lx-%lx) went %#lx -> %#lx while %s/%d held it read-locked (taken at %pS, released at %pS)",
			  f->field, f->start, f->end, f->old, f->new, f->comm, f->pid,
			  (void *)f->reader_ip, (void *)f->ip);
		break;
	case INV_ANON_VMA_UNDER_MMAP_LOCK:
		scnprintf(buf + len, size - len,
			  "%s/%d set up anon_vma of [%lx-%lx) holding its read lock (taken at %pS, released at %pS) but not mmap_lock",
			  f->comm, f->pid, f->start, f->end, (void *)f->reader_ip, (void *)f->ip);
		break;
	case INV_SYS_RW_EXCLUSION:
		if (f->admitted) {
			scnprintf(buf + len, size - len,
				  "%s/%d was admitted at %pS into [%lx-%lx) while it was write-locked (vm_lock_seq %lu = mm_lock_seq)",
				  f->comm, f->pid, (void *)f->ip, f->start, f->end, f->old);
			break;
		}
		fallthrough;
	case INV_SYS_READER_AT_DETACH:
		scnprintf(buf + len, size - len,
			  "%s returned to %s/%d at %pS while task %d held [%lx-%lx) read-locked (taken at %pS)",
			  f->inv == INV_SYS_RW_EXCLUSION ? "vma_start_write()" :
			  "vma_mark_detached()",
			  f->comm, f->pid, (void *)f->ip, f->reader_pid, f->start, f->end,
			  (void *)f->reader_ip);
		break;
	case INV_USE_AFTER_PUT:
		scnprintf(buf + len, size - len,
			  "%s/%d touched VMA %p at +%#lx %llu ms after task %d read-unlocked it at %pS (KFENCE report)",
			  f->comm, f->pid, (void *)f->start, f->addr - f->start,
			  div_u64(f->after_ns, NSEC_PER_MSEC), f->reader_pid, (void *)f->ip);
		break;
	default:
		scnprintf(buf + len, size - len,
			  "%s/%d waits for mmap_lock at %pS while holding [%lx-%lx) read-locked (taken at %pS)",
			  f->comm, f->pid, (void *)f->ip, f->start, f->end,
			  (void *)f->reader_ip);
		break;
	}
}

/*
 * The first violation, said at once and in full, outside every lock of
 * ours: a lock-order bug may deadlock the kernel before the scenario ends
 * and the report is written.
 */
static void vt_sys_say(const struct vt_sys_first *f)
{
	char buf[VT_SYS_SAY_LEN];

	vt_sys_format(f, buf, sizeof(buf));
	pr_err("sysmon: violation: %s\n", buf);
}

/* Count violation @f, and say it if it is the first. */
static void vt_sys_report(struct vt_sys *s, const struct vt_sys_first *f)
{
	unsigned long flags;
	bool first;

	raw_spin_lock_irqsave(&s->lock, flags);
	first = __vt_sys_claim(s, f);
	raw_spin_unlock_irqrestore(&s->lock, flags);
	if (first)
		vt_sys_say(f);
}

static struct vt_sys_bucket *vt_sys_vma_bucket(struct vt_sys *s, struct vm_area_struct *vma)
{
	return &s->vmas[hash_ptr(vma, VT_SYS_VMA_BITS)];
}

static struct vt_sys_bucket *vt_sys_task_bucket(struct vt_sys *s, struct task_struct *task)
{
	return &s->tasks[hash_ptr(task, VT_SYS_TASK_BITS)];
}

/* A record of @vma (held by @task, or by anyone if NULL). Under its bucket's lock. */
static struct vt_sys_reader *vt_sys_find(struct vt_sys_bucket *b, struct vm_area_struct *vma,
					 struct task_struct *task)
{
	struct vt_sys_reader *r;

	hlist_for_each_entry(r, &b->head, by_vma)
		if (r->vma == vma && (!task || r->task == task))
			return r;
	return NULL;
}

/* A free record from this CPU's batch, refilled from the pool; interrupts off. */
static struct vt_sys_reader *vt_sys_get_record(struct vt_sys *s, struct vt_sys_cpu *c)
{
	struct vt_sys_reader *r;
	int i;

	if (hlist_empty(&c->free)) {
		raw_spin_lock(&s->lock);
		for (i = 0; i < VT_SYS_BATCH && !hlist_empty(&s->free); i++) {
			r = hlist_entry(s->free.first, struct vt_sys_reader, by_vma);
			hlist_del(&r->by_vma);
			hlist_add_head(&r->by_vma, &c->free);
			c->nr_free++;
		}
		raw_spin_unlock(&s->lock);
	}
	r = hlist_entry_safe(c->free.first, struct vt_sys_reader, by_vma);
	if (r) {
		hlist_del(&r->by_vma);
		c->nr_free--;
	}
	return r;
}

/* Give @r back to this CPU's batch, and a batch back to the pool if it grew; irqs off. */
static void vt_sys_put_record(struct vt_sys *s, struct vt_sys_cpu *c, struct vt_sys_reader *r)
{
	hlist_add_head(&r->by_vma, &c->free);
	if (++c->nr_free < 2 * VT_SYS_BATCH)
		return;
	raw_spin_lock(&s->lock);
	while (c->nr_free > VT_SYS_BATCH) {
		r = hlist_entry(c->free.first, struct vt_sys_reader, by_vma);
		hlist_del(&r->by_vma);
		hlist_add_head(&r->by_vma, &s->free);
		c->nr_free--;
	}
	raw_spin_unlock(&s->lock);
}

/*
 * A write lock or a detach of @vma returned at @ip: no task may still hold
 * it read-locked (@inv names which).
 */
static void vt_sys_no_reader(struct vt_sys *s, struct vm_area_struct *vma, unsigned long ip,
			     enum vt_inv inv)
{
	struct vt_sys_bucket *b = vt_sys_vma_bucket(s, vma);
	struct vt_sys_first f = {};
	struct vt_sys_reader *r;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	r = vt_sys_find(b, vma, NULL);
	if (r)
		vt_sys_violation_reader(&f, inv, r, ip);
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (f.set)
		vt_sys_report(s, &f);
}

/*
 * Exclusion from the reader's side: a read lock just taken at @ip is on a
 * VMA that is not write-locked. A writer marks the VMA (vm_lock_seq) only
 * once the readers are out, and this reader holds its reference, so the
 * mark can only be an old one the read path failed to check. Taken under
 * mmap_lock (vma_start_read_locked()), no write lock can be in its cycle.
 */
static void vt_sys_admitted(struct vt_sys *s, struct vm_area_struct *vma, unsigned long ip)
{
	struct vt_sys_first f;

	if (!vma_write_locked_now(vma, vma->vm_mm))
		return;
	vt_sys_violation(&f, INV_SYS_RW_EXCLUSION, ip);
	f.admitted = true;
	f.start = vma->vm_start;
	f.end = vma->vm_end;
	f.old = READ_ONCE(vma->vm_lock_seq);
	f.reader_ip = ip;
	f.reader_pid = f.pid;
	vt_sys_report(s, &f);
}

/* Whether the read lock of this call stack was taken by lock_next_vma(). */
static bool vt_sys_via_next_vma(void)
{
	unsigned long stack[VT_SYS_STACK];
	char sym[KSYM_SYMBOL_LEN];
	unsigned int i, n;

	n = stack_trace_save(stack, VT_SYS_STACK, 0);
	for (i = 0; i < n; i++) {
		sprint_symbol_no_offset(sym, stack[i]);
		if (strstarts(sym, "lock_next_vma"))
			return true;
	}
	return false;
}

/* Count a call at @ip in this CPU's table; interrupts off. */
static struct vt_sys_site *vt_sys_count_site(struct vt_sys *s, struct vt_sys_cpu *c,
					     enum vt_site_kind kind, unsigned long ip,
					     bool locked, bool waited, u64 wait_ns,
					     bool readable)
{
	unsigned int i = hash_long(ip ^ kind, ilog2(VT_SYS_SITES)), n;
	struct vt_sys_site *site = NULL;

	for (n = 0; n < VT_SYS_SITES; n++, i = (i + 1) & (VT_SYS_SITES - 1)) {
		site = &c->sites[i];
		if (site->ip == ip && site->kind == kind)
			break;
		if (!site->ip) {
			site->kind = kind;
			/* Only the pauses tell lock_next_vma()'s read locks apart. */
			site->next_vma = kind == VT_SITE_READ && s->delay.rate &&
					 vt_sys_via_next_vma();
			/* Published with its kind: vt_sysmon_report() reads it. */
			smp_store_release(&site->ip, ip);
			break;
		}
	}
	if (n == VT_SYS_SITES) {
		vt_sys_add(&c->sites_full, 1);
		return NULL;
	}
	vt_sys_add(&site->calls, 1);
	vt_sys_add(&site->locked, locked);
	vt_sys_add(&site->with_readers, waited);
	vt_sys_add(&site->readable, readable);
	vt_sys_add(&site->wait_ns, wait_ns);
	if (wait_ns > site->max_wait_ns)
		WRITE_ONCE(site->max_wait_ns, wait_ns);
	return site;
}

/* Count @n of @what on this CPU. */
static void vt_sys_count(struct vt_sys *s, enum vt_sys_count what, u64 n)
{
	unsigned long flags;

	local_irq_save(flags);
	vt_sys_add(&vt_sys_this_cpu(s)->counts[what], n);
	local_irq_restore(flags);
}

/* ---------------------------------------------------------------------- */
/* Pauses */

/* Busy for @us us, timed on the clock: udelay() trusts a calibration a loaded host can skew. */
static void vt_sys_busy_us(u32 us)
{
	u64 end = local_clock() + us * NSEC_PER_USEC;

	while (local_clock() < end)
		cpu_relax();
}

static bool vt_sys_delay_task(void)
{
	int i;

	if (!in_task())
		return false;
	for (i = 0; i < ARRAY_SIZE(vt_delay_comms); i++)
		if (!strncmp(current->comm, vt_delay_comms[i], strlen(vt_delay_comms[i])))
			return true;
	return false;
}

/*
 * At @step, pause the current task one time in s->delay.rate, for a random
 * 1..max_us microseconds, log-uniform: as many pauses of 1-2 us as of
 * 512-1023, so that both the windows a few instructions wide and those a
 * context switch wide come up. A busy wait: the probe may run in atomic
 * context (under RCU, a spinlock of the caller's), and a pause there is the
 * point.
 */
static void vt_sys_delay(struct vt_sys *s, enum vt_delay_step step)
{
	struct vt_sys_cpu *c;
	unsigned long flags;
	u32 us = 0;

	if (!s->delay.rate || !vt_sys_delay_task())
		return;
	local_irq_save(flags);
	c = vt_sys_this_cpu(s);
	if (!(prandom_u32_state(&c->rnd) % s->delay.rate)) {
		u32 octave = 1U << (prandom_u32_state(&c->rnd) % (ilog2(s->delay.max_us) + 1));

		us = min(octave + prandom_u32_state(&c->rnd) % octave, s->delay.max_us);
		vt_sys_add(&c->delays[step], 1);
		vt_sys_add(&c->counts[VT_SYS_DELAYS], 1);
		vt_sys_add(&c->counts[VT_SYS_DELAY_US], us);
	}
	local_irq_restore(flags);
	if (us)
		vt_sys_busy_us(us);
}

/*
 * A sitter holds the read lock it just took of @vma sit_us/2..sit_us us
 * longer, or until a writer or a detach waits for it: it has met the
 * reader then, and need not wait long. While mmap_lock is write-locked (a
 * writer on its way through the VMAs, as fork or clear_refs go) it holds
 * on up to 4 times as long: let go, it may not be back on a CPU in time.
 */
static void vt_sys_sit(struct vt_sys *s, struct vm_area_struct *vma)
{
	unsigned int half = s->delay.sit_us / 2;
	struct vt_sys_cpu *c;
	unsigned long flags;
	u64 start, end;
	u32 us;

	if (!s->delay.sit_us || !in_task() ||
	    strncmp(current->comm, VT_SIT_COMM, strlen(VT_SIT_COMM)))
		return;
	local_irq_save(flags);
	c = vt_sys_this_cpu(s);
	us = s->delay.sit_us - half + prandom_u32_state(&c->rnd) % (half + 1);
	local_irq_restore(flags);
	start = local_clock();
	end = start + us * NSEC_PER_USEC;
	while (refcount_read(&vma->vm_refcnt) < VM_REFCNT_EXCLUDE_READERS_FLAG) {
		u64 now = local_clock();

		if (now >= end + 3ULL * us * NSEC_PER_USEC ||
		    (now >= end && !(raw_read_seqcount(&vma->vm_mm->mm_lock_seq) & 1)))
			break;
		cpu_relax();
	}
	local_irq_save(flags);
	c = vt_sys_this_cpu(s);
	vt_sys_add(&c->counts[VT_SYS_SITS], 1);
	vt_sys_add(&c->counts[VT_SYS_SIT_US], div_u64(local_clock() - start, NSEC_PER_USEC));
	local_irq_restore(flags);
}

/* ---------------------------------------------------------------------- */
/* The probes */

/*
 * Slot tables of (task, key), lock-free: a task adds and removes only its
 * own entries, in the slots after its hash, so it alone looks for them.
 * vt_sys_slot_add() returns 1 for an entry added, 0 for one there
 * already, -1 for no free slot; vt_sys_slot_del() whether there was one.
 */
static struct vt_sys_slot *vt_sys_slot(struct vt_sys_slot *tab, unsigned int bits,
				       unsigned int i)
{
	return &tab[(hash_ptr(current, bits) + i) & ((1U << bits) - 1)];
}

static bool vt_sys_slot_find(struct vt_sys_slot *tab, unsigned int bits, const void *key)
{
	unsigned int i;

	for (i = 0; i < VT_SYS_SLOT_PROBE; i++) {
		struct vt_sys_slot *x = vt_sys_slot(tab, bits, i);

		if (READ_ONCE(x->task) == current && READ_ONCE(x->key) == key)
			return true;
	}
	return false;
}

static int vt_sys_slot_add(struct vt_sys_slot *tab, unsigned int bits, const void *key)
{
	unsigned int i;

	if (vt_sys_slot_find(tab, bits, key))
		return 0;
	for (i = 0; i < VT_SYS_SLOT_PROBE; i++) {
		struct vt_sys_slot *x = vt_sys_slot(tab, bits, i);

		if (!READ_ONCE(x->task) && !cmpxchg(&x->task, NULL, current)) {
			WRITE_ONCE(x->key, key);
			return 1;
		}
	}
	return -1;
}

static bool vt_sys_slot_del(struct vt_sys_slot *tab, unsigned int bits, const void *key)
{
	unsigned int i;

	for (i = 0; i < VT_SYS_SLOT_PROBE; i++) {
		struct vt_sys_slot *x = vt_sys_slot(tab, bits, i);

		if (READ_ONCE(x->task) == current && READ_ONCE(x->key) == key) {
			WRITE_ONCE(x->key, NULL);
			smp_store_release(&x->task, NULL);	/* the key cleared first */
			return true;
		}
	}
	return false;
}

/*
 * Who holds mmap_lock, for invariant 13's one exception: anon_vma may go
 * from NULL to set under a VMA read lock, but only by a task that also holds
 * mmap_lock (__vmf_anon_prepare()'s mmap_read_trylock()). The mmap_lock
 * tracepoints say who takes (or downgrades: known already) and releases
 * it. A hold taken before the monitor started, or released by another
 * task (mmap_read_unlock_non_owner()), is not known or stays: the check
 * then misses a violation. A hold that did not fit turns the check off.
 */
static bool vt_sys_holds(struct vt_sys *s, struct mm_struct *mm)
{
	return vt_sys_slot_find(s->holders, VT_SYS_HOLDER_BITS, mm);
}

static void vt_sys_hold(struct vt_sys *s, struct mm_struct *mm)
{
	if (vt_sys_slot_add(s->holders, VT_SYS_HOLDER_BITS, mm) < 0)
		WRITE_ONCE(s->holders_lost, true);
}

static void vt_sys_unhold(struct vt_sys *s, struct mm_struct *mm)
{
	vt_sys_slot_del(s->holders, VT_SYS_HOLDER_BITS, mm);
}

/*
 * The kprobe on __anon_vma_prepare(vma) runs where no lock of ours may be
 * taken (x86 handles int3 as an NMI), so it only notes that current sets
 * up @vma's anon_vma without its mm's mmap_lock. The VMA read lock probes,
 * in current's own context, then judge: a note made while current held
 * @vma read-locked is invariant 13's exception taken without its lock,
 * where neighbours it may merge with are not locked. A note from before
 * the read lock is dropped at the lock (uffd_lock_vma() prepares under
 * mmap_lock, then read-locks). A note that finds no free slot is lost.
 */
static int vt_sys_anon_prepare(struct kprobe *p, struct pt_regs *regs)
{
	struct vm_area_struct *vma = (void *)regs_get_kernel_argument(regs, 0);
	struct vt_sys *s = container_of(p, struct vt_sys, anon_prepare);

	/* A lost update, against a probe this one interrupted, is no harm. */
	vt_sys_add(&vt_sys_this_cpu(s)->counts[VT_SYS_ANON_PREPARES], 1);
	if (READ_ONCE(s->holders_lost) || vt_sys_holds(s, vma->vm_mm))
		return 0;
	if (vt_sys_slot_add(s->notes, VT_SYS_NOTE_BITS, vma) > 0)
		atomic_inc(&s->nr_notes);
	return 0;
}

/* Takes current's note of @vma; returns whether there was one. */
static bool vt_sys_take_note(struct vt_sys *s, struct vm_area_struct *vma)
{
	if (likely(!atomic_read(&s->nr_notes)) ||
	    !vt_sys_slot_del(s->notes, VT_SYS_NOTE_BITS, vma))
		return false;
	atomic_dec(&s->nr_notes);
	return true;
}

static void vt_probe_vma_read_locked(void *data, struct vm_area_struct *vma, unsigned long ip)
{
	struct vt_sys *s = data;
	struct vt_sys_bucket *b;
	struct vt_sys_site *site;
	struct vt_sys_reader *r;
	struct vt_sys_cpu *c;
	unsigned long flags;
	bool next_vma;

	local_irq_save(flags);
	c = vt_sys_this_cpu(s);
	vt_sys_add(&c->counts[VT_SYS_READS], 1);
	site = vt_sys_count_site(s, c, VT_SITE_READ, ip, true, false, 0, true);
	next_vma = site && site->next_vma;
	r = vt_sys_get_record(s, c);
	if (r) {
		r->vma = vma;
		r->task = current;
		r->pid = task_pid_nr(current);
		r->ip = ip;
		vt_vma_view(vma, &r->seen);
		b = vt_sys_vma_bucket(s, vma);
		raw_spin_lock(&b->lock);
		hlist_add_head(&r->by_vma, &b->head);
		raw_spin_unlock(&b->lock);
		b = vt_sys_task_bucket(s, current);
		raw_spin_lock(&b->lock);
		hlist_add_head(&r->by_task, &b->head);
		raw_spin_unlock(&b->lock);
	} else {
		vt_sys_add(&c->counts[VT_SYS_OVERFLOW], 1);
	}
	local_irq_restore(flags);
	if (r) {
		unsigned long held = atomic_long_inc_return(&s->held);

		if (held > READ_ONCE(s->held_max))
			WRITE_ONCE(s->held_max, held);
	}
	vt_sys_take_note(s, vma);
	vt_sys_admitted(s, vma, ip);
	vt_sys_delay(s, next_vma ? VT_DELAY_NEXT_VMA : VT_DELAY_READ_LOCKED);
	vt_sys_sit(s, vma);
}

static void vt_probe_vma_read_refused(void *data, struct mm_struct *mm,
				      struct vm_area_struct *vma, enum vma_read_refusal reason)
{
	struct vt_sys *s = data;

	vt_sys_count(s, VT_SYS_REFUSED, 1);
	vt_sys_delay(s, VT_DELAY_READ_REFUSED);
}

/* The first field of @b that differs from @a, or NULL. */
static const char *vt_view_diff(const struct vt_vma_view *a, const struct vt_vma_view *b,
				unsigned long *old, unsigned long *new)
{
	const struct {
		const char *name;
		unsigned long a, b;
	} f[] = {
		{ "vm_start", a->start, b->start },
		{ "vm_end", a->end, b->end },
		{ "vm_pgoff", a->pgoff, b->pgoff },
		{ "vm_flags", a->flags, b->flags },
		{ "vm_file", (unsigned long)a->file, (unsigned long)b->file },
		{ "vm_mm", (unsigned long)a->mm, (unsigned long)b->mm },
		/* NULL to set is anon_vma_prepare() under the read lock. */
		{ "anon_vma", (unsigned long)a->anon_vma,
		  a->anon_vma ? (unsigned long)b->anon_vma : 0 },
		{ "vm_policy", (unsigned long)a->policy, (unsigned long)b->policy },
		{ "vm_policy.nodes", a->policy_nodes, b->policy_nodes },
		{ "vm_userfaultfd_ctx", (unsigned long)a->uffd_ctx, (unsigned long)b->uffd_ctx },
		{ "vm_userfaultfd_ctx.features", a->uffd_features, b->uffd_features },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(f); i++) {
		if (f[i].a != f[i].b) {
			*old = f[i].a;
			*new = f[i].b;
			return f[i].name;
		}
	}
	return NULL;
}

/* A read unlock of a VMA that KFENCE guards, into the ring. */
static void vt_sys_released(struct vt_sys *s, struct vm_area_struct *vma, unsigned long ip)
{
	struct vt_sys_released *rel;
	unsigned long flags;

	raw_spin_lock_irqsave(&s->lock, flags);
	rel = &s->released[s->nr_released++ % VT_SYS_RELEASED];
	rel->vma = vma;
	rel->ip = ip;
	rel->pid = task_pid_nr(current);
	rel->ns = ktime_get_ns();
	raw_spin_unlock_irqrestore(&s->lock, flags);
}

static void vt_probe_vma_read_unlocked(void *data, struct vm_area_struct *vma, unsigned long ip)
{
	struct vt_sys_bucket *b = NULL;
	struct vt_sys_first f = {};
	struct vt_sys *s = data;
	struct vt_sys_reader *r;
	struct vt_vma_view now;
	unsigned long flags, old, new;
	const char *field;

	/* Still read-locked and recorded: a writer let in now is caught. */
	vt_sys_delay(s, VT_DELAY_READ_UNLOCKED);
	vt_vma_view(vma, &now);
	local_irq_save(flags);
	b = vt_sys_vma_bucket(s, vma);
	raw_spin_lock(&b->lock);
	r = vt_sys_find(b, vma, current);
	if (r) {
		field = vt_view_diff(&r->seen, &now, &old, &new);
		if (field) {
			vt_sys_violation_reader(&f, INV_STABLE_WHILE_READ_LOCKED, r, ip);
			f.field = field;
			f.old = old;
			f.new = new;
		} else if (vt_sys_take_note(s, vma)) {
			vt_sys_violation_reader(&f, INV_ANON_VMA_UNDER_MMAP_LOCK, r, ip);
		}
		hlist_del(&r->by_vma);
	}
	raw_spin_unlock(&b->lock);
	if (r) {
		b = vt_sys_task_bucket(s, current);
		raw_spin_lock(&b->lock);
		hlist_del(&r->by_task);
		raw_spin_unlock(&b->lock);
		vt_sys_put_record(s, vt_sys_this_cpu(s), r);
	} else {	/* taken before the monitor started, or untracked */
		vt_sys_add(&vt_sys_this_cpu(s)->counts[VT_SYS_UNMATCHED], 1);
	}
	local_irq_restore(flags);
	if (r)
		atomic_long_dec(&s->held);
	if (is_kfence_address(vma))
		vt_sys_released(s, vma, ip);
	if (f.set)
		vt_sys_report(s, &f);
}

/*
 * A KASAN or KFENCE report (error_report_end, @id the address accessed): if
 * it is inside a VMA that KFENCE guards and that a task read-unlocked
 * lately, that task's put was not its last access (invariant 10). KFENCE
 * sees it because it frees SLAB_TYPESAFE_BY_RCU objects only after a grace
 * period, then unmaps them; KASAN does not poison such objects at all. The
 * detection is KFENCE's; naming the VMA, the unlock and the invariant is
 * ours. Reports elsewhere are only counted: the console scan fails them.
 */
static void vt_probe_error_report_end(void *data, enum error_detector detector, unsigned long id)
{
	struct vt_sys_released *rel, *hit = NULL;
	struct vt_sys_first f = {};
	struct vt_sys *s = data;
	unsigned long flags;
	unsigned int i;
	bool first = false;

	if (detector != ERROR_DETECTOR_KFENCE && detector != ERROR_DETECTOR_KASAN)
		return;
	/* A report from inside one of our own probes must not wait for itself. */
	if (!raw_spin_trylock_irqsave(&s->lock, flags))
		return;
	vt_sys_add(&vt_sys_this_cpu(s)->counts[VT_SYS_MEMORY_ERRORS], 1);
	for (i = 0; i < min_t(unsigned int, s->nr_released, VT_SYS_RELEASED); i++) {
		rel = &s->released[i];
		if (id - (unsigned long)rel->vma < sizeof(*rel->vma) &&
		    (!hit || rel->ns > hit->ns))
			hit = rel;
	}
	if (hit) {
		vt_sys_violation(&f, INV_USE_AFTER_PUT, hit->ip);
		f.addr = id;
		f.start = (unsigned long)hit->vma;
		f.reader_pid = hit->pid;
		f.after_ns = f.ns - hit->ns;
		first = __vt_sys_claim(s, &f);
	}
	raw_spin_unlock_irqrestore(&s->lock, flags);
	if (first)
		vt_sys_say(&f);
}

/*
 * Whether a reader could have held @vma when it was write-locked: it is in
 * its mm's tree (attached) and the mm is in use (mm_users; where the kernel
 * keeps mm->owner, the owner runs on it). A VMA not inserted yet, the
 * child's VMAs while fork copies them, exec's new mm and exit's teardown
 * can have none: coverage counts their sites apart.
 */
static bool vt_sys_readable(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	bool in_use = true;

	if (!refcount_read(&vma->vm_refcnt) || !atomic_read(&mm->mm_users))
		return false;
#ifdef CONFIG_MEMCG
	{
		struct task_struct *owner;

		rcu_read_lock();
		owner = rcu_dereference(mm->owner);
		in_use = !owner || READ_ONCE(owner->mm) == mm;
		rcu_read_unlock();
	}
#endif
	return in_use;
}

static void vt_probe_vma_write_locked(void *data, struct vm_area_struct *vma, unsigned long ip,
				      bool already, bool waited, u64 wait_ns)
{
	struct vt_sys *s = data;
	struct vt_sys_cpu *c;
	unsigned long flags;

	local_irq_save(flags);
	c = vt_sys_this_cpu(s);
	vt_sys_add(&c->counts[VT_SYS_WRITES], 1);
	vt_sys_add(&c->counts[VT_SYS_WAITED], waited);
	vt_sys_count_site(s, c, VT_SITE_WRITE, ip, !already, waited, wait_ns,
			  !already && vt_sys_readable(vma));
	local_irq_restore(flags);
	vt_sys_no_reader(s, vma, ip, INV_SYS_RW_EXCLUSION);
}

static void vt_probe_vma_write_lock_killed(void *data, struct vm_area_struct *vma,
					   unsigned long ip, u64 wait_ns)
{
	struct vt_sys *s = data;
	unsigned long flags;

	local_irq_save(flags);
	vt_sys_count_site(s, vt_sys_this_cpu(s), VT_SITE_KILLED, ip, false, true, wait_ns, true);
	local_irq_restore(flags);
}

static void vt_probe_vma_detach_begin(void *data, struct vm_area_struct *vma, unsigned long ip)
{
	vt_sys_delay(data, VT_DELAY_DETACH_BEGIN);
}

static void vt_probe_vma_detach_end(void *data, struct vm_area_struct *vma, unsigned long ip,
				    bool waited)
{
	struct vt_sys *s = data;
	struct vt_sys_cpu *c;
	unsigned long flags;

	local_irq_save(flags);
	c = vt_sys_this_cpu(s);
	vt_sys_add(&c->counts[VT_SYS_DETACHES], 1);
	vt_sys_count_site(s, c, VT_SITE_DETACH, ip, true, waited, 0, true);
	local_irq_restore(flags);
	vt_sys_no_reader(s, vma, ip, INV_SYS_READER_AT_DETACH);
}

/* The first frame of @stack outside the tracing code: who waits. */
static unsigned long vt_sys_waiter_ip(const unsigned long *stack, unsigned int n)
{
	char sym[KSYM_SYMBOL_LEN];
	unsigned int i;

	for (i = 0; i < n; i++) {
		sprint_symbol_no_offset(sym, stack[i]);
		if (!strstr(sym, "trace") && !strstarts(sym, "vt_probe_"))
			return stack[i];
	}
	return 0;
}

static void vt_probe_mmap_lock_start_locking(void *data, struct mm_struct *mm, bool write,
					     bool trylock)
{
	unsigned long stack[VT_SYS_STACK], flags;
	struct vt_sys_first f = {};
	struct vt_sys_bucket *b;
	struct vt_sys *s = data;
	struct vt_sys_reader *r;
	unsigned int n;

	if (trylock)
		return;
	b = vt_sys_task_bucket(s, current);
	/* Only this task adds its own records: empty means none of ours. */
	if (hlist_empty(&b->head))
		return;
	raw_spin_lock_irqsave(&b->lock, flags);
	hlist_for_each_entry(r, &b->head, by_task) {
		if (r->task == current) {
			vt_sys_violation_reader(&f, INV_LOCK_ORDER, r, 0);
			break;
		}
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	if (!f.set)
		return;
	vt_sys_count(s, VT_SYS_MMAP_WAITS, 1);
	n = stack_trace_save(stack, VT_SYS_STACK, 0);
	f.ip = vt_sys_waiter_ip(stack, n);
	vt_sys_report(s, &f);
}

/*
 * Who holds mmap_lock (vt_sys_hold()). And the writer's step: it holds
 * mmap_lock for writing and is about to write-lock VMAs.
 */
static void vt_probe_mmap_lock_acquire_returned(void *data, struct mm_struct *mm, bool write,
						bool success)
{
	struct vt_sys *s = data;

	if (!success)
		return;
	vt_sys_hold(s, mm);
	if (write)
		vt_sys_delay(s, VT_DELAY_MMAP_WRITE_LOCKED);
}

static void vt_probe_mmap_lock_released(void *data, struct mm_struct *mm, bool write)
{
	vt_sys_unhold(data, mm);
}

/* ---------------------------------------------------------------------- */
/* Start, stop, collect */

/*
 * The unlock probe first: a read lock recorded while the probes are being
 * attached must have its unlock seen, or its record outlives it (a false
 * lock_order, and a task pointer kept past the task's exit). The probes
 * that only pause are attached only when there are pauses to make.
 */
enum vt_sys_probe {
	VT_PROBE_READ_UNLOCKED,
	VT_PROBE_MMAP_RELEASED,
	VT_PROBE_MMAP_ACQUIRED,
	VT_PROBE_READ_LOCKED,
	VT_PROBE_READ_REFUSED,
	VT_PROBE_WRITE_LOCKED,
	VT_PROBE_WRITE_LOCK_KILLED,
	VT_PROBE_DETACH_END,
	VT_PROBE_MMAP_START_LOCKING,
	VT_PROBE_ERROR_REPORT,
	VT_PROBE_ANON_PREPARE,		/* after the holds and the read locks it reads */
	VT_PROBE_DETACH_BEGIN,		/* the pauses' only, from here on */
	NR_VT_PROBES
};

/* In vt_sys_probe(): attach or detach vt_probe_EVENT. */
#define VT_SYS_PROBE(event) \
	(on ? register_trace_##event(vt_probe_##event, s) : \
	      unregister_trace_##event(vt_probe_##event, s))

/* Attach (@on) or detach probe @p. */
static int vt_sys_probe(struct vt_sys *s, enum vt_sys_probe p, bool on)
{
	switch (p) {
	case VT_PROBE_READ_UNLOCKED:
		return VT_SYS_PROBE(vma_read_unlocked);
	case VT_PROBE_READ_LOCKED:
		return VT_SYS_PROBE(vma_read_locked);
	case VT_PROBE_READ_REFUSED:
		return VT_SYS_PROBE(vma_read_refused);
	case VT_PROBE_WRITE_LOCKED:
		return VT_SYS_PROBE(vma_write_locked);
	case VT_PROBE_WRITE_LOCK_KILLED:
		return VT_SYS_PROBE(vma_write_lock_killed);
	case VT_PROBE_DETACH_END:
		return VT_SYS_PROBE(vma_detach_end);
	case VT_PROBE_MMAP_START_LOCKING:
		return VT_SYS_PROBE(mmap_lock_start_locking);
	case VT_PROBE_ERROR_REPORT:
		return VT_SYS_PROBE(error_report_end);
	case VT_PROBE_DETACH_BEGIN:
		return VT_SYS_PROBE(vma_detach_begin);
	case VT_PROBE_MMAP_ACQUIRED:
		return VT_SYS_PROBE(mmap_lock_acquire_returned);
	case VT_PROBE_MMAP_RELEASED:
		return VT_SYS_PROBE(mmap_lock_released);
	case VT_PROBE_ANON_PREPARE:
		if (!on) {
			unregister_kprobe(&s->anon_prepare);
			return 0;
		}
		memset(&s->anon_prepare, 0, sizeof(s->anon_prepare));
		s->anon_prepare.symbol_name = "__anon_vma_prepare";
		s->anon_prepare.pre_handler = vt_sys_anon_prepare;
		return register_kprobe(&s->anon_prepare);
	default:
		return -EINVAL;
	}
}

/*
 * Only the probes attached: the kernel warns of any other. In reverse, so
 * that the unlock probe goes last.
 */
static void vt_sysmon_unregister(struct vt_sys *s)
{
	int p;

	for (p = NR_VT_PROBES - 1; p >= 0; p--)
		if (s->probes & BIT(p))
			vt_sys_probe(s, p, false);
	s->probes = 0;
	tracepoint_synchronize_unregister();
}

static int vt_sysmon_register(struct vt_sys *s)
{
	int p, nr = s->delay.rate ? NR_VT_PROBES : VT_PROBE_DETACH_BEGIN, err;

	for (p = 0; p < nr; p++) {
		err = vt_sys_probe(s, p, true);
		if (err && p == VT_PROBE_ANON_PREPARE) {
			/* A kernel without the function: the rest still checks. */
			pr_warn_once("anon_vma_under_mmap_lock is not checked: no kprobe on __anon_vma_prepare() (%d)\n",
				     err);
			continue;
		}
		if (err) {
			vt_sysmon_unregister(s);
			return err;
		}
		s->probes |= BIT(p);
	}
	return 0;
}

static void vt_sys_free(struct vt_sys *s)
{
	vfree(s->cpu);
	vfree(s);
}

int vt_sysmon_start(const struct vt_sys_delay *delay)
{
	struct vt_sys *s;
	int i, err;

	guard(mutex)(&vt_sys_mutex);
	if (vt_sys) {
		pr_err("sysmon: the system-wide monitor is in use by a run or the bench\n");
		return -EBUSY;
	}
	s = vzalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cpu = vzalloc(array_size(nr_cpu_ids, sizeof(*s->cpu)));
	if (!s->cpu) {
		vfree(s);
		return -ENOMEM;
	}
	raw_spin_lock_init(&s->lock);
	for (i = 0; i < ARRAY_SIZE(s->vmas); i++)
		raw_spin_lock_init(&s->vmas[i].lock);
	for (i = 0; i < ARRAY_SIZE(s->tasks); i++)
		raw_spin_lock_init(&s->tasks[i].lock);
	for (i = 0; i < VT_SYS_READERS; i++)
		hlist_add_head(&s->readers[i].by_vma, &s->free);
	if (delay) {
		s->delay = *delay;
		for (i = 0; i < nr_cpu_ids; i++)
			prandom_seed_state(&s->cpu[i].rnd, delay->seed + i);
	}
	err = vt_sysmon_register(s);
	if (err) {
		vt_sys_free(s);
		pr_err("sysmon: cannot attach to the vma_lock tracepoints (%d)\n", err);
		return err;
	}
	vt_sys = s;
	return 0;
}

void vt_sysmon_stop(void)
{
	struct vt_sys *s;

	guard(mutex)(&vt_sys_mutex);
	s = vt_sys;
	if (!s)
		return;
	vt_sysmon_unregister(s);
	vt_sys = NULL;
	vt_sys_free(s);
}

bool vt_sysmon_running(void)
{
	return vt_sys;
}

/* Count @c of every CPU since the monitor started. */
static u64 vt_sys_sum(struct vt_sys *s, enum vt_sys_count c)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(s->cpu[cpu].counts[c]);
	return sum;
}

/* Count @c since the monitor started (for coverage hooks). */
u64 vt_sysmon_total(enum vt_sys_count c)
{
	struct vt_sys *s = READ_ONCE(vt_sys);

	return s ? vt_sys_sum(s, c) : 0;
}

/*
 * What the monitor saw since the last collection: violations added to
 * @inv_count, counts into @counts, the first violation formatted into
 * @first (empty if none) and when it was seen into @first_ns.
 */
void vt_sysmon_collect(u64 *inv_count, s64 *counts, char *first, size_t size, u64 *first_ns)
{
	struct vt_sys *s = vt_sys;
	struct vt_sys_first f;
	unsigned long flags;
	u64 now;
	int i;

	first[0] = '\0';
	if (!s)
		return;
	for (i = 0; i < NR_VT_SYS_COUNTS; i++) {
		now = vt_sys_sum(s, i);
		counts[i] = now - s->taken[i];
		s->taken[i] = now;
	}
	raw_spin_lock_irqsave(&s->lock, flags);
	for (i = 0; i < NR_INVS; i++) {
		inv_count[i] += s->inv[i] - s->inv_taken[i];
		s->inv_taken[i] = s->inv[i];
	}
	f = s->first;
	s->first.set = false;
	raw_spin_unlock_irqrestore(&s->lock, flags);
	if (f.set) {
		vt_sys_format(&f, first, size);
		*first_ns = f.ns;
	}
}

/* One call site in the results; scripts/vmalock/ktap.py reads it. */
#define VT_SITE_FMT \
"# sysmon: site kind=%s calls=%llu locked=%llu readable=%llu with_readers=%llu max_wait_us=%llu caller=%pS\n"

static int vt_site_cmp(const void *a, const void *b)
{
	const struct vt_sys_site *x = a, *y = b;

	if (x->calls != y->calls)
		return x->calls < y->calls ? 1 : -1;
	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/*
 * Add CPU table entry @x into @sites (VT_SYS_SITES slots, hashed as the
 * CPUs' tables are). Returns false if the table is full.
 */
static bool vt_site_merge(struct vt_sys_site *sites, const struct vt_sys_site *x)
{
	unsigned int i = hash_long(x->ip ^ x->kind, ilog2(VT_SYS_SITES)), n;
	struct vt_sys_site *m;

	for (n = 0; n < VT_SYS_SITES; n++, i = (i + 1) & (VT_SYS_SITES - 1)) {
		m = &sites[i];
		if (!m->ip) {
			*m = *x;
			return true;
		}
		if (m->ip == x->ip && m->kind == x->kind) {
			m->calls += x->calls;
			m->locked += x->locked;
			m->with_readers += x->with_readers;
			m->readable += x->readable;
			m->wait_ns += x->wait_ns;
			m->max_wait_ns = max(m->max_wait_ns, x->max_wait_ns);
			return true;
		}
	}
	return false;
}

/*
 * The call sites seen since start, most called first, as KTAP diagnostic
 * lines ("# sysmon: site ..."), at most @max of them; before them a
 * summary, and the pauses made.
 */
size_t vt_sysmon_report(char *buf, size_t size, unsigned int max)
{
	struct vt_sys *s = vt_sys;
	u64 full = 0, delays[NR_VT_DELAY_STEPS] = {};
	struct vt_sys_site *sites, x;
	unsigned int i, n = 0;
	size_t len = 0;
	int cpu, k;

	if (!s)
		return 0;
	sites = kvcalloc(VT_SYS_SITES, sizeof(*sites), GFP_KERNEL);
	if (!sites)
		return scnprintf(buf, size, "# sysmon: call sites: out of memory\n");
	for_each_possible_cpu(cpu) {
		struct vt_sys_cpu *c = &s->cpu[cpu];

		full += READ_ONCE(c->sites_full);
		for (k = 0; k < NR_VT_DELAY_STEPS; k++)
			delays[k] += READ_ONCE(c->delays[k]);
		for (i = 0; i < VT_SYS_SITES; i++) {
			/* A site's kind is set before its ip (vt_sys_count_site()). */
			x.ip = smp_load_acquire(&c->sites[i].ip);
			if (!x.ip)
				continue;
			x.kind = c->sites[i].kind;
			x.calls = READ_ONCE(c->sites[i].calls);
			x.locked = READ_ONCE(c->sites[i].locked);
			x.with_readers = READ_ONCE(c->sites[i].with_readers);
			x.readable = READ_ONCE(c->sites[i].readable);
			x.wait_ns = READ_ONCE(c->sites[i].wait_ns);
			x.max_wait_ns = READ_ONCE(c->sites[i].max_wait_ns);
			if (!vt_site_merge(sites, &x))
				full += x.calls;
		}
	}
	for (i = 0; i < VT_SYS_SITES; i++)
		if (sites[i].ip)
			sites[n++] = sites[i];
	sort(sites, n, sizeof(*sites), vt_site_cmp, NULL);
	len += scnprintf(buf + len, size - len,
			 "# sysmon: call_sites=%u shown=%u not_counted=%llu most_read_locks_held=%lu seed=%llu delay_rate=%u delay_max_us=%u delays=%llu delay_us=%llu sit_us=%u sits=%llu sit_total_us=%llu\n",
			 n, min(n, max), full, READ_ONCE(s->held_max), s->delay.seed,
			 s->delay.rate, s->delay.max_us,
			 vt_sys_sum(s, VT_SYS_DELAYS), vt_sys_sum(s, VT_SYS_DELAY_US),
			 s->delay.sit_us, vt_sys_sum(s, VT_SYS_SITS), vt_sys_sum(s, VT_SYS_SIT_US));
	if (s->delay.rate) {
		len += scnprintf(buf + len, size - len, "# sysmon: delays at");
		for (k = 0; k < NR_VT_DELAY_STEPS; k++)
			len += scnprintf(buf + len, size - len, " %s=%llu",
					 vt_delay_step_names[k], delays[k]);
		len += scnprintf(buf + len, size - len, "\n");
	}
	for (i = 0; i < n && i < max; i++) {
		const struct vt_sys_site *y = &sites[i];

		len += scnprintf(buf + len, size - len, VT_SITE_FMT, vt_site_kind_names[y->kind],
				 y->calls, y->locked, y->readable, y->with_readers,
				 div_u64(y->max_wait_ns, NSEC_PER_USEC), (void *)y->ip);
	}
	kvfree(sites);
	return len;
}

#else /* !VT_HAVE_VMA_LOCK_TRACE */

int vt_sysmon_start(const struct vt_sys_delay *delay)
{
	pr_err("sysmon: no vma_lock tracepoints here (patches/0003); sysmon=0 runs without\n");
	return -EOPNOTSUPP;
}

void vt_sysmon_stop(void)
{
}

bool vt_sysmon_running(void)
{
	return false;
}

u64 vt_sysmon_total(enum vt_sys_count c)
{
	return 0;
}

void vt_sysmon_collect(u64 *inv_count, s64 *counts, char *first, size_t size, u64 *first_ns)
{
	first[0] = '\0';
}

size_t vt_sysmon_report(char *buf, size_t size, unsigned int max)
{
	return 0;
}

#endif /* VT_HAVE_VMA_LOCK_TRACE */
