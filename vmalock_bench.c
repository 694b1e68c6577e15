// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_test bench mode: what the per-VMA lock costs and buys, measured on
 * the running kernel (meant for the perf variant, without debugging).
 *
 *   echo "repeats=5 ms=1000" > /sys/kernel/debug/vmalock_test/bench
 *   cat /sys/kernel/debug/vmalock_test/bench   # waits for the end, prints
 *
 * Each measurement is repeated; every repeat prints its own value, and the
 * host (scripts/vmalock/bench.py) takes median, min and max. One output line per
 * measurement: "GROUP NAME UNIT V1 V2 ... VR". Figures that are compared
 * (per-VMA vs mmap_lock) come from the same boot, their repeats alternated.
 *
 *   uncontended  one thread, ns per pair of operations
 *   claim        N readers on VMA A, a writer write-locking VMA B
 *   contention   N readers and a writer on one VMA
 *   scaling      1, 2, 4 .. CPUs readers, each on a VMA of its own
 *   faults       faulters on fresh pages of their own VMAs, a mapper
 *                mmapping and munmapping elsewhere; per-VMA path vs the
 *                mmap_lock path the fault handler falls back to
 *   monitor      the same per-VMA faults with the system-wide monitor
 *                (vmalock_sysmon.c) off and on: what watching costs; and
 *                on with its pauses at each rate of delays=R:R..: what
 *                they cost
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": bench: " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <linux/utsname.h>
#include <linux/vmstat.h>

#include "vmalock_core.h"

#define VB_MAX_REPEATS	100
#define VB_MAX_READERS	64
#define VB_MAX_THREADS	(VB_MAX_READERS + 2)
static_assert(VB_MAX_THREADS <= VT_MAX_THREADS);
#define VB_OUT_SIZE	(16 * 1024)
#define VB_WAITS	(64 * 1024)	/* writer wait samples per repeat */
#define VB_FAULT_PAGES	256		/* pages of each faulter's region */
#define VB_FAULT_BASE	0x40000000UL
#define VB_FAULT_STRIDE	(2 * VB_FAULT_PAGES * PAGE_SIZE)
#define VB_MAP_ADDR	0x80000000UL	/* the mapper's page */
#define VB_BATCH	64		/* operations between clock reads */
#define VB_MAX_VALS	11		/* measurements of one item */
#define VB_MAX_DELAYS	3		/* pause rates of item 6 */
static_assert(3 + 2 * VB_MAX_DELAYS <= VB_MAX_VALS);

enum vb_mode { VB_PERVMA, VB_MMAP };

struct vb_run;

struct vb_worker {
	struct vb_run *run;
	struct task_struct *task;
	void (*fn)(struct vb_worker *w);
	int id;
	enum vb_mode mode;
	unsigned long addr;	/* the VMA (or region) it works on */
	u64 ops, fallbacks;
};

struct vb_run {
	struct mm_struct *mm;
	bool fault_mapped;	/* the faulters' regions are mapped */
	int go;			/* workers count while set */
	struct vt_pool pool;	/* the workers' kthreads, pool.nr of them */
	struct vb_worker w[VB_MAX_THREADS];
	u32 *waits;		/* writer waits in ns, VB_WAITS of them */
	int nr_waits;
	u64 v[VB_MAX_VALS][VB_MAX_REPEATS];	/* per measurement, per repeat */
};

/* Parameters of the next run; protected by vb_mutex. */
static int vb_repeats = 5, vb_ms = 1000, vb_readers;
static int vb_vmas;		/* the test VMAs: vmas of params when it started */
static unsigned int vb_items;	/* BIT(n): item n of vb_item_table[], from 1 */
/* Item 6's pause rates (delays=R:R..; struct vt_sys_delay), and their seed. */
static int vb_delays[VB_MAX_DELAYS], vb_nr_delays;
static u64 vb_seed;

