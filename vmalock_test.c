// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_test: stress the kernel's real per-VMA lock from kthreads and check
 * the protocol's invariants while it runs.
 *
 * This file is the top of the module, the plumbing an mm reviewer can skip:
 * the worker kthreads (one body for every role, as locktorture has), the
 * controller that runs the scenarios one after another, debugfs, the KTAP
 * results, module init and exit. What it stands on is in vmalock_core.c;
 * the lock operations are in vmalock_ops.c, the scenarios in
 * vmalock_scenarios.c (see vmalock_core.h for the layers).
 *
 * Control and results: /sys/kernel/debug/vmalock_test/ (see
 * Documentation/vmalock-test/running-by-hand.rst).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/stacktrace.h>
#include <linux/string_helpers.h>
#include <linux/utsname.h>

#ifdef CONFIG_PER_VMA_LOCK

#include "vmalock_core.h"

#ifndef kzalloc_obj	/* trees older than its introduction */
#define kzalloc_obj(P) kzalloc(sizeof(P), GFP_KERNEL)
#endif

static char run[256];

module_param_string(run, run, sizeof(run), 0444);
MODULE_PARM_DESC(run, "scenarios to run at load: all or a comma-separated list");

/* ---------------------------------------------------------------------- */
/* Features */

/*
 * What the kernel built against has (vmalock_compat.h, Kbuild): each name
 * and value goes in the KTAP header; what needs a missing one is skipped,
 * by name, with the reason below. @without: built as if the kernel lacked
 * it (make VT_WITHOUT=name), which the reason then says.
 */
