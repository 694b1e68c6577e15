/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmalock_test: the core every part of the module stands on, and what the
 * parts above it export. From the bottom up, each using only those below:
 *
 *   vmalock_core.c       parameters and the run's copy of them, names,
 *                        stop and sleep, test mms, faults, violations and
 *                        statistics, kthread pools, key=value input
 *   vmalock_ops.c        the lock operations, real and deliberately broken
 *                        (the part that follows mm/mmap_lock.c)
 *   vmalock_sysmon.c     the system-wide monitor
 *   vmalock_scenarios.c  the scenarios: worker roles and their checks
 *   vmalock_bench.c      the bench (debugfs file "bench")
 *   vmalock_test.c       the top: controller, worker body, KTAP, debugfs,
 *                        module init and exit; nothing calls up into it
 *
 * Invariant numbers and bug ids (R1..R12) are those of
 * Documentation/vmalock-test/protocol.rst.
 */
#ifndef _VMALOCK_CORE_H
#define _VMALOCK_CORE_H

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/prandom.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "vmalock_compat.h"
#include "vmalock_monitor.h"

/* ---------------------------------------------------------------------- */
/* Scenarios, broken variants and invariants: enums from the one list */

#define VT_SCENARIO(id)	SCN_##id,
enum vt_scn {
#include "vmalock_names.h"
	NR_SCNS
};

/* Index 0 of the lock operations is the real ones, "none". */
#define VT_BROKEN(id)	BROKEN_##id,
enum vt_broken {
	BROKEN_NONE,
#include "vmalock_names.h"
	NR_OPS
};

#define VT_INV(id, ...)	INV_##id,
enum vt_inv {
#include "vmalock_names.h"
	NR_INVS
};

/* Names, the IDs of vmalock_names.h in lower case. */
const char *vt_scn_name(enum vt_scn scn);
const char *vt_broken_name(enum vt_broken b);
int vt_find_scn(const char *name);
int vt_find_broken(const char *name);
extern const char * const vt_inv_names[NR_INVS];

/* ---------------------------------------------------------------------- */
/* Parameters: vmalock_params.h */

struct vt_params {
#define VT_PARAM(name, ...)	\
	int name;
#include "vmalock_params.h"
};

/* What the next run takes: the module parameters, and debugfs params. */
extern struct vt_params vt_param_vals;
extern ulong vt_param_seed;
extern char vt_param_broken[32];

struct seq_file;
int vt_params_check(void);
int vt_params_parse(char *buf);
void vt_params_print(struct seq_file *m);

/*
 * The run in progress, as locktorture's cxt: the values it copied at its
 * start, and how far it is. The controller (vmalock_test.c) owns it.
 */
struct vt_cxt {
	struct vt_params p;
	u64 seed;
	enum vt_broken broken;
	bool sysmon;		/* the run started the system-wide monitor */
	bool stop;		/* stop the run */
	bool ending;		/* the scenario's time is up: workers leave their loops */
};

extern struct vt_cxt vt_cxt;

bool vt_should_stop(void);
void vt_sleep_ms(unsigned int ms);

/* ---------------------------------------------------------------------- */
/* Debugfs input and kthreads */

ssize_t vt_copy_cmd(const char __user *ubuf, size_t count, char *buf, size_t size);
int vt_parse_kv(char *buf, const char *what, const char *hint,
		int (*set)(char *key, char *val, void *arg), void *arg);

/* readers + writers or detachers + a straggler + onoff */
#define VT_MAX_THREADS	(64 + 16 + 2)

/* A set of kthreads, each with a reference, stopped last started first. */
struct vt_pool {
	int nr;
	struct task_struct *task[VT_MAX_THREADS];
};

__printf(4, 5)
struct task_struct *vt_pool_add(struct vt_pool *pool, int (*fn)(void *), void *arg,
				const char *fmt, ...);
void vt_pool_stop(struct vt_pool *pool);

/* ---------------------------------------------------------------------- */
/* Invariants and statistics */