static DEFINE_MUTEX(vb_mutex);
static struct task_struct *vb_task;	/* the bench controller */
static DECLARE_WAIT_QUEUE_HEAD(vb_wq);
static bool vb_active, vb_abort;
static char *vb_out;
static size_t vb_len;

static bool vb_stopping(void)
{
	return READ_ONCE(vb_abort) || kthread_should_stop();
}

static __printf(1, 2) void vb_print(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vb_len += vscnprintf(vb_out + vb_len, VB_OUT_SIZE - vb_len, fmt, args);
	va_end(args);
}

/* ---------------------------------------------------------------------- */
/* Worker bodies */

static void vb_read_once(struct vb_worker *w, struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	if (w->mode == VB_PERVMA) {
		vma = lock_vma_under_rcu(mm, w->addr);
		if (vma) {
			vma_end_read(vma);
			return;
		}
		w->fallbacks++;	/* as a fault would: under mmap_lock */
	}
	mmap_read_lock(mm);
	vma = vma_lookup(mm, w->addr);
	mmap_read_unlock(mm);
}

static void vb_reader(struct vb_worker *w)
{
	struct mm_struct *mm = w->run->mm;
	int i;

	for (i = 0; i < VB_BATCH; i++)
		vb_read_once(w, mm);
	w->ops += VB_BATCH;
}

/* Write-lock the VMA at w->addr under mmap_lock; record the wait if asked. */
static void vb_writer(struct vb_worker *w)
{
	struct vb_run *run = w->run;
	struct vm_area_struct *vma;
	u64 t0;

	mmap_write_lock(run->mm);
	vma = vma_lookup(run->mm, w->addr);
	t0 = ktime_get_ns();
	if (vma)
		vma_start_write(vma);
	if (run->waits && run->nr_waits < VB_WAITS)
		run->waits[run->nr_waits++] = min_t(u64, ktime_get_ns() - t0, U32_MAX);
	mmap_write_unlock(run->mm);
	w->ops++;
	/* Contention: leave the readers a window between write sections. */
	if (run->waits)
		usleep_range(20, 40);
}

/* The mapper of the fault measurement: mmap and munmap a page elsewhere. */
static void vb_mapper(struct vb_worker *w)
{
	if (!IS_ERR_VALUE(vm_mmap(NULL, VB_MAP_ADDR, PAGE_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0)))
		vm_munmap(VB_MAP_ADDR, PAGE_SIZE);
	w->ops++;
}

/*
 * One write fault on a fresh page, as the architecture's fault handler
 * takes it: per-VMA first (falling back to mmap_lock), or straight under
 * mmap_lock, the path every fault takes without the per-VMA lock.
 */
static void vb_fault_once(struct vb_worker *w, unsigned long addr)
{
	struct mm_struct *mm = w->run->mm;
	struct vm_area_struct *vma;
	vm_fault_t fault;

	if (w->mode == VB_PERVMA) {
		vma = lock_vma_under_rcu(mm, addr);
		if (vma) {
			fault = vt_fault_vma_locked(vma, addr);
			if (vt_fault_holds_vma(fault))
				vma_end_read(vma);
			if (!(fault & VM_FAULT_RETRY))
				return;
		}
		w->fallbacks++;
	}
	vt_fault_mmap_locked(mm, addr);
}

static void vb_faulter(struct vb_worker *w)
{
	struct mm_struct *mm = w->run->mm;
	struct vm_area_struct *vma;
	int i;

	for (i = 0; i < VB_FAULT_PAGES; i++)
		vb_fault_once(w, w->addr + i * PAGE_SIZE);
	w->ops += VB_FAULT_PAGES;
	/* Fresh pages again: zap them as MADV_DONTNEED does (both modes alike). */
	mmap_read_lock(mm);
	vma = vma_lookup(mm, w->addr);
	if (vma)
		zap_vma_range(vma, vma->vm_start, vma->vm_end - vma->vm_start);
	mmap_read_unlock(mm);
}

