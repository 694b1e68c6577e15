// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_test core: what every other part of the module uses, and nothing
 * above it. The parameters and the run's copy of them (vt_cxt, as
 * locktorture's cxt), the names of scenarios, broken variants, invariants
 * and statistics, stop and sleep, the test mms, a write fault as the
 * architecture takes it, violations and statistics, kthread pools, and the
 * parsing of what is written to the debugfs files.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/string_helpers.h>
#include <linux/uaccess.h>
#include <linux/vmstat.h>

#include "vmalock_core.h"

/* mm_alloc() and arch_pick_mmap_layout() are exported for tests only. */
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

/* ---------------------------------------------------------------------- */
/* Parameters */

struct vt_params vt_param_vals = {
#define VT_PARAM(name, def, ...)	.name = def,
#include "vmalock_params.h"
};

ulong vt_param_seed;
char vt_param_broken[32] = "none";

#define VT_PARAM(name, def, min, max, doc)					\
	module_param_named(name, vt_param_vals.name, int, 0444);		\
	MODULE_PARM_DESC(name, doc " (" __stringify(min) "-" __stringify(max)	\
			 ", default " __stringify(def) ")");
#include "vmalock_params.h"
module_param_named(seed, vt_param_seed, ulong, 0444);
MODULE_PARM_DESC(seed, "random seed (0: pick one and report it)");
module_param_string(broken, vt_param_broken, sizeof(vt_param_broken), 0444);
MODULE_PARM_DESC(broken, "lock ops: none or a broken variant (see debugfs scenarios)");

static const struct vt_param {
	const char *name;
	int *val;
	int min, max, def;
} vt_param_table[] = {
#define VT_PARAM(name, def, min, max, ...)	{ #name, &vt_param_vals.name, min, max, def },
#include "vmalock_params.h"
};

struct vt_cxt vt_cxt;

/* ---------------------------------------------------------------------- */
/* Names */