enum vt_stat {
	STAT_READS,		/* read-lock attempts */
	STAT_READ_OK,		/* per-VMA read locks taken */
	STAT_FALLBACKS,		/* attempts that fell back to mmap_lock */
	STAT_WRITES,		/* VMA write locks taken */
	STAT_DETACHES,		/* in-place detach + reattach cycles */
	STAT_REPLACES,		/* munmap or MAP_FIXED replacement of a VMA */
	STAT_FREES,		/* vm_area_free() calls the free monitor saw */
	STAT_ROUNDS,		/* bulk_release / speculate write rounds */
	STAT_STRAGGLERS,	/* transient references held across a write lock */
	STAT_DETACH_READERS,	/* detaches begun while a transient reader held it */
	STAT_LIMIT_HITS,	/* readers refused at VM_REFCNT_LIMIT */
	STAT_KILLED,		/* killed vma_start_write_killable() calls */
	STAT_FOREIGN,		/* reuse: VMAs of another mm met by a lookup */
	STAT_HANDOFFS,		/* reuse: lookups churner 0 freed and remapped */
	STAT_REUSED,		/* reuse: ... whose VMA came back in another mm */
	STAT_LOCKED_CHECKS,	/* fault_path: pages read back under the VMA lock */
	STAT_REGISTRATIONS,	/* fault_path: MMU notifiers registered */
	STAT_ALL_LOCKS,		/* ... mm_take_all_locks() returns on the test mm */
	STAT_REG_FALLBACKS,	/* ... faults that fell back across a registration */
	STAT_CPU_OFFLINES,	/* CPUs taken offline and back (onoff_ms) */
	STAT_MAX_WAIT_US,	/* longest vma_start_write(), a maximum */
	NR_VT_STATS
};

extern const char * const vt_stat_names[NR_VT_STATS];

/* ---------------------------------------------------------------------- */
/* The system-wide monitor (vmalock_sysmon.c) */

/* What it counts, per scenario, over every task of the system. */
enum vt_sys_count {
	VT_SYS_READS,		/* VMA read locks granted */
	VT_SYS_REFUSED,		/* read locks refused */
	VT_SYS_WRITES,		/* vma_start_write() returns */
	VT_SYS_WAITED,		/* ... that waited for readers */
	VT_SYS_DETACHES,	/* vma_mark_detached() returns */
	VT_SYS_MMAP_WAITS,	/* mmap_lock waits by VMA read-lock holders */
	VT_SYS_UNMATCHED,	/* unlocks of read locks it did not see taken */
	VT_SYS_OVERFLOW,	/* read locks not tracked: record pool full */
	VT_SYS_MEMORY_ERRORS,	/* KASAN or KFENCE reports, on a VMA or not */
	VT_SYS_DELAYS,		/* pauses made (struct vt_sys_delay) */
	VT_SYS_DELAY_US,	/* ... their total length */
	VT_SYS_SITS,		/* read locks held longer (sit_us) */
	VT_SYS_SIT_US,		/* ... the time added */
	VT_SYS_ANON_PREPARES,	/* __anon_vma_prepare() calls (its kprobe) */
	NR_VT_SYS_COUNTS
};

/* The kinds of call site it counts. */
enum vt_site_kind {
	VT_SITE_READ,		/* read lock granted (lock_vma_under_rcu(), ...) */
	VT_SITE_WRITE,		/* vma_start_write*() */
	VT_SITE_DETACH,		/* vma_mark_detached() */
	VT_SITE_KILLED,		/* vma_start_write_killable() that gave up */
	NR_VT_SITE_KINDS
};

extern const char * const vt_sys_count_names[NR_VT_SYS_COUNTS];
extern const char * const vt_site_kind_names[NR_VT_SITE_KINDS];

/*
 * Pauses the monitor's probes make at the lock's steps, in the harness's and
 * the stressor's tasks only, to bring rare interleavings about: one event in
 * @rate (0: none), each a busy wait of 1..@max_us, drawn from @seed.
 */
struct vt_sys_delay {
	unsigned int rate;
	unsigned int max_us;
	unsigned int sit_us;	/* the sitters' read locks: held sit_us/2..sit_us us */
	u64 seed;
};

int vt_sysmon_start(const struct vt_sys_delay *delay);
void vt_sysmon_stop(void);
bool vt_sysmon_running(void);
u64 vt_sysmon_total(enum vt_sys_count c);
void vt_sysmon_collect(u64 *inv_count, s64 *counts, char *first, size_t size, u64 *first_ns);
size_t vt_sysmon_report(char *buf, size_t size, unsigned int max);

/* ---------------------------------------------------------------------- */
/* Lock operations (vmalock_ops.c) */