static int vb_worker_fn(void *arg)
{
	struct vb_worker *w = arg;
	struct vb_run *run = w->run;

	kthread_use_mm(run->mm);
	while (!READ_ONCE(run->go) && !kthread_should_stop())
		cond_resched();
	while (READ_ONCE(run->go) && !kthread_should_stop()) {
		w->fn(w);
		cond_resched();
	}
	kthread_unuse_mm(run->mm);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 10);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The controller */

static int vb_add(struct vb_run *run, void (*fn)(struct vb_worker *w), enum vb_mode mode,
		  unsigned long addr)
{
	int id = run->pool.nr;
	struct vb_worker *w = &run->w[id];
	struct task_struct *t;

	if (id == VB_MAX_THREADS)
		return -E2BIG;
	memset(w, 0, sizeof(*w));
	w->run = run;
	w->fn = fn;
	w->mode = mode;
	w->addr = addr;
	w->id = id;
	t = vt_pool_add(&run->pool, vb_worker_fn, w, "vmalock_bench/%d", id);
	if (IS_ERR(t))
		return PTR_ERR(t);
	w->task = t;
	return 0;
}

static void vb_stop_all(struct vb_run *run)
{
	WRITE_ONCE(run->go, 0);
	vt_pool_stop(&run->pool);
}

/* Let the workers added run for vb_ms; returns the window in ns, 0 if stopped. */
static u64 vb_window(struct vb_run *run, int err)
{
	u64 t0, t;

	if (err) {
		vb_stop_all(run);
		return 0;
	}
	t0 = ktime_get_ns();
	WRITE_ONCE(run->go, 1);
	wait_event_interruptible_timeout(vb_wq, vb_stopping(), msecs_to_jiffies(vb_ms));
	WRITE_ONCE(run->go, 0);
	t = ktime_get_ns() - t0;
	/* Workers finish their batch; the window counts what they did. */
	return vb_stopping() ? 0 : t;
}

/* Sum of ops of workers running @fn; and their fallbacks. */
static u64 vb_sum(struct vb_run *run, void (*fn)(struct vb_worker *w), u64 *fallbacks)
{
	u64 n = 0, fb = 0;
	int i;

	for (i = 0; i < run->pool.nr; i++) {
		if (run->w[i].fn != fn)
			continue;
		n += run->w[i].ops;
		fb += run->w[i].fallbacks;
	}
	if (fallbacks)
		*fallbacks = fb;
	return n;
}

static u64 vb_rate(u64 ops, u64 ns)
{
	return ns ? div64_u64(ops * NSEC_PER_SEC, ns) : 0;
}

/* A value with two (or three) decimals, from an integer in hundredths. */
static void vb_fixed(char *buf, size_t size, u64 x100)
{
	scnprintf(buf, size, "%llu.%02llu", div_u64(x100, 100), x100 % 100);
}

/* One measurement: "GROUP NAME UNIT" and its value in each repeat. */
static void vb_emit(const char *group, const char *name, const char *unit, const u64 *v,
		    bool x100)
{
	char buf[32];
	int r;

	vb_print("%s %s %s", group, name, unit);
	for (r = 0; r < vb_repeats; r++) {
		if (x100)
			vb_fixed(buf, sizeof(buf), v[r]);
		else
			scnprintf(buf, sizeof(buf), "%llu", v[r]);
		vb_print(" %s", buf);
	}
	vb_print("\n");
}

/* 1: uncontended ns per pair, in this thread (it adopted the mm). */
enum { U_VMA_READ, U_MMAP_READ, U_SPECULATE, U_VMA_WRITE, NR_U };