const char * const vt_inv_names[NR_INVS] = {
#define VT_INV(id, name)	\
	[INV_##id] = name,
#include "vmalock_names.h"
};

/* As reported in the KTAP diagnostics. */
const char * const vt_stat_names[NR_VT_STATS] = {
	[STAT_READS] = "reads",
	[STAT_READ_OK] = "read_ok",
	[STAT_FALLBACKS] = "fallbacks",
	[STAT_WRITES] = "writes",
	[STAT_DETACHES] = "detaches",
	[STAT_REPLACES] = "replaces",
	[STAT_FREES] = "frees_seen",
	[STAT_ROUNDS] = "rounds",
	[STAT_STRAGGLERS] = "stragglers",
	[STAT_DETACH_READERS] = "detaches_with_reader",
	[STAT_LIMIT_HITS] = "limit_hits",
	[STAT_KILLED] = "killed",
	[STAT_FOREIGN] = "foreign_vmas",
	[STAT_HANDOFFS] = "handoffs",
	[STAT_REUSED] = "reused",
	[STAT_LOCKED_CHECKS] = "locked_page_checks",
	[STAT_REGISTRATIONS] = "registrations",
	[STAT_ALL_LOCKS] = "all_locks_windows",
	[STAT_REG_FALLBACKS] = "registration_fallbacks",
	[STAT_CPU_OFFLINES] = "cpu_offlines",
	[STAT_MAX_WAIT_US] = "max_write_wait_us",
};

/* The IDs of vmalock_names.h, lower-cased at load as the names users see. */
struct vt_name {
	const char *id;
	char name[24];
};

#define VT_SCENARIO(id)	\
	{ #id },
static struct vt_name vt_scn_names[NR_SCNS] = {
#include "vmalock_names.h"
};

#define VT_BROKEN(id)	\
	{ #id },
static struct vt_name vt_broken_names[NR_OPS] = {
	{ "NONE" },
#include "vmalock_names.h"
};

static void vt_names_init(struct vt_name *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		string_lower(names[i].name, names[i].id);
}

const char *vt_scn_name(enum vt_scn scn)
{
	return vt_scn_names[scn].name;
}

const char *vt_broken_name(enum vt_broken b)
{
	return vt_broken_names[b].name;
}

/* The index of @name in @names, or -EINVAL. */
static int vt_find_name(const struct vt_name *names, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (sysfs_streq(name, names[i].name))
			return i;
	return -EINVAL;
}

int vt_find_scn(const char *name)
{
	return vt_find_name(vt_scn_names, NR_SCNS, name);
}

/* The broken variant named @name; if there is none, says which there are. */
int vt_find_broken(const char *name)
{
	int i = vt_find_name(vt_broken_names, NR_OPS, name), len = 0;
	char list[256];

	if (i >= 0)
		return i;
	for (i = 0; i < NR_OPS; i++)
		len += scnprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
				 vt_broken_name(i));
	pr_err("broken=%s unknown; allowed: %s\n", name, list);
	return -EINVAL;
}

/* ---------------------------------------------------------------------- */
/* The parameters' values: checks, debugfs params */

/* At load: lower-case the names, check the module parameters. */
int vt_params_check(void)
{
	int i;

	vt_names_init(vt_scn_names, NR_SCNS);
	vt_names_init(vt_broken_names, NR_OPS);
	for (i = 0; i < ARRAY_SIZE(vt_param_table); i++) {
		const struct vt_param *p = &vt_param_table[i];

		/* A default out of its own range: vmalock_params.h is wrong. */
		WARN_ON(p->def < p->min || p->def > p->max);
		if (*p->val < p->min || *p->val > p->max) {
			pr_err("%s=%d out of range; allowed %d..%d\n", p->name, *p->val,
			       p->min, p->max);
			return -EINVAL;
		}
	}
	return vt_find_broken(vt_param_broken) < 0 ? -EINVAL : 0;
}

void vt_params_print(struct seq_file *m)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vt_param_table); i++)
		seq_printf(m, "%s=%d\n", vt_param_table[i].name, *vt_param_table[i].val);
	seq_printf(m, "seed=%lu\nbroken=%s\n", vt_param_seed, vt_param_broken);
}

/* The names allowed, and their ranges, from the table. */
static void vt_pr_unknown_param(const char *key)
{
	char names[512];
	int i, len = 0;

	for (i = 0; i < ARRAY_SIZE(vt_param_table); i++)
		len += scnprintf(names + len, sizeof(names) - len, "%s=%d..%d ",
				 vt_param_table[i].name, vt_param_table[i].min,
				 vt_param_table[i].max);
	pr_err("unknown parameter '%s'; allowed: %sseed broken\n", key, names);
}

static int vt_set_param(char *key, char *val, void *unused)
{
	int i, v;

	for (i = 0; i < ARRAY_SIZE(vt_param_table); i++) {
		const struct vt_param *p = &vt_param_table[i];

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
		if (kstrtoul(val, 0, &vt_param_seed)) {
			pr_err("seed=%s is not a number\n", val);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "broken")) {
		if (vt_find_broken(val) < 0)
			return -EINVAL;
		strscpy(vt_param_broken, val, sizeof(vt_param_broken));
		return 0;
	}
	vt_pr_unknown_param(key);
	return -EINVAL;
}

/* "key=value key=value ..." into the next run's values; all or nothing. */
int vt_params_parse(char *buf)
{
	struct vt_params saved = vt_param_vals;
	char saved_broken[sizeof(vt_param_broken)];
	ulong saved_seed = vt_param_seed;
	int err;

	strscpy(saved_broken, vt_param_broken);
	err = vt_parse_kv(buf, "params", "", vt_set_param, NULL);
	if (err) {
		vt_param_vals = saved;
		strscpy(vt_param_broken, saved_broken);
		vt_param_seed = saved_seed;
	}
	return err;
}

/* ---------------------------------------------------------------------- */
/* Input written to the debugfs files */