/* What a broken read path leaves out of vma_start_read(). */
enum {
	VT_NO_SEQ_CHECK = BIT(0),	/* R3: vm_lock_seq against mm_lock_seq */
	VT_NO_LIMIT = BIT(1),		/* R4: the VM_REFCNT_LIMIT ceiling */
	VT_NO_MM_CHECK = BIT(2),	/* R8: the vm_mm check of a reused VMA */
};

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
	/* The per-VMA half of a fault, on a VMA read_vma() returned. */
	vm_fault_t (*fault_vma)(struct vm_area_struct *vma, unsigned long addr);
	/* Undo what a broken release left behind, so the run can go on. */
	void (*repair_release)(struct mm_struct *mm);
	/* Optional: what the variant needs, around each scenario's run. */
	int (*setup)(void);
	void (*teardown)(void);
	/* VT_NO_*: what the variant's read path leaves out of vma_start_read() */
	unsigned int omit;
	/* Scenarios that must catch this variant (bitmask of enum vt_scn). */
	unsigned long targets;
};

const struct vt_lock_ops *vt_broken_ops(enum vt_broken b);
unsigned long vt_broken_targets(enum vt_broken b);
struct seq_file;
void vt_show_catches(struct seq_file *m, enum vt_broken b);
void vt_effective_ops(enum vt_broken b, struct vt_lock_ops *ops);

bool vma_write_locked_now(struct vm_area_struct *vma, struct mm_struct *mm);
struct vm_area_struct *vt_lookup_rcu(struct mm_struct *mm, unsigned long addr);
bool vt_ref_get(struct vm_area_struct *vma, int limit);
void vt_ref_put(struct vm_area_struct *vma);
struct vm_area_struct *vt_start_read_mirror(struct mm_struct *mm, struct vm_area_struct *vma,
					    unsigned long addr, unsigned int omit);
struct vm_area_struct *vt_read_mirror(struct mm_struct *mm, unsigned long addr,
				      unsigned int omit);

/* ---------------------------------------------------------------------- */
/* A run of one scenario */

#define VT_VMA_PAGES	4
#define VT_VMA_STRIDE	(2 * VT_VMA_PAGES * PAGE_SIZE)	/* gaps stop merging */
#define VT_BASE		0x10000000UL
#define VT_OTHER_MMS	2	/* reuse: mms beside the test mm */

/* What the harness itself knows about each test VMA (its witness). */
struct vt_slot {
	atomic_t readers_in;	/* harness readers inside */
	atomic_t writer_in;	/* a harness writer holds it write-locked */
	atomic_t released_seen;	/* bulk_release: read-locked since release */
	atomic_t generation;	/* fault_path: odd while a mapper changes it */
};

struct vt_ctx;

struct vt_worker {
	struct vt_ctx *ctx;
	const struct vt_role *role;
	struct task_struct *task;
	int id;			/* index among its role's workers */
	int slot;		/* index in ctx->workers and ctx->held */
	unsigned long iter;	/* steps taken, counting the one running */
	struct rnd_state rnd;
	struct mm_struct *mm;	/* adopted with kthread_use_mm(), or NULL */
	struct vm_area_struct *vma;	/* the role's fixed VMA, if any */
	bool done;		/* has left its loop */
	u64 write_since;	/* ns: in ops->write_vma() since then, or 0 */
	int write_idx;		/* ... on this VMA */
	atomic_t write_said;	/* that wait was reported as too long */
};

/* Per-scenario state: each scenario's own named place in the context. */
struct vt_bulk_state {
	unsigned long phase;	/* round << 2 | VT_PHASE_* */
	bool downgrade_only;	/* release by mmap_write_downgrade() only */
};

struct vt_spec_state {
	/* written under mmap_lock by the writer, read locklessly */
	unsigned long round, check;
	atomic_t section;	/* odd while the writer holds mmap_lock */
};

struct vt_killable_state {
	struct task_struct *task;	/* the killable writer, for the killer */
};

struct vt_limit_state {
	bool crowd_in;		/* the crowd holds its references */
};

struct vt_mirror_state {
	struct mm_struct *other_mm;	/* holds a VMA at VMA 0's address */
};

/* fault_path's MMU notifier registrar (vmalock_scenarios.c) */
struct vt_fault_state {
	/* Odd from mm_take_all_locks()'s return to mmap_write_unlock(). */
	atomic_t window;
	struct kretprobe all_locks;	/* opens the window */
	struct kprobe all_locks_pin;	/* keeps its kprobe unoptimized */
	bool mn_skipped;		/* the registrar could not run */
#ifdef CONFIG_MMU_NOTIFIER
	struct mmu_notifier mn;
#endif
};

struct vt_reuse_state {
	struct mm_struct *other_mm[VT_OTHER_MMS];
	atomic_t state;		/* VT_REUSE_*: the slow reader's handoff */
	struct vm_area_struct *vma;
	int idx;
};