static u64 vb_uncontended_once(struct mm_struct *mm, int kind)
{
	unsigned long addr = vt_vma_addr(0);
	struct vm_area_struct *vma;
	u64 t0 = ktime_get_ns(), end = t0 + (u64)vb_ms * NSEC_PER_MSEC, now, n = 0;
	unsigned int seq;
	int i;

	do {
		for (i = 0; i < VB_BATCH; i++) {
			switch (kind) {
			case U_VMA_READ:
				vma = lock_vma_under_rcu(mm, addr);
				if (vma)
					vma_end_read(vma);
				break;
			case U_MMAP_READ:
				mmap_read_lock(mm);
				vma = vma_lookup(mm, addr);
				mmap_read_unlock(mm);
				break;
			case U_SPECULATE:
				if (mmap_lock_speculate_try_begin(mm, &seq))
					mmap_lock_speculate_retry(mm, seq);
				break;
			case U_VMA_WRITE:
				mmap_write_lock(mm);
				vma = vma_lookup(mm, addr);
				if (vma)
					vma_start_write(vma);
				mmap_write_unlock(mm);
				break;
			}
		}
		n += VB_BATCH;
		cond_resched();
		now = ktime_get_ns();
	} while (now < end && !vb_stopping());
	/* hundredths of a ns per pair */
	return div64_u64((now - t0) * 100, n);
}

static int vb_uncontended(struct vb_run *run)
{
	static const char * const names[NR_U] = {
		"vma_read", "mmap_read", "speculate", "vma_write"
	};
	int r, k;

	/* Repeats alternate the kinds, so drift falls on all four. */
	for (r = 0; r < vb_repeats && !vb_stopping(); r++)
		for (k = 0; k < NR_U; k++)
			run->v[k][r] = vb_uncontended_once(run->mm, k);
	if (vb_stopping())
		return -EINTR;
	for (k = 0; k < NR_U; k++)
		vb_emit("uncontended", names[k], "ns/op", run->v[k], true);
	return 0;
}

/* Readers on the VMA at @raddr in @mode; a writer on @waddr unless 0. */
static int vb_readers_run(struct vb_run *run, int nr, enum vb_mode mode, unsigned long raddr,
			  unsigned long waddr, bool own_vma, u64 *rate, u64 *fallbacks)
{
	u64 ns, ops;
	int i, err = 0;

	run->nr_waits = 0;
	for (i = 0; i < nr && !err; i++)
		err = vb_add(run, vb_reader, mode, own_vma ? vt_vma_addr(i % vb_vmas) : raddr);
	if (waddr && !err)
		err = vb_add(run, vb_writer, mode, waddr);
	ns = vb_window(run, err);
	ops = vb_sum(run, vb_reader, fallbacks);
	vb_stop_all(run);
	if (err)
		return err;
	if (!ns)
		return -EINTR;
	*rate = vb_rate(ops, ns);
	return 0;
}

static int vb_nr_readers(void)
{
	return vb_readers ? vb_readers : max(1, (int)num_online_cpus() - 1);
}

/* v[2][r] = v[0][r] / v[1][r] in hundredths */
static void vb_ratio(struct vb_run *run)
{
	int r;

	for (r = 0; r < vb_repeats; r++)
		run->v[2][r] = run->v[1][r] ? div64_u64(run->v[0][r] * 100, run->v[1][r]) : 0;
}

/* 2: readers on VMA 0 while a writer write-locks VMA 1. */
static int vb_claim(struct vb_run *run)
{
	int r, m, err;

	for (r = 0; r < vb_repeats; r++)
		for (m = 0; m < 2; m++) {
			err = vb_readers_run(run, vb_nr_readers(), m, vt_vma_addr(0),
					     vt_vma_addr(1), false, &run->v[m][r], NULL);
			if (err)
				return err;
		}
	vb_ratio(run);
	vb_emit("claim", "pervma_reads", "ops/s", run->v[0], false);
	vb_emit("claim", "mmap_reads", "ops/s", run->v[1], false);
	vb_emit("claim", "ratio", "x", run->v[2], true);
	return 0;
}