#define VT_FEATURE(feat, have, reason) \
	{ #feat, VT_HAVE_##have, IS_ENABLED(VT_WITHOUT_##have), reason }
static const struct {
	const char *name;
	bool present;
	bool without;
	const char *missing;
} vt_features[NR_VT_FEATURES] = {
	[VT_FEAT_DETACH_EXPORT] = VT_FEATURE(detach_export, DETACH_EXPORT,
		"patch 0001 (export of __vma_exclude_readers_for_detach) not in this kernel"),
	[VT_FEAT_WRITE_KILLABLE] = VT_FEATURE(write_killable, WRITE_KILLABLE,
		"vma_start_write_killable() not in this kernel"),
	[VT_FEAT_VMA_LOCK_TRACE] = VT_FEATURE(vma_lock_trace, VMA_LOCK_TRACE,
		"vma_lock tracepoints (patch 0003) not in this kernel"),
	/* Nothing here calls it: its absence says /proc maps readers take mmap_lock. */
	[VT_FEAT_LOCK_NEXT_VMA] = VT_FEATURE(lock_next_vma, LOCK_NEXT_VMA,
		"lock_next_vma() not in this kernel: /proc maps readers take mmap_lock"),
};

/* Why feature @f is missing, into @buf of @size. */
static int vt_feature_missing(int f, char *buf, size_t size)
{
	/* No "=" here: the KTAP header's key=value pairs are the features line's. */
	return scnprintf(buf, size, "%s%s", vt_features[f].missing,
			 vt_features[f].without ? " (simulated: built with VT_WITHOUT)" : "");
}

/* The first of the features @needs (BIT(VT_FEAT_*)) the kernel lacks, or -1. */
static int vt_missing(unsigned long needs)
{
	int f;

	for (f = 0; f < NR_VT_FEATURES; f++)
		if ((needs & BIT(f)) && !vt_features[f].present)
			return f;
	return -1;
}

/* ---------------------------------------------------------------------- */
/* The run in progress; the controller owns it. */

/* What a scenario's run leaves for the results. */
struct vt_result {
	enum vt_scn scn;
	bool skipped;
	char skip_reason[160];	/* a missing feature, simulated, fits */
	u64 time_ms;
	u64 detected_ms;
	s64 stats[NR_VT_STATS];
	u64 inv_count[NR_INVS];
	char first[320];
	char notes[96];		/* roles that sat out, and why */
	/* /proc/vmstat vma_lock_{success,abort,retry,miss} deltas */
	bool has_vmstat;
	s64 vmstat[4];
	/* What the system-wide monitor counted during the scenario */
	bool has_sys;
	s64 sys[NR_VT_SYS_COUNTS];
};

static DEFINE_MUTEX(vt_mutex);		/* serialises start/params/results */
static struct task_struct *vt_controller;
static DECLARE_COMPLETION(vt_done);
static bool vt_running;

#define VT_TICK		(HZ / 20)	/* the controller's checks during a run */
#define VT_RESCUE	(2 * HZ)	/* for woken writers to leave their loops */
#define VT_STUCK_STACK	16		/* frames shown of a stuck worker */
static DECLARE_WAIT_QUEUE_HEAD(vt_wq);
static struct vt_ctx *vt_cur;		/* for the status file */
static const char *vt_cur_name = "";
static unsigned long vt_run_mask;
static bool vt_run_sysmon_skipped;	/* asked for, but this kernel cannot */
static char *vt_results;		/* KTAP of the last run */
static size_t vt_results_len;

/* ---------------------------------------------------------------------- */
/* Workers: one kthread body for every role */

static int vt_worker_fn(void *arg)
{
	struct vt_worker *w = arg;
	const struct vt_role *role = w->role;

	if (role->use_mm)
		w->mm = w->ctx->mm;
	/* A role that stays out of this run waits for kthread_stop(). */
	if (role->start && role->start(w)) {
		WRITE_ONCE(w->done, true);
		wake_up_all(&vt_wq);
		while (!kthread_should_stop())
			schedule_timeout_idle(HZ / 10);
		return 0;
	}
	if (w->mm)
		kthread_use_mm(w->mm);
	while (!vt_should_stop()) {
		w->iter++;
		role->step(w);
		cond_resched();
	}
	if (role->stop)
		role->stop(w);
	if (w->mm)
		kthread_unuse_mm(w->mm);
	WRITE_ONCE(w->done, true);
	wake_up_all(&vt_wq);
	return 0;
}

static int vt_spawn(struct vt_ctx *ctx, const struct vt_role *role)
{
	int i, n = role->count ? *role->count : 1;

	for (i = 0; i < n; i++) {
		struct vt_worker *w = &ctx->workers[ctx->pool.nr];
		struct task_struct *t;

		w->ctx = ctx;
		w->role = role;
		w->id = i;
		w->slot = ctx->pool.nr;
		prandom_seed_state(&w->rnd, ctx->seed + ctx->pool.nr * 7919 + ctx->id);
		t = vt_pool_add(&ctx->pool, vt_worker_fn, w, "vmalock_%s/%d", role->name, i);
		if (IS_ERR(t))
			return PTR_ERR(t);
		w->task = t;
	}
	return 0;
}

/*
 * Invariant 12 for a writer that never returns (a wake-up lost for good):
 * the writer cannot time its own wait, so the controller does, and reports
 * it at twice the bound (a wait that ends is the writer's own to report).
 */
static void vt_check_writers(struct vt_ctx *ctx)
{
	u64 now, bound = 2ULL * vt_cxt.p.writer_timeout_ms * NSEC_PER_MSEC;
	int i;

	for (i = 0; i < ctx->pool.nr; i++) {
		struct vt_worker *w = &ctx->workers[i];
		/* The clock read after the start of the wait, never before it. */
		u64 since = READ_ONCE(w->write_since);

		now = ktime_get_ns();
		if (since && now > since + bound && !atomic_xchg(&w->write_said, 1))
			vt_violation(ctx, INV_WRITER_PROGRESS,
				     "%s/%d has waited %llu ms in vma_start_write() on VMA %d and not returned (bound %d ms)",
				     w->role->name, w->id, div_u64(now - since, NSEC_PER_MSEC),
				     w->write_idx, vt_cxt.p.writer_timeout_ms);
	}
}

/*
 * How long after the scenario's end a worker may still be in its loop: any
 * step's own bound (writer_timeout_ms, release_timeout_ms) twice over, plus
 * slack for a slow guest. Beyond it, the worker is stuck in the lock under
 * test: a wake-up lost, a reference never dropped.
 */
static unsigned int vt_stuck_ms(void)
{
	return 10000 + 2 * max(vt_cxt.p.writer_timeout_ms, vt_cxt.p.release_timeout_ms);
}

static bool vt_workers_done(struct vt_ctx *ctx)
{
	int i;

	for (i = 0; i < ctx->pool.nr; i++)
		if (!READ_ONCE(ctx->workers[i].done))
			return false;
	return true;
}

/* Workers still in their loop @ms after the scenario's end, with their stacks. */
static void vt_report_stuck(struct vt_ctx *ctx, const char *what, unsigned int ms)
{
	int i;

	for (i = 0; i < ctx->pool.nr; i++) {
		struct vt_worker *w = &ctx->workers[i];
		unsigned long stack[VT_STUCK_STACK];
		unsigned int n;

		if (READ_ONCE(w->done))
			continue;
		pr_err("%s%s: worker %s/%d (pid %d) still in its loop %u ms after the scenario ended, in step %lu\n",
		       what, vt_scn_name(ctx->id), w->role->name, w->id, task_pid_nr(w->task), ms,
		       w->iter);
		/* At the console's level: sched_show_task() prints at KERN_INFO. */
		n = stack_trace_save_tsk(w->task, stack, ARRAY_SIZE(stack), 0);
		stack_trace_print(stack, n, 8);
	}
}

/*
 * End the loops, and give the workers a bound to leave them. One that has
 * not is stuck in the lock under test. A writer whose wake-up was lost gets
 * one from here, so that the run ends and reports (vt_check_writers() has
 * named the invariant); one stuck otherwise (a reference never dropped) is
 * said at once, as a hang, with its stack: the host ends the boot on that
 * line, where the hung-task detector takes 30-60 s and kthread_stop() below
 * waits for ever.
 */
static void vt_stop_workers(struct vt_ctx *ctx)
{
	unsigned int ms = vt_stuck_ms();

	WRITE_ONCE(vt_cxt.ending, true);
	if (!wait_event_idle_timeout(vt_wq, vt_workers_done(ctx), msecs_to_jiffies(ms))) {
		vt_check_writers(ctx);
		vt_report_stuck(ctx, "", ms);
		pr_err("%s: waking the writers that wait on the test mm\n", vt_scn_name(ctx->id));
		rcuwait_wake_up(&ctx->mm->vma_writer_wait);
		if (!wait_event_idle_timeout(vt_wq, vt_workers_done(ctx), VT_RESCUE))
			vt_report_stuck(ctx, "hang: ", ms + jiffies_to_msecs(VT_RESCUE));
	}
	/* Last spawned first: helpers (killer, crowd) go before those they act on. */
	vt_pool_stop(&ctx->pool);
}

/* ---------------------------------------------------------------------- */
/* Running a scenario */

/* A monitor's first violation, @ms into the scenario, if it came first. */
static void vt_merge_first(struct vt_ctx *ctx, struct vt_result *r, const char *first, u64 ms)
{
	if (r->first[0] && r->detected_ms <= ms)
		return;
	r->detected_ms = ms;
	strscpy(r->first, first);
	pr_err("violation in %s: %s\n", vt_scn_name(ctx->id), first);
}

/* Merge the free monitor's counts, and its first violation if it came first. */
static void vt_merge_monitor(struct vt_ctx *ctx, struct vt_result *r)
{
	struct vm_free_monitor *m = &ctx->mon;
	char first[sizeof(r->first)];

	r->stats[STAT_FREES] = atomic64_read(&m->frees);
	r->inv_count[INV_READER_AT_FREE] += atomic64_read(&m->reader_at_free);
	r->inv_count[INV_REFCOUNT_AT_FREE] += atomic64_read(&m->refcount_at_free);
	if (!vm_free_monitor_first(m, first, sizeof(first)))
		return;
	vt_merge_first(ctx, r, first, div_u64(m->ns - ctx->start_ns, NSEC_PER_MSEC));
}

/*
 * The system-wide monitor's findings since the last scenario (events between
 * two scenarios go to the next one), and its first violation if it came
 * first.
 */
static void vt_merge_sysmon(struct vt_ctx *ctx, struct vt_result *r)
{
	char first[sizeof(r->first)];
	u64 ns = 0, ms;

	if (!vt_cxt.sysmon)
		return;
	r->has_sys = true;
	vt_sysmon_collect(r->inv_count, r->sys, first, sizeof(first), &ns);
	if (!first[0])
		return;
	ms = ns > ctx->start_ns ? div_u64(ns - ctx->start_ns, NSEC_PER_MSEC) : 0;
	vt_merge_first(ctx, r, first, ms);
}

static void vt_snapshot(struct vt_ctx *ctx, struct vt_result *r)
{
	int i;

	for (i = 0; i < NR_VT_STATS; i++)
		r->stats[i] = atomic64_read(&ctx->stats[i]);
	for (i = 0; i < NR_INVS; i++)
		r->inv_count[i] = atomic64_read(&ctx->inv_count[i]);
	strscpy(r->first, ctx->first);
	r->detected_ms = ctx->detected_ms;
	strscpy(r->notes, ctx->notes);
}

static const char *vt_coverage_missing(struct vt_ctx *ctx)
{
	return ctx->scn->coverage ? ctx->scn->coverage(ctx) : NULL;
}

/*
 * Run for duration_ms; a scenario that has not yet reached the state it is
 * about (a race, such as reuse, may take a while) gets up to three more.
 * TASK_IDLE: a duration beyond the hung-task timeout is not a hang.
 */
static void vt_wait_run(struct vt_ctx *ctx)
{
	unsigned long end = jiffies + msecs_to_jiffies(vt_cxt.p.duration_ms);
	unsigned long more = jiffies + msecs_to_jiffies(4 * vt_cxt.p.duration_ms);

	while (!READ_ONCE(vt_cxt.stop) && time_before(jiffies, end)) {
		wait_event_idle_timeout(vt_wq, READ_ONCE(vt_cxt.stop), VT_TICK);
		vt_check_writers(ctx);
	}
	while (!READ_ONCE(vt_cxt.stop) && vt_coverage_missing(ctx) && time_before(jiffies, more)) {
		wait_event_idle_timeout(vt_wq, READ_ONCE(vt_cxt.stop), VT_TICK);
		vt_check_writers(ctx);
	}
}

static void vt_skip(struct vt_result *r, const char *why, int err)
{
	r->skipped = true;
	scnprintf(r->skip_reason, sizeof(r->skip_reason), "%s (%d)", why, err);
	pr_warn("%s: skipped: %s\n", vt_scn_name(r->scn), r->skip_reason);
}

static void vt_set_cur(struct vt_ctx *ctx)
{
	mutex_lock(&vt_mutex);		/* the status file reads vt_cur under it */
	WRITE_ONCE(vt_cur, ctx);
	mutex_unlock(&vt_mutex);
}

/* The scenario's workers, or its run hook, for duration_ms (or until stopped). */
static int vt_run_workers(struct vt_ctx *ctx)
{
	const struct vt_scenario *s = ctx->scn;
	const struct vt_role *role;
	int err = 0;

	WRITE_ONCE(vt_cxt.ending, false);
	if (s->run) {
		s->run(ctx);
		return 0;
	}
	for (role = s->roles; role < s->roles + ARRAY_SIZE(s->roles) && role->step && !err; role++)
		err = vt_spawn(ctx, role);
	if (!err && vt_cxt.p.onoff_ms && s->roles[0].step)
		err = vt_spawn(ctx, &vt_onoff_role);
	if (!err) {
		if (vt_cxt.p.verbose >= 2)
			pr_info("%s: %d threads, %d VMAs, ops %s\n",
				vt_scn_name(ctx->id), ctx->pool.nr, vt_cxt.p.vmas, ctx->ops->name);
		vt_wait_run(ctx);
	}
	vt_stop_workers(ctx);
	return err;
}

/* The part of a scenario's run that happens in its test mm. */
static void vt_run_in_mm(struct vt_ctx *ctx, struct vt_result *res)
{
	const struct vt_scenario *s = ctx->scn;
	const char *missing;
	int err, i;

	err = vt_map_vmas(vt_cxt.p.vmas);
	if (err) {
		vt_skip(res, "vm_mmap of the test VMAs failed", err);
		return;
	}
	if (s->needs_free_probe) {
		ctx->mon.held = ctx->held;
		ctx->mon.nr_held = VT_MAX_THREADS;
		err = vm_free_monitor_start(&ctx->mon);
		if (err) {
			vt_skip(res, "cannot kprobe vm_area_free (CONFIG_KPROBES?)", err);
			return;
		}
	}
	if (s->has_vmstat)
		res->has_vmstat = vt_vma_lock_events(res->vmstat);
	ctx->start_ns = ktime_get_ns();
	vt_set_cur(ctx);
	err = vt_run_workers(ctx);
	res->time_ms = div_u64(ktime_get_ns() - ctx->start_ns, NSEC_PER_MSEC);
	if (res->has_vmstat) {
		s64 now[4];

		res->has_vmstat = vt_vma_lock_events(now);
		for (i = 0; i < 4; i++)
			res->vmstat[i] = now[i] - res->vmstat[i];
	}
	/* A run that never reached the state it is about did not test it. */
	missing = err ? NULL : vt_coverage_missing(ctx);
	if (missing)
		vt_violation(ctx, INV_COVERAGE, "%s", missing);
	if (s->needs_free_probe)
		vm_free_monitor_stop(&ctx->mon);
	vt_set_cur(NULL);
	vt_snapshot(ctx, res);
	if (s->needs_free_probe)
		vt_merge_monitor(ctx, res);
	vt_merge_sysmon(ctx, res);
	if (err)
		vt_skip(res, "kthread_create failed", err);
}

static void vt_run_scenario(enum vt_scn scn, struct vt_result *res)
{
	const struct vt_scenario *s = &vt_scenarios[scn];
	struct vt_ctx *ctx;
	int err, f;

	memset(res, 0, sizeof(*res));
	res->scn = scn;
	f = vt_missing(s->needs);
	if (f >= 0) {
		res->skipped = true;
		vt_feature_missing(f, res->skip_reason, sizeof(res->skip_reason));
		pr_warn("%s: skipped: %s\n", vt_scn_name(scn), res->skip_reason);
		return;
	}
	ctx = kzalloc_obj(*ctx);
	if (!ctx) {
		vt_skip(res, "out of memory", -ENOMEM);
		return;
	}
	ctx->id = scn;
	ctx->scn = s;
	ctx->seed = vt_cxt.seed;
	vt_effective_ops(vt_cxt.broken, &ctx->eff_ops);
	ctx->ops = &ctx->eff_ops;
	spin_lock_init(&ctx->vlock);
	atomic_set(&ctx->hot_vma, -1);
	atomic_set(&ctx->straggler_on, -1);
	vt_cur_name = vt_scn_name(scn);
	ctx->slots = kcalloc(vt_cxt.p.vmas, sizeof(*ctx->slots), GFP_KERNEL);
	ctx->mm = vt_mm_create();
	err = ctx->slots && ctx->mm ? 0 : -ENOMEM;
	if (!err && ctx->ops->setup)
		err = ctx->ops->setup();
	if (!err && s->setup)
		err = s->setup(ctx);
	if (err) {
		vt_skip(res, "scenario setup failed", err);
	} else {
		kthread_use_mm(ctx->mm);
		vt_run_in_mm(ctx, res);
		kthread_unuse_mm(ctx->mm);
	}
	if (s->teardown)
		s->teardown(ctx);
	if (ctx->ops->teardown)
		ctx->ops->teardown();
	if (ctx->mm)
		mmput(ctx->mm);	/* last user: exit_mmap() frees every VMA */
	kfree(ctx->slots);
	kfree(ctx);
}

/* ---------------------------------------------------------------------- */
/* Results as KTAP */

#define VT_RESULTS_SIZE	(64 * 1024)
#define VT_SITES_SHOWN	96	/* call sites listed in the results */

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
	const char *name = vt_scn_name(r->scn);
	const s64 *st = r->stats;
	u64 ops = st[STAT_READS] + st[STAT_WRITES] + st[STAT_DETACHES] + st[STAT_REPLACES];
	u64 v = vt_violations(r);
	size_t len = 0;
	int i;

	if (r->skipped)
		return scnprintf(buf, size, "ok %d %s # SKIP %s\n", num, name, r->skip_reason);
	len += scnprintf(buf + len, size - len,
			 "# %s: ops=%llu successes=%lld fallbacks=%lld violations=%llu time_ms=%llu ops_per_s=%llu",
			 name, ops, st[STAT_READ_OK], st[STAT_FALLBACKS], v, r->time_ms,
			 div64_u64(ops * 1000, max_t(u64, r->time_ms, 1)));
	if (v)
		len += scnprintf(buf + len, size - len, " detected_ms=%llu", r->detected_ms);
	len += scnprintf(buf + len, size - len, "\n# %s:", name);
	for (i = 0; i < NR_VT_STATS; i++)
		len += scnprintf(buf + len, size - len, " %s=%lld", vt_stat_names[i], st[i]);
	len += scnprintf(buf + len, size - len, "\n");
	if (r->notes[0])
		len += scnprintf(buf + len, size - len, "# %s: %s\n", name, r->notes);
	if (r->has_vmstat) {
		s64 all = max_t(s64, r->vmstat[0] + r->vmstat[1] + r->vmstat[2], 1);

		len += scnprintf(buf + len, size - len,
				 "# %s: vmstat vma_lock_success=%lld vma_lock_abort=%lld vma_lock_retry=%lld vma_lock_miss=%lld per_vma_percent=%lld\n",
				 name, r->vmstat[0], r->vmstat[1], r->vmstat[2], r->vmstat[3],
				 div64_s64(r->vmstat[0] * 100, all));
	}
	if (r->has_sys) {
		len += scnprintf(buf + len, size - len, "# %s: sysmon", name);
		for (i = 0; i < NR_VT_SYS_COUNTS; i++)
			len += scnprintf(buf + len, size - len, " %s=%lld",
					 vt_sys_count_names[i], r->sys[i]);
		len += scnprintf(buf + len, size - len, "\n");
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

/* The KTAP header: the run's values, the kernel's features, the plan of @n. */
static size_t vt_format_header(char *buf, size_t size, int n)
{
	const struct vt_params *p = &vt_cxt.p;
	const char *sep;
	size_t len;
	int i;

	len = scnprintf(buf, size,
			"KTAP version 1\n# vmalock_test: kernel=%s broken=%s duration_ms=%d seed=%llu readers=%d writers=%d detachers=%d vmas=%d hold_us=%d onoff_ms=%d sysmon=%d delay_rate=%d delay_max_us=%d sit_us=%d\n# vmalock_test: features",
			init_utsname()->release, vt_broken_name(vt_cxt.broken), p->duration_ms,
			vt_cxt.seed, p->readers, p->writers, p->detachers, p->vmas, p->hold_us,
			p->onoff_ms, vt_cxt.sysmon, vt_cxt.sysmon ? p->delay_rate : 0,
			p->delay_max_us, vt_cxt.sysmon ? p->sit_us : 0);
	for (i = 0; i < NR_VT_FEATURES; i++)
		len += scnprintf(buf + len, size - len, " %s=%d",
				 vt_features[i].name, vt_features[i].present);
	for (i = 0, sep = " without="; i < NR_VT_FEATURES; i++)
		if (vt_features[i].without) {
			len += scnprintf(buf + len, size - len, "%s%s", sep, vt_features[i].name);
			sep = ",";
		}
	for (i = 0; i < NR_VT_FEATURES; i++)
		if (!vt_features[i].present) {
			len += scnprintf(buf + len, size - len, "\n# vmalock_test: ");
			len += vt_feature_missing(i, buf + len, size - len);
		}
	return len + scnprintf(buf + len, size - len, "\n1..%d\n", n);
}

static int vt_controller_fn(void *unused)
{
	struct vt_result *res;
	size_t len = 0;
	int num = 0, n = hweight_long(vt_run_mask) + vt_run_sysmon_skipped;
	char *buf;
	int i;

	buf = kzalloc(VT_RESULTS_SIZE, GFP_KERNEL);
	res = kzalloc_obj(*res);
	if (!buf || !res)
		goto out;
	len = vt_format_header(buf, VT_RESULTS_SIZE, n);
	for (i = 0; i < NR_SCNS; i++) {
		if (!(vt_run_mask & BIT(i)))
			continue;
		if (READ_ONCE(vt_cxt.stop)) {
			memset(res, 0, sizeof(*res));
			res->scn = i;
			res->skipped = true;
			strscpy(res->skip_reason, "run stopped before this scenario");
		} else {
			vt_run_scenario(i, res);
		}
		len += vt_format_result(buf + len, VT_RESULTS_SIZE - len, ++num, res);
		if (vt_cxt.p.verbose >= 2)
			pr_info("%s done\n", vt_scn_name(i));
	}
	/* The system-wide checks, which every scenario's line shows when they ran. */
	if (vt_run_sysmon_skipped) {
		len += scnprintf(buf + len, VT_RESULTS_SIZE - len, "ok %d sysmon # SKIP ", ++num);
		len += vt_feature_missing(VT_FEAT_VMA_LOCK_TRACE, buf + len, VT_RESULTS_SIZE - len);
		len += scnprintf(buf + len, VT_RESULTS_SIZE - len, ": %s and %s not checked\n",
				 vt_inv_names[INV_SYS_RW_EXCLUSION],
				 vt_inv_names[INV_SYS_READER_AT_DETACH]);
	}
	/* Which kernel paths took the write lock during the run, and how often. */
	if (vt_cxt.sysmon)
		len += vt_sysmon_report(buf + len, VT_RESULTS_SIZE - len, VT_SITES_SHOWN);
out:
	if (vt_cxt.sysmon)
		vt_sysmon_stop();
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

/* ---------------------------------------------------------------------- */
/* Starting and stopping a run */

/* ", name" for every scenario in @mask (or every one), into @list. */
static void vt_list_scenarios(char *list, size_t size, unsigned long mask)
{
	int i, len = 0;

	list[0] = '\0';
	for (i = 0; i < NR_SCNS; i++)
		if (mask & BIT(i))
			len += scnprintf(list + len, size - len, ", %s", vt_scn_name(i));
}

/* Parse "all" or "a,b,c" into a scenario mask for broken variant @b. */
static int vt_parse_run(const char *spec, enum vt_broken b, unsigned long *mask)
{
	unsigned long targets = vt_broken_targets(b);
	char *dup, *p, *tok, list[256];
	int i, err = 0;

	*mask = 0;
	if (sysfs_streq(spec, "all")) {
		for (i = 0; i < NR_SCNS; i++)
			if (targets ? targets & BIT(i) : !vt_scenarios[i].only_named)
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
		i = vt_find_scn(tok);
		if (i < 0) {
			vt_list_scenarios(list, sizeof(list), ~0UL);
			pr_err("unknown scenario '%s'; allowed: all%s\n", tok, list);
			err = -EINVAL;
		} else if (targets && !(targets & BIT(i))) {
			vt_list_scenarios(list, sizeof(list), targets);
			pr_err("broken variant %s is not caught by %s; it applies to: %s\n",
			       vt_broken_name(b), tok, list + 2);
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
	unsigned long mask;
	int b, err;

	mutex_lock(&vt_mutex);
	if (vt_running) {
		pr_err("a run is in progress; wait for it or write 1 to stop\n");
		err = -EBUSY;
		goto out;
	}
	b = vt_find_broken(vt_param_broken);
	if (b < 0) {
		err = -EINVAL;
		goto out;
	}
	err = vt_parse_run(spec, b, &mask);
	if (err)
		goto out;
	/* The run's own copy: what params says now holds until it ends. */
	vt_cxt.p = vt_param_vals;
	vt_cxt.seed = vt_param_seed ?: get_random_u64();
	/* Without the tracepoints the run goes on, and says sysmon was skipped. */
	vt_cxt.sysmon = vt_cxt.p.sysmon && vt_features[VT_FEAT_VMA_LOCK_TRACE].present;
	if (vt_cxt.sysmon) {
		struct vt_sys_delay delay = {
			.rate = vt_cxt.p.delay_rate, .max_us = vt_cxt.p.delay_max_us,
			.sit_us = vt_cxt.p.sit_us, .seed = vt_cxt.seed,
		};

		err = vt_sysmon_start(&delay);
		if (err)
			goto out;
	} else if (vt_cxt.p.delay_rate) {
		pr_notice("delay_rate=%d ignored: the pauses are the system-wide monitor's (sysmon=0)\n",
			  vt_cxt.p.delay_rate);
	}
	vt_run_sysmon_skipped = vt_cxt.p.sysmon && !vt_cxt.sysmon;
	vt_cxt.broken = b;
	vt_run_mask = mask;
	vt_cxt.stop = false;
	vt_reap_controller();
	reinit_completion(&vt_done);
	vt_controller = kthread_create(vt_controller_fn, NULL, "vmalock_ctl");
	if (IS_ERR(vt_controller)) {
		err = PTR_ERR(vt_controller);
		vt_controller = NULL;
		if (vt_cxt.sysmon)
			vt_sysmon_stop();
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
	WRITE_ONCE(vt_cxt.stop, true);
	wake_up_all(&vt_wq);
}

/* ---------------------------------------------------------------------- */
/* debugfs */

static struct dentry *vt_dir;

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
	char buf[8];
	ssize_t err = vt_copy_cmd(ubuf, count, buf, sizeof(buf));

	/* "1" only: kstrtobool() would take "1garbage", "yes" or "on" as well. */
	if (err || !sysfs_streq(buf, "1")) {
		pr_err("stop: write 1 to stop the run in progress\n");
		return err ?: -EINVAL;
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
		seq_printf(m, "  %-14s %s%s\n", vt_scn_name(i), vt_scenarios[i].desc,
			   vt_scenarios[i].only_named ? " (only when named)" : "");
	seq_puts(m, "broken variants (set broken=NAME in params; must be reported as FAIL):\n");
	for (i = 0; i < NR_OPS; i++) {
		seq_printf(m, "  %-18s %s", vt_broken_name(i), vt_broken_ops(i)->desc);
		if (vt_broken_targets(i)) {
			seq_puts(m, "; caught by:");
			vt_show_catches(m, i);
		}
		seq_putc(m, '\n');
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vt_scenarios);

static int vt_params_show(struct seq_file *m, void *v)
{
	vt_params_print(m);
	return 0;
}

/* "key=value key=value ..." ; all or nothing. */
static ssize_t vt_params_write(struct file *file, const char __user *ubuf, size_t count,
			       loff_t *ppos)
{
	char buf[256];
	ssize_t err = vt_copy_cmd(ubuf, count, buf, sizeof(buf));

	if (err)
		return err;
	mutex_lock(&vt_mutex);
	if (vt_running) {
		pr_err("params: a run is in progress; parameters are fixed until it ends\n");
		err = -EBUSY;
	} else {
		err = vt_params_parse(buf);
	}
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
	int i;

	mutex_lock(&vt_mutex);
	seq_printf(m, "%s\n", vt_running ? "running" : vt_results ? "done" : "idle");
	if (vt_running)
		seq_printf(m, "scenario=%s broken=%s seed=%llu\n", vt_cur_name,
			   vt_broken_name(vt_cxt.broken), vt_cxt.seed);
	/* vt_cur lives until the controller clears it, under the scenario. */
	ctx = READ_ONCE(vt_cur);
	if (vt_running && ctx) {
		for (i = 0; i < NR_VT_STATS; i++)
			seq_printf(m, "%s%s=%lld", i ? " " : "", vt_stat_names[i],
				   i == STAT_FREES ? atomic64_read(&ctx->mon.frees) :
				   atomic64_read(&ctx->stats[i]));
		seq_putc(m, '\n');
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
	int err;

	err = vt_params_check();
	if (err)
		return err;
	complete_all(&vt_done);	/* no run yet: nothing to wait for */

	vt_dir = debugfs_create_dir("vmalock_test", NULL);
	debugfs_create_file("scenarios", 0444, vt_dir, NULL, &vt_scenarios_fops);
	debugfs_create_file("params", 0644, vt_dir, NULL, &vt_params_fops);
	debugfs_create_file("run", 0200, vt_dir, NULL, &vt_run_fops);
	debugfs_create_file("stop", 0200, vt_dir, NULL, &vt_stop_fops);
	debugfs_create_file("status", 0444, vt_dir, NULL, &vt_status_fops);
	debugfs_create_file("results", 0444, vt_dir, NULL, &vt_results_fops);
	err = vt_bench_init(vt_dir);	/* the bench file, vmalock_bench.c */
	if (err) {
		debugfs_remove_recursive(vt_dir);
		return err;
	}

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
	vt_bench_exit();
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