struct vt_ctx {
	enum vt_scn id;
	const struct vt_scenario *scn;
	const struct vt_lock_ops *ops;	/* &eff_ops */
	struct vt_lock_ops eff_ops;
	struct mm_struct *mm;
	struct vt_slot *slots;
	atomic64_t stats[NR_VT_STATS];
	atomic64_t inv_count[NR_INVS];
	struct vt_worker workers[VT_MAX_THREADS];
	struct vt_pool pool;	/* their kthreads; pool.nr of them */
	u64 start_ns;
	u64 seed;
	spinlock_t vlock;	/* protects first, detected_ms and notes */
	char first[320];	/* first violation */
	u64 detected_ms;
	char notes[96];		/* roles that sat out, and why; under vlock */
	atomic_t hot_vma;	/* detach_free: VMA the detacher works on */
	atomic_t straggler_on;	/* detach_free: VMA the straggler waits on */
	/* VMA each worker holds read-locked, for the free monitor and detachers. */
	struct vm_area_struct *held[VT_MAX_THREADS];
	struct vm_free_monitor mon;
	union {
		struct vt_bulk_state bulk;
		struct vt_spec_state spec;
		struct vt_killable_state kill;
		struct vt_limit_state limit;
		struct vt_reuse_state reuse;
		struct vt_mirror_state mirror;
		struct vt_fault_state fault;
	};
};

/* A kind of worker kthread: @count of them (one if NULL), named vmalock_@name/N. */
struct vt_role {
	const char *name;
	void (*step)(struct vt_worker *w);	/* one iteration of its loop */
	/* Optional: before the loop; non-zero keeps the worker out of the run. */
	int (*start)(struct vt_worker *w);
	void (*stop)(struct vt_worker *w);	/* optional: after the loop */
	int *count;
	bool use_mm;		/* adopts ctx->mm (start may pick another) */
};

struct vt_scenario {
	const char *desc;
	struct vt_role roles[4];	/* spawned in order, stopped in reverse */
	/* Optional hooks, as rcu_torture_ops has them. */
	int (*setup)(struct vt_ctx *ctx);	/* after the test mm is mapped */
	void (*teardown)(struct vt_ctx *ctx);	/* after the workers stopped */
	/* What the run has not reached yet, or NULL; see vt_wait_run(). */
	const char *(*coverage)(struct vt_ctx *ctx);
	/* A whole scenario in one call, instead of roles (no workers). */
	void (*run)(struct vt_ctx *ctx);
	unsigned long needs;	/* BIT(VT_FEAT_*): skipped by name without them */
	bool needs_free_probe;
	bool has_vmstat;	/* report the vma_lock_* events of /proc/vmstat */
	bool only_named;	/* not part of "all" */
};

extern const struct vt_scenario vt_scenarios[NR_SCNS];
/* Runs beside every scenario's roles when onoff_ms is set. */
extern const struct vt_role vt_onoff_role;

/* ---------------------------------------------------------------------- */
/* Core services for the scenarios and the bench */

__printf(3, 4) void vt_violation(struct vt_ctx *ctx, enum vt_inv inv, const char *fmt, ...);
void vt_role_skipped(struct vt_worker *w, const char *why);

static inline void vt_count(struct vt_ctx *ctx, enum vt_stat s)
{
	atomic64_inc(&ctx->stats[s]);
}

static inline s64 vt_stat(struct vt_ctx *ctx, enum vt_stat s)
{
	return atomic64_read(&ctx->stats[s]);
}

void vt_stat_max(struct vt_ctx *ctx, enum vt_stat s, s64 val);
bool vt_should_stop(void);
void vt_sleep_ms(unsigned int ms);

static inline unsigned long vt_vma_addr(int i)
{
	return VT_BASE + (unsigned long)i * VT_VMA_STRIDE;
}

int vt_vma_index(struct vm_area_struct *vma);
bool vt_vma_lock_events(s64 *out);	/* success, abort, retry, miss */
struct mm_struct *vt_mm_create(void);
int vt_map_vmas(int nr);

/* A write fault as the architecture's handler takes it (vmalock_core.c). */
vm_fault_t vt_fault_vma_locked(struct vm_area_struct *vma, unsigned long addr);
void vt_fault_mmap_locked(struct mm_struct *mm, unsigned long addr);

/* The fault returned with the VMA still read-locked: the caller unlocks. */
static inline bool vt_fault_holds_vma(vm_fault_t fault)
{
	return !(fault & (VM_FAULT_RETRY | VM_FAULT_COMPLETED));
}

/* Bench mode (vmalock_bench.c): the debugfs file "bench". */
struct dentry;
int vt_bench_init(struct dentry *dir);
void vt_bench_exit(void);

#endif /* _VMALOCK_CORE_H */