static int vb_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* 3: readers and a writer on VMA 0. */
static int vb_contention(struct vb_run *run)
{
	static const char * const names[5] = {
		"reads", "fallback_pct", "wait_p50", "wait_p99", "wait_max"
	};
	static const char * const units[5] = { "ops/s", "%", "ns", "ns", "ns" };
	int r, k, err = 0;

	run->waits = kvmalloc_array(VB_WAITS, sizeof(*run->waits), GFP_KERNEL);
	if (!run->waits)
		return -ENOMEM;
	for (r = 0; r < vb_repeats; r++) {
		u64 rate, fb, reads;
		u32 *s = run->waits;
		int n;

		err = vb_readers_run(run, vb_nr_readers(), VB_PERVMA, vt_vma_addr(0),
				     vt_vma_addr(0), false, &rate, &fb);
		if (err)
			break;
		n = run->nr_waits;
		sort(s, n, sizeof(*s), vb_cmp_u32, NULL);
		reads = div_u64(rate * vb_ms, MSEC_PER_SEC);
		run->v[0][r] = rate;
		/* hundredths of a per cent */
		run->v[1][r] = reads ? div64_u64(fb * 10000, reads) : 0;
		run->v[2][r] = n ? s[n / 2] : 0;
		run->v[3][r] = n ? s[min(n - 1, n * 99 / 100)] : 0;
		run->v[4][r] = n ? s[n - 1] : 0;
	}
	kvfree(run->waits);
	run->waits = NULL;
	if (err)
		return err;
	for (k = 0; k < 5; k++)
		vb_emit("contention", names[k], units[k], run->v[k], k == 1);
	return 0;
}

/* 4: 1, 2, 4 .. CPUs readers, each on a VMA of its own, no writer. */
static int vb_scaling(struct vb_run *run)
{
	int cpus = min_t(int, num_online_cpus(), VB_MAX_READERS), k, r, m, err;
	char name[32];

	for (k = 1; ; k = min(k * 2, cpus)) {
		for (r = 0; r < vb_repeats; r++)
			for (m = 0; m < 2; m++) {
				err = vb_readers_run(run, k, m, 0, 0, true, &run->v[m][r], NULL);
				if (err)
					return err;
			}
		for (m = 0; m < 2; m++) {
			scnprintf(name, sizeof(name), "%s_%d", m ? "mmap" : "pervma", k);
			vb_emit("scaling", name, "ops/s", run->v[m], false);
		}
		if (k == cpus)
			break;
	}
	return 0;
}

/* One window of the fault workload in @mode: faults per second into @rate. */
static int vb_fault_window(struct vb_run *run, enum vb_mode mode, u64 *rate)
{
	int nf = vb_nr_readers(), i, err = 0;
	u64 ns;

	if (!run->fault_mapped) {
		for (i = 0; i < nf; i++)
			if (IS_ERR_VALUE(vm_mmap(NULL, VB_FAULT_BASE + i * VB_FAULT_STRIDE,
						 VB_FAULT_PAGES * PAGE_SIZE,
						 PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
						 0)))
				return -ENOMEM;
		run->fault_mapped = true;
	}
	for (i = 0; i < nf && !err; i++)
		err = vb_add(run, vb_faulter, mode, VB_FAULT_BASE + i * VB_FAULT_STRIDE);
	if (!err)
		err = vb_add(run, vb_mapper, mode, 0);
	ns = vb_window(run, err);
	*rate = vb_rate(vb_sum(run, vb_faulter, NULL), ns);
	vb_stop_all(run);
	if (err)
		return err;
	return ns ? 0 : -EINTR;
}