/* A command written in one write() into @buf of @size, NUL-terminated. */
ssize_t vt_copy_cmd(const char __user *ubuf, size_t count, char *buf, size_t size)
{
	if (count >= size) {
		pr_err("input too long (at most %zu bytes)\n", size - 1);
		return -EINVAL;
	}
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (strlen(buf) != count) {	/* what follows a NUL would be ignored */
		pr_err("input contains a NUL byte\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * Each "key=value" of @buf (separated by blanks) to @set, until one fails.
 * @what and @hint frame the complaint about a word that is not key=value.
 */
int vt_parse_kv(char *buf, const char *what, const char *hint,
		int (*set)(char *key, char *val, void *arg), void *arg)
{
	char *p = buf, *tok, *val;
	int err = 0;

	while (!err && (tok = strsep(&p, " \t\n"))) {
		if (!*tok)
			continue;
		val = strchr(tok, '=');
		if (!val) {
			pr_err("%s: '%s' is not key=value%s\n", what, tok, hint);
			return -EINVAL;
		}
		*val++ = '\0';
		err = set(tok, val, arg);
	}
	return err;
}

/* ---------------------------------------------------------------------- */
/* Kthread pools */

/* Start fn(@arg) in a kthread named by @fmt, and keep a reference to it. */
struct task_struct *vt_pool_add(struct vt_pool *pool, int (*fn)(void *), void *arg,
				const char *fmt, ...)
{
	struct task_struct *t;
	char name[32];
	va_list args;

	if (pool->nr == ARRAY_SIZE(pool->task))
		return ERR_PTR(-E2BIG);
	va_start(args, fmt);
	vscnprintf(name, sizeof(name), fmt, args);
	va_end(args);
	t = kthread_create(fn, arg, "%s", name);
	if (IS_ERR(t))
		return t;
	get_task_struct(t);
	pool->task[pool->nr++] = t;
	wake_up_process(t);
	return t;
}

/* Last started first: helpers go before those they act on. */
void vt_pool_stop(struct vt_pool *pool)
{
	while (pool->nr) {
		pool->nr--;
		kthread_stop(pool->task[pool->nr]);
		put_task_struct(pool->task[pool->nr]);
	}
}

/* ---------------------------------------------------------------------- */
/* Stop and sleep */

bool vt_should_stop(void)
{
	return kthread_should_stop() || READ_ONCE(vt_cxt.stop) || READ_ONCE(vt_cxt.ending);
}

/*
 * Sleep @ms, or less if the run ends. TASK_IDLE, in slices: a long sleep
 * asked for by the parameters is neither a hung task nor a late stop.
 */
void vt_sleep_ms(unsigned int ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(ms);

	while (!vt_should_stop() && time_before(jiffies, end))
		schedule_timeout_idle(min(end - jiffies, (unsigned long)HZ / 10));
}

/* ---------------------------------------------------------------------- */
/* Violations and statistics */

void vt_violation(struct vt_ctx *ctx, enum vt_inv inv, const char *fmt, ...)
{
	unsigned long flags;
	va_list args;
	u64 n;

	n = atomic64_inc_return(&ctx->inv_count[inv]);
	if (n > 1 && vt_cxt.p.verbose < 1)
		return;

	spin_lock_irqsave(&ctx->vlock, flags);
	if (!ctx->first[0]) {
		int len = scnprintf(ctx->first, sizeof(ctx->first), "[%s] ", vt_inv_names[inv]);

		va_start(args, fmt);
		vscnprintf(ctx->first + len, sizeof(ctx->first) - len, fmt, args);
		va_end(args);
		ctx->detected_ms = div_u64(ktime_get_ns() - ctx->start_ns, NSEC_PER_MSEC);
		pr_err("violation in %s: %s\n", vt_scn_name(ctx->id), ctx->first);
	} else if (vt_cxt.p.verbose >= 1) {
		char buf[160];

		va_start(args, fmt);
		vscnprintf(buf, sizeof(buf), fmt, args);
		va_end(args);
		pr_err("violation in %s: [%s] %s\n", vt_scn_name(ctx->id), vt_inv_names[inv], buf);
	}
	spin_unlock_irqrestore(&ctx->vlock, flags);
}

/*
 * A role that cannot run in this kernel says so, by name, in the scenario's
 * diagnostics: a check that did not run must not pass unseen.
 */
void vt_role_skipped(struct vt_worker *w, const char *why)
{
	struct vt_ctx *ctx = w->ctx;
	unsigned long flags;
	size_t len;

	if (w->id)
		return;		/* one line for the role */
	pr_warn("%s: role %s skipped: %s\n", vt_scn_name(ctx->id), w->role->name, why);
	spin_lock_irqsave(&ctx->vlock, flags);
	len = strlen(ctx->notes);
	scnprintf(ctx->notes + len, sizeof(ctx->notes) - len, "%srole %s skipped: %s",
		  len ? "; " : "", w->role->name, why);
	spin_unlock_irqrestore(&ctx->vlock, flags);
}

/* A statistic that is a maximum: raise it to @val if that is more. */
void vt_stat_max(struct vt_ctx *ctx, enum vt_stat s, s64 val)
{
	s64 old = atomic64_read(&ctx->stats[s]);

	do {
		if (val <= old)
			return;
	} while (!atomic64_try_cmpxchg(&ctx->stats[s], &old, val));
}

/* The vma_lock_* events of /proc/vmstat, summed over CPUs, into @out[4]. */
bool vt_vma_lock_events(s64 *out)
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

/* ---------------------------------------------------------------------- */
/* Test mms */

struct mm_struct *vt_mm_create(void)
{
	struct mm_struct *mm = mm_alloc();

	if (!mm)
		return NULL;
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	return mm;
}

/* Map @nr test VMAs into the current (adopted) mm. */
int vt_map_vmas(int nr)
{
	int i;

	for (i = 0; i < nr; i++) {
		unsigned long ret = vm_mmap(NULL, vt_vma_addr(i), VT_VMA_PAGES * PAGE_SIZE,
					    PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);

		if (IS_ERR_VALUE(ret))
			return (int)ret;
	}
	return 0;
}

/* The index of a test VMA of this run, or -1. */
int vt_vma_index(struct vm_area_struct *vma)
{
	unsigned long off = vma->vm_start - VT_BASE;

	if (vma->vm_start < VT_BASE || off % VT_VMA_STRIDE ||
	    off / VT_VMA_STRIDE >= vt_cxt.p.vmas)
		return -1;
	return off / VT_VMA_STRIDE;
}

/* ---------------------------------------------------------------------- */
/* Faults as the architecture's fault handler takes them */

/*
 * The per-VMA half of a write fault at @addr on @vma, which the caller has
 * read-locked: handle_mm_fault() under the VMA lock, counted as the fault
 * handler counts it for /proc/vmstat. If vt_fault_holds_vma() of what it
 * returns, the VMA is still read-locked and the caller unlocks it; on
 * VM_FAULT_RETRY the fault is the caller's to retry under mmap_lock.
 */
vm_fault_t vt_fault_vma_locked(struct vm_area_struct *vma, unsigned long addr)
{
	vm_fault_t fault = handle_mm_fault(vma, addr, FAULT_FLAG_DEFAULT | FAULT_FLAG_WRITE |
					   FAULT_FLAG_VMA_LOCK, NULL);

	count_vm_vma_lock_event(fault & VM_FAULT_RETRY ? VMA_LOCK_RETRY : VMA_LOCK_SUCCESS);
	return fault;
}

/* A write fault's fallback, as the fault handler does: under mmap_lock. */
void vt_fault_mmap_locked(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma && (vma->vm_flags & VM_WRITE))
		handle_mm_fault(vma, addr, FAULT_FLAG_WRITE, NULL);
	mmap_read_unlock(mm);
}