/* 5: fresh-page faults per second, per-VMA vs mmap_lock path. */
static int vb_faults(struct vb_run *run)
{
	static const char * const ev[4] = { "success", "abort", "retry", "miss" };
	int r, m, e, err;
	char name[40];

	/* v[0..1]: faults/s per mode, v[2]: ratio, v[3 + 4 * m + e]: events */
	for (r = 0; r < vb_repeats; r++)
		for (m = 0; m < 2; m++) {
			s64 before[4] = { 0 }, after[4] = { 0 };

			vt_vma_lock_events(before);
			err = vb_fault_window(run, m, &run->v[m][r]);
			vt_vma_lock_events(after);
			for (e = 0; e < 4; e++)
				run->v[3 + 4 * m + e][r] = after[e] - before[e];
			if (err)
				return err;
		}
	vb_ratio(run);
	vb_emit("faults", "pervma", "faults/s", run->v[0], false);
	vb_emit("faults", "mmap", "faults/s", run->v[1], false);
	vb_emit("faults", "ratio", "x", run->v[2], true);
	for (m = 0; m < 2; m++)
		for (e = 0; e < 4; e++) {
			scnprintf(name, sizeof(name), "%s_vma_lock_%s", m ? "mmap" : "pervma",
				  ev[e]);
			vb_emit("faults", name, "events", run->v[3 + 4 * m + e], false);
		}
	return 0;
}

/*
 * 6: the per-VMA faults of item 5 with the system-wide monitor off and on,
 * alternated; ratio = off / on, the slowdown watching costs. Then with the
 * monitor's pauses at each of vb_delays[] (each pause 1..1000 us, as the
 * harness's default), in the same rounds: delay_R and ratio_delay_R.
 */
static int vb_monitor(struct vb_run *run)
{
	int r, on, err, k, nr = 2 + vb_nr_delays;
	char name[32];

	for (r = 0; r < vb_repeats; r++)
		for (on = 0; on < nr; on++) {
			struct vt_sys_delay delay = {
				.rate = on >= 2 ? vb_delays[on - 2] : 0,
				.max_us = 1000, .seed = vb_seed + r,
			};
			/* v[0] off, v[1] on, v[2] off / on, v[3..] pauses */
			u64 *v = &run->v[on < 2 ? on : on + 1][r];

			if (on) {
				err = vt_sysmon_start(&delay);
				if (err == -EOPNOTSUPP) {
					vb_print("skip monitor: no vma_lock tracepoints\n");
					return 0;
				}
				if (err)
					return err;
			}
			err = vb_fault_window(run, VB_PERVMA, v);
			if (on)
				vt_sysmon_stop();
			if (err)
				return err;
		}
	vb_ratio(run);
	vb_emit("monitor", "off", "faults/s", run->v[0], false);
	vb_emit("monitor", "on", "faults/s", run->v[1], false);
	vb_emit("monitor", "ratio", "x", run->v[2], true);
	for (k = 0; k < vb_nr_delays; k++) {
		u64 *v = run->v[3 + k], *x = run->v[3 + VB_MAX_DELAYS + k];

		for (r = 0; r < vb_repeats; r++)
			x[r] = v[r] ? div64_u64(run->v[0][r] * 100, v[r]) : 0;
		scnprintf(name, sizeof(name), "delay_%d", vb_delays[k]);
		vb_emit("monitor", name, "faults/s", v, false);
		scnprintf(name, sizeof(name), "ratio_delay_%d", vb_delays[k]);
		vb_emit("monitor", name, "x", x, true);
	}
	return 0;
}

/* The measurements, numbered from 1 in this order (items=N,N..). */
static const struct {
	const char *name;
	int (*fn)(struct vb_run *run);
} vb_item_table[] = {
	{ "uncontended", vb_uncontended },
	{ "claim", vb_claim },
	{ "contention", vb_contention },
	{ "scaling", vb_scaling },
	{ "faults", vb_faults },
	{ "monitor", vb_monitor },
};

#define VB_NR_ITEMS	ARRAY_SIZE(vb_item_table)
#define VB_ITEMS_ALL	GENMASK(VB_NR_ITEMS, 1)

/* The bench's header line: what it ran on, with what. */
static void vb_header(void)
{
	char items[16] = "";
	int item;

	for (item = 1; item <= VB_NR_ITEMS; item++)
		if (vb_items & BIT(item))
			scnprintf(items + strlen(items), sizeof(items) - strlen(items), "%s%d",
				  items[0] ? "," : "", item);
	vb_print("# vmalock bench: kernel=%s repeats=%d ms=%d readers=%d cpus=%u vmas=%d",
		 init_utsname()->release, vb_repeats, vb_ms, vb_nr_readers(),
		 num_online_cpus(), vb_vmas);
	vb_print(" items=%s delays=", items);
	for (item = 0; item < vb_nr_delays; item++)
		vb_print("%s%d", item ? ":" : "", vb_delays[item]);
	vb_print("%s seed=%llu\n", vb_nr_delays ? "" : "0", vb_seed);
}

static int vb_controller_fn(void *unused)
{
	struct vb_run *run = kzalloc(sizeof(*run), GFP_KERNEL);
	struct mm_struct *mm = vt_mm_create();
	int item, err = run && mm ? 0 : -ENOMEM;

	vb_seed = get_random_u64();
	vb_header();
	if (!err) {
		run->mm = mm;
		kthread_use_mm(mm);
		err = vt_map_vmas(vb_vmas);
		if (err)
			vb_print("# error: vm_mmap of the test VMAs failed: %d\n", err);
	}
	for (item = 1; item <= VB_NR_ITEMS && run && mm && !err; item++) {
		if (!(vb_items & BIT(item)))
			continue;
		err = vb_item_table[item - 1].fn(run);
		if (vb_stopping())
			err = -EINTR;
		if (err)
			vb_print("# error: %s failed: %d\n", vb_item_table[item - 1].name, err);
	}
	vb_print("# end %s\n", err ? "error" : "ok");
	if (run && mm)
		kthread_unuse_mm(mm);
	if (mm)
		mmput(mm);	/* last user: exit_mmap() frees every VMA */
	kfree(run);
	/* Pairs with the acquire in vb_show(): the output is complete. */
	smp_store_release(&vb_active, false);
	wake_up_all(&vb_wq);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 10);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* debugfs: bench */

static void vb_reap(void)
{
	if (vb_task) {
		kthread_stop(vb_task);
		put_task_struct(vb_task);
		vb_task = NULL;
	}
}

static int vb_set(char *key, char *val, void *arg)
{
	unsigned int *items = arg;
	static const struct { const char *name; int *p, min, max; } nums[] = {
		{ "repeats", &vb_repeats, 1, VB_MAX_REPEATS },
		{ "ms", &vb_ms, 10, 60000 },
		{ "readers", &vb_readers, 0, VB_MAX_READERS },
	};
	int i, n;

	for (i = 0; i < ARRAY_SIZE(nums); i++) {
		if (strcmp(key, nums[i].name))
			continue;
		if (kstrtoint(val, 10, &n) || n < nums[i].min || n > nums[i].max) {
			pr_err("%s=%s: allowed %d..%d\n", key, val, nums[i].min, nums[i].max);
			return -EINVAL;
		}
		*nums[i].p = n;
		return 0;
	}
	if (!strcmp(key, "delays")) {
		char *tok;

		vb_nr_delays = 0;
		if (!strcmp(val, "0"))
			return 0;
		while ((tok = strsep(&val, ",:"))) {
			if (vb_nr_delays == VB_MAX_DELAYS || kstrtoint(tok, 10, &n) || n < 1 ||
			    n > 1000000) {
				pr_err("delays=%s: allowed 0 or up to %d rates 1..1000000, :-separated\n",
				       tok, VB_MAX_DELAYS);
				return -EINVAL;
			}
			vb_delays[vb_nr_delays++] = n;
		}
		return 0;
	}
	if (!strcmp(key, "items")) {
		char *tok;

		*items = 0;
		if (!strcmp(val, "all")) {
			*items = VB_ITEMS_ALL;
			return 0;
		}
		while ((tok = strsep(&val, ",:"))) {
			if (kstrtoint(tok, 10, &n) || n < 1 || n > VB_NR_ITEMS) {
				pr_err("items=%s: allowed all or a list of 1..%zu\n", tok,
				       VB_NR_ITEMS);
				return -EINVAL;
			}
			*items |= BIT(n);
		}
		return 0;
	}
	pr_err("unknown bench parameter '%s'; allowed: repeats=1..%d ms=10..60000 readers=0..%d (0: CPUs - 1) items=all|N,N.. (N 1..%zu) delays=0|R:R.. (item 6's pause rates, at most %d)\n",
	       key, VB_MAX_REPEATS, VB_MAX_READERS, VB_NR_ITEMS, VB_MAX_DELAYS);
	return -EINVAL;
}

static ssize_t vb_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	int save[3] = { vb_repeats, vb_ms, vb_readers }, nr_delays = vb_nr_delays;
	int delays[VB_MAX_DELAYS], vmas = READ_ONCE(vt_param_vals.vmas);
	unsigned int items = vb_items ?: VB_ITEMS_ALL;
	char buf[128];
	ssize_t err = vt_copy_cmd(ubuf, count, buf, sizeof(buf));

	if (err)
		return err;
	if (vmas < 2) {
		pr_err("bench needs vmas >= 2 (it is %d)\n", vmas);
		return -EINVAL;
	}
	mutex_lock(&vb_mutex);
	if (vb_active) {
		mutex_unlock(&vb_mutex);
		return -EBUSY;
	}
	memcpy(delays, vb_delays, sizeof(delays));
	err = vt_parse_kv(strim(buf), "bench",
			  "; allowed: repeats= ms= readers= items= delays=", vb_set, &items);
	if (!err && !items) {
		pr_err("items= names no measurement\n");
		err = -EINVAL;
	}
	if (err) {	/* all or nothing */
		vb_repeats = save[0];
		vb_ms = save[1];
		vb_readers = save[2];
		memcpy(vb_delays, delays, sizeof(delays));
		vb_nr_delays = nr_delays;
		mutex_unlock(&vb_mutex);
		return err;
	}
	vb_items = items;
	vb_vmas = vmas;
	vb_reap();
	vb_len = 0;
	vb_out[0] = '\0';
	WRITE_ONCE(vb_abort, false);
	vb_task = kthread_create(vb_controller_fn, NULL, "vmalock_benchctl");
	if (IS_ERR(vb_task)) {
		err = PTR_ERR(vb_task);
		vb_task = NULL;
		mutex_unlock(&vb_mutex);
		return err;
	}
	get_task_struct(vb_task);
	vb_active = true;
	wake_up_process(vb_task);
	mutex_unlock(&vb_mutex);
	return count;
}

/* Waits for a run in progress, then shows its output. */
static int vb_show(struct seq_file *m, void *v)
{
	/* Pairs with the controller's release: its output is complete. */
	if (wait_event_interruptible(vb_wq, !smp_load_acquire(&vb_active)))
		return -EINTR;
	mutex_lock(&vb_mutex);
	seq_write(m, vb_out, vb_len);
	mutex_unlock(&vb_mutex);
	return 0;
}

static int vb_open(struct inode *inode, struct file *file)
{
	return single_open(file, vb_show, NULL);
}

static const struct file_operations vb_fops = {
	.owner = THIS_MODULE,
	.open = vb_open,
	.read = seq_read,
	.write = vb_write,
	.llseek = seq_lseek,
	.release = single_release,
};

int vt_bench_init(struct dentry *dir)
{
	vb_out = kzalloc(VB_OUT_SIZE, GFP_KERNEL);
	if (!vb_out)
		return -ENOMEM;
	debugfs_create_file("bench", 0600, dir, NULL, &vb_fops);
	return 0;
}

/* Module exit: stop a bench in progress, its threads and its mm. */
void vt_bench_exit(void)
{
	WRITE_ONCE(vb_abort, true);
	wake_up_all(&vb_wq);
	mutex_lock(&vb_mutex);
	vb_reap();
	mutex_unlock(&vb_mutex);
	kfree(vb_out);
	vb_out = NULL;
}
