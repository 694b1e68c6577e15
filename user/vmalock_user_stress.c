// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_user_stress: page faults from user space, through the
 * architecture's real lock_vma_under_rcu() path, while other threads make
 * every class of VMA change the kernel has, on the same ranges. The shape of
 * the Linux 6.4 per-VMA lock regression: fork() did not write-lock the
 * parent's VMAs, so a fault racing with fork could make a parent's later
 * write show up in the child.
 *
 * Thread kinds (table kinds[] below; -k picks a subset):
 *   writer     each owns every n-th page of a private anonymous region,
 *              fills it with (owner, generation) words and reads it back
 *   fork       fork()s; the child checks every page is whole, owned right,
 *              and does not change after the fork
 *   mprotect   mprotect()s sub-ranges of the region: VMAs split and merge
 *   mremap     grows, shrinks, moves (MREMAP_FIXED) and MREMAP_DONTUNMAPs a
 *              scratch range; contents must move with it, the range left by
 *              DONTUNMAP must stay mapped and read as zero
 *   munmap     unmaps the head, tail or middle of a range (split), checks
 *              the rest kept its contents and the range mapped again is zero
 *   newmap     mmaps a fresh range that two "newtouch" threads write at
 *              once (concurrent first faults); no increment may be lost
 *   growsdown  a MAP_GROWSDOWN stack grown a page at a time downwards while
 *              touchers fault in it; every page must hold what was written
 *   madvise    DONTNEED (pages read zero), FREE (old or zero), and the other
 *              advice the kernel takes (contents unchanged), mbind()
 *   mlock      mlock()s sub-ranges; mincore() must show them all present
 *   procmaps   reads /proc/self/maps and smaps and asks PROCMAP_QUERY while
 *   mapschurn  changes the neighbours of fixed one-page memfd mappings; a
 *              fixed mapping must never be missing (a gap), changed, or a
 *              line torn, and the entries must be in order (as the kernel's
 *              selftests/proc/proc-maps-race.c checks)
 *   collapse   MADV_COLLAPSE (and khugepaged, MADV_HUGEPAGE) of a 2 MB range
 *              a second thread MADV_DONTNEEDs parts of: every page holds
 *              what was written, or zero after a DONTNEED of it
 *   uffd_ops   userfaultfd: missing faults answered by COPY (the copy
 *              arrives) and ZEROPAGE (reads zero), WRITEPROTECT (the WP
 *              fault is reported), MOVE (the pages arrive, the source
 *              reads zero), register/unregister each round, and on Linux
 *              7.3 SET_MODE toggles of RWP_ASYNC while RWP faults wait
 *   numa       mbind(MPOL_BIND, MOVE|STRICT) between nodes 0 and 1 (then
 *              move_pages says every page is on the node), the home node,
 *              move_pages and migrate_pages; contents kept; and a child in
 *              a cpuset whose mems change (mpol_rebind_mm()) while it sits
 *              in its own VMAs (as root: mounts cgroup v2 on /sys/fs/cgroup
 *              unless it is there, and enables the cpuset controller)
 *   ksm        identical pages MADV_MERGEABLE while ksmd runs; a write to
 *              one after the merge stays its own; MADV_UNMERGEABLE; one
 *              round in 4, every VMA made mergeable and back (PR_SET_MEMORY_MERGE)
 *   swap       MADV_PAGEOUT to swap, swapped in by faults; contents kept
 *   hugetlb    a MAP_HUGETLB page faulted at once, unmapped, mapped again
 *   mseal      mseal() a whole VMA or the middle of a range: mprotect,
 *              munmap and mremap of it give EPERM, its contents stay
 *   guard      MADV_GUARD_INSTALL/REMOVE: a read of a guard page is a
 *              SIGSEGV, the others keep their contents, removed reads zero
 *   process_madvise  COLD, PAGEOUT, COLLAPSE on the own pidfd; contents kept
 *   pagemap    clear_refs (4) clears the soft-dirty bit, written pages get
 *              it again; PAGEMAP_SCAN finds just the written pages present
 *   mmu_notifier  a device mirror of the process (CONFIG_TEST_HMM): its
 *              first registers an MMU notifier (mm_take_all_locks()), then
 *              it reads pages as the CPU wrote them
 *   mlock_whole, mprotect_whole, madvise_whole  as mlock, mprotect and
 *              madvise, on whole VMAs (PROT_NONE neighbours: no split, no
 *              merge), so that the caller's own vma_start_write() counts
 *   touch      fault (atomic add of zero: a write that keeps the contents)
 *              at random pages of every range above; SIGSEGV is expected
 *              when a range just moved, and counted
 *
 * Usage: vmalock_user_stress [-t seconds] [-w writers] [-p pages] [-s] [-S]
 *                            [-k kind,...] [-X class,...] [-K more]
 *        vmalock_user_stress --selftest-maps|--selftest-smaps FILE [START-END...]
 * Prints "# skip: <feature>: <reason>" for each feature the kernel lacks (a
 * class skipped whole names a feature ending in the class's name),
 * then one line: the count of each class, failed=CLASS,... and
 * skipped=CLASS,... (classes skipped whole); exits 0 if no check failed, 1 if
 * one did (stderr names the class), 2 on bad usage or a failed system call.
 * A class that should have run and never did counts as failed.
 *
 * Each call that write-locks VMAs is made with a sitter in them (SAT()): a
 * thread of the caller's, named vmalock_sit, that read-locks the range's VMAs
 * by PROCMAP_QUERY until the call returns, so that the write lock meets a
 * reader (the module's sit_us makes each of its read locks last). -S: none.
 *
 * -K N prints the verdicts as KTAP, as kselftests do: the header and plan
 * first, then one result a class (named as the class), user_stress (no
 * check failed) and per_vma_faults (/proc/vmstat's vma_lock_success grew);
 * the plan counts N more results that the caller appends.
 *
 * Each check can be shown to fail: -s maps the region shared, so a fork
 * child does see the parent's writes (the 6.4 bug): fork must fail. -X CLASS
 * makes that class's check expect a wrong value (for maps, smaps and
 * procmap_query: a fixed mapping one page off): that class must fail;
 * -X all breaks every class that has a check to break (all but mprotect and
 * touch) and names them in a line "# broken checks: CLASS,...".
 * --selftest-maps runs the maps checker on FILE with the given fixed ranges
 * (hex, as in maps) and exits 1 if it finds a gap, torn line or disorder.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef unsigned long long u64;
typedef uint32_t u32;

#define WORDS_PER_PAGE	(page_size / sizeof(u64))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_THREADS	96

/* Check classes: one count and one failure count each, named in the output. */
enum class {
	C_FAULT, C_FORK, C_MPROTECT, C_MREMAP, C_DONTUNMAP, C_MUNMAP, C_NEWMAP,
	C_GROWSDOWN, C_MADVISE, C_MLOCK, C_MAPS, C_SMAPS, C_QUERY, C_COLLAPSE,
	C_UFFD, C_NUMA, C_KSM, C_SWAP, C_HUGETLB, C_MSEAL, C_GUARD, C_PMADV,
	C_CLEAR_REFS, C_PAGEMAP_SCAN, C_MLOCK_WHOLE, C_MPROTECT_WHOLE,
	C_MADVISE_WHOLE, C_NOTIFIER, C_TOUCH, NR_CLASSES
};

static const char *const class_name[NR_CLASSES] = {
	"fault", "fork", "mprotect", "mremap", "dontunmap", "munmap", "newmap",
	"growsdown", "madvise", "mlock", "maps", "smaps", "procmap_query", "collapse",
	"uffd_ops", "numa", "ksm", "swap", "hugetlb", "mseal", "guard", "process_madvise",
	"clear_refs", "pagemap_scan", "mlock_whole", "mprotect_whole", "madvise_whole",
	"mmu_notifier",
	"touch",
};

static atomic_long ops[NR_CLASSES], fails[NR_CLASSES], skipped[NR_CLASSES];
static atomic_long touch_segv, nr_skips, maps_overlaps;

static long page_size;
static int nr_writers = 4;
static int nr_pages = 256;
static int seconds = 5;
static bool shared;
static unsigned long long sabotage;	/* -X: classes whose check expects a wrong value */
static int ktap_more = -1;	/* -K N: results as KTAP, N more follow from the caller */
static char *region;
static atomic_bool stop, hard_stop;

/*
 * Go on until the time is up, and after that until the class has run once
 * (a slow machine must not make a class look as if it never ran), but not
 * after the grace time: then a class that has not run counts as failed.
 */
static bool go_on(int cls)
{
	return !atomic_load(&hard_stop) && (!atomic_load(&stop) || !atomic_load(&ops[cls]));
}

/* Ranges the touchers fault in; owners publish them as they change. */
enum {
	A_MAIN, A_REMAP, A_UNMAP, A_NEWMAP, A_STACK, A_MADV, A_MLOCK, A_MAPS, A_COLLAPSE,
	A_UFFD, A_UFFD_RWP, A_NUMA, A_KSM, A_SWAP, A_HUGETLB, A_MSEAL, A_GUARD, A_PMADV,
	A_PAGEMAP, A_MLOCK_WHOLE, A_MPROTECT_WHOLE, A_MADVISE_WHOLE, A_NOTIFIER, NR_AREAS
};
static struct area {
	_Atomic(uintptr_t) base;
	atomic_size_t len;
} areas[NR_AREAS];

static void publish(int a, void *base, size_t len)
{
	atomic_store(&areas[a].len, 0);
	atomic_store(&areas[a].base, (uintptr_t)base);
	atomic_store(&areas[a].len, len);
}

/* Relaxed atomics: the compiler must neither drop nor merge these accesses. */
static void put(u64 *p, u64 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static u64 get(const u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static u64 pattern(int owner, u64 gen)
{
	return (u64)owner << 48 | (gen & 0xffffffffffffULL);
}

static int owner_of(u64 word)
{
	return (int)(word >> 48);
}

/* The value a check compares with: wrong on purpose for the -X class. */
static u64 want(int cls, u64 v)
{
	return sabotage & 1ULL << cls ? v ^ 1 : v;
}

static void fail(int cls, const char *fmt, ...)
{
	va_list ap;

	/* As KTAP, diagnostic lines among the results (kselftest's "# "). */
	FILE *f = ktap_more >= 0 ? stdout : stderr;

	if (atomic_fetch_add(&fails[cls], 1) < 5) {
		flockfile(f);
		fprintf(f, "%svmalock_user_stress: corruption: %s: ",
			ktap_more >= 0 ? "# " : "", class_name[cls]);
		va_start(ap, fmt);
		vfprintf(f, fmt, ap);
		va_end(ap);
		fputc('\n', f);
		fflush(f);
		funlockfile(f);
	}
}

/* Features said skipped, in order, with their reasons (for the KTAP lines). */
static char said[64][32], said_why[64][128];
static int nr_said;

/* A feature the kernel lacks: said once by name and counted, never silent. */
static void skip(int cls, const char *feature, const char *reason)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nr_said; i++)
		if (!strcmp(said[i], feature))
			break;
	if (i == nr_said && nr_said < 64) {
		snprintf(said_why[nr_said], sizeof(said_why[0]), "%s", reason);
		snprintf(said[nr_said++], sizeof(said[0]), "%s", feature);
		printf("# skip: %s: %s\n", feature, reason);
		fflush(stdout);
		atomic_fetch_add(&nr_skips, 1);
	}
	/* Said once, but every class that depends on it is skipped. */
	if (cls >= 0)
		atomic_store(&skipped[cls], 1);
	pthread_mutex_unlock(&lock);
}

static void die(const char *what)
{
	fprintf(stderr, "vmalock_user_stress: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ------------------------------------------------------------------ */
/* Sitters: a reader in the VMA that a class is about to change          */
/*
 * A write lock meets a reader only if one holds that VMA at that moment,
 * and faults are too short and too rare for that to happen by chance. So a
 * class thread sets a sitter on the range of each call that write-locks
 * VMAs (SAT() below): a thread of its own that read-locks the range's VMAs,
 * a page further each time, until the call returns. It asks PROCMAP_QUERY,
 * which takes the VMA read lock and changes nothing. The module keeps each
 * read lock of a task named vmalock_sit* longer (its parameter sit_us),
 * so that the writer finds it there; -S turns the sitters off.
 */

/* The uapi struct as of Linux 6.11 (linux/fs.h); Debian 12's headers lack it. */
struct vt_procmap_query {
	u64 size, query_flags, query_addr, vma_start, vma_end, vma_flags;
	u64 vma_page_size, vma_offset, inode;
	u32 dev_major, dev_minor, vma_name_size, build_id_size;
	u64 vma_name_addr, build_id_addr;
};

#define VT_PROCMAP_QUERY	_IOWR('f', 17, struct vt_procmap_query)
#define VT_COVERING_OR_NEXT	0x10

/* PROCMAP_QUERY of the VMA at or after @addr: it read-locks it, changes nothing. */
static int query_vma(int fd, const void *addr)
{
	struct vt_procmap_query q = { .size = sizeof(q), .query_flags = VT_COVERING_OR_NEXT,
				      .query_addr = (uintptr_t)addr };

	return ioctl(fd, VT_PROCMAP_QUERY, &q);
}

#define SIT_STACK	(64 << 10)

struct sitter {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	_Atomic(char *) at;	/* the range sat on; NULL: none, asleep */
	atomic_size_t len;
	unsigned long gen;	/* sit_on() calls, under lock */
	atomic_ulong entered;	/* the gen of the range of its latest read lock */
	_Atomic(u64 *) scribble;	/* a word it also writes, faulting: sit_scribble() */
	int cls;			/* ... whose check a lost write fails */
	u64 scribbled;
};

static bool no_sitters;		/* -S */
static int sit_fd = -1;		/* /proc/self/maps, if PROCMAP_QUERY works */
static atomic_long sits;
static __thread struct sitter *my_sitter;

/*
 * A sitter given a word writes it each round, after checking that it still
 * holds the last write: a fault in the range while the call replaces its
 * page tables (a collapse, say) must wait for the call, and a write it let
 * in too early is lost when the call's copy is mapped over it.
 */
static void sit_write(struct sitter *st)
{
	u64 *w = atomic_load(&st->scribble);
	u64 got;

	if (!w)
		return;
	got = get(w);
	if (st->scribbled && got != st->scribbled)
		fail(st->cls, "a write during a call was lost: %#llx, want %#llx",
		     got, st->scribbled);
	put(w, ++st->scribbled);
}

static void *sitter(void *arg)
{
	struct sitter *st = arg;
	unsigned long gen;
	size_t off = 0, len;
	char *at;

	pthread_setname_np(pthread_self(), "vmalock_sit");
	for (;;) {
		pthread_mutex_lock(&st->lock);
		while (!(at = atomic_load(&st->at)))
			pthread_cond_wait(&st->wake, &st->lock);
		len = atomic_load(&st->len);
		gen = st->gen;
		pthread_mutex_unlock(&st->lock);
		off = (off + page_size) % len;
		atomic_store(&st->entered, gen);
		query_vma(sit_fd, at + off);	/* the range may be gone: no matter */
		sit_write(st);
		atomic_fetch_add(&sits, 1);
	}
	return NULL;
}

/* Whether PROCMAP_QUERY answers: the sitters need it. */
static void sitters_init(void)
{
	if (no_sitters)
		return;
	sit_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (sit_fd >= 0 && query_vma(sit_fd, NULL)) {
		printf("# sitters: off: PROCMAP_QUERY: %s (Linux < 6.11)\n", strerror(errno));
		close(sit_fd);
		sit_fd = -1;
	}
}

/* The calling thread's sitter, made (asleep) on first use. */
static struct sitter *my_sitter_made(void)
{
	struct sitter *st = my_sitter;
	pthread_attr_t attr;
	pthread_t t;

	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		die("calloc");
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SIT_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	errno = pthread_create(&t, &attr, sitter, st);
	if (errno)
		die("pthread_create (sitter)");
	pthread_attr_destroy(&attr);
	my_sitter = st;
	return st;
}

/* Set the calling thread's sitter on [p, p + len), and wait until it sits. */
static void sit_on(void *p, size_t len)
{
	struct sitter *st;
	unsigned long gen;
	int i;

	if (sit_fd < 0 || len < (size_t)page_size)
		return;
	st = my_sitter_made();
	pthread_mutex_lock(&st->lock);
	atomic_store(&st->len, len);
	atomic_store(&st->at, (char *)p);
	gen = ++st->gen;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	/*
	 * Until it goes for a read lock in the range, and a moment for it to
	 * be inside, where the module holds it until a writer comes.
	 */
	for (i = 0; i < 2000 && atomic_load(&st->entered) != gen && !atomic_load(&hard_stop); i++)
		sched_yield();
	usleep(200);
}

/* The sitter goes back to sleep after its current round; errno is kept. */
static void sit_off(void)
{
	if (my_sitter)
		atomic_store(&my_sitter->at, NULL);
}

/* The calling thread's sitter also writes *@w from its next sit_on() on; NULL: not. */
static void sit_scribble(u64 *w, int cls)
{
	struct sitter *st;

	if (sit_fd < 0)
		return;
	st = my_sitter_made();
	st->cls = cls;
	atomic_store(&st->scribble, w);
}

/* @call, which write-locks VMAs of [p, p + len), with a sitter in them. */
#define SAT(p, len, call) ({ \
	sit_on((p), (len)); \
	__typeof__(call) sat_ = (call); \
	sit_off(); \
	sat_; \
})

static void *map_anon(void *addr, size_t len, int flags)
{
	return mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

static void fill(char *p, size_t len, u64 v)
{
	size_t i;

	for (i = 0; i < len; i += sizeof(u64))
		put((u64 *)(p + i), v);
}

/* First word in [p, p + len) that is not v, or -1. */
static long differs(const char *p, size_t len, u64 v)
{
	size_t i;

	for (i = 0; i < len; i += sizeof(u64))
		if (get((const u64 *)(p + i)) != v)
			return (long)i;
	return -1;
}

static void check_fill(int cls, const char *what, const char *p, size_t len, u64 v)
{
	long off = differs(p, len, want(cls, v));

	if (off >= 0)
		fail(cls, "%s: byte %ld holds %#llx, want %#llx", what, off,
		     get((const u64 *)(p + off)), want(cls, v));
}

/* SIGSEGV: threads that expect it (touchers) jump back; others die. */
static __thread sigjmp_buf *segv_jump;

static void on_segv(int sig)
{
	if (segv_jump)
		siglongjmp(*segv_jump, 1);
	signal(sig, SIG_DFL);
}

/* ------------------------------------------------------------------ */
/* writers, fork, mprotect: the region every page of which has an owner */

static u64 *page_at(int i)
{
	return (u64 *)(region + (size_t)i * page_size);
}

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	u64 gen = 0;

	while (go_on(C_FAULT)) {
		u64 v = pattern(id + 1, ++gen);
		int i;

		for (i = id; i < nr_pages; i += nr_writers)
			fill((char *)page_at(i), page_size, v);
		for (i = id; i < nr_pages; i += nr_writers) {
			long off = differs((char *)page_at(i), page_size, want(C_FAULT, v));

			if (off >= 0)
				fail(C_FAULT, "read back: page %d byte %ld holds %#llx, want %#llx",
				     i, off, get(page_at(i) + off / 8), want(C_FAULT, v));
		}
		atomic_fetch_add(&ops[C_FAULT], 1);
		/* Writers never block: leave the others some CPU on small guests. */
		if (!(gen % 8))
			sched_yield();
	}
	return NULL;
}

/* In the child: every page whole, owned right, and frozen after the fork. */
static int child_check(void)
{
	u64 *first = malloc(nr_pages * sizeof(*first));
	int i, pass, bad = 0;

	if (!first)
		return 2;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nr_pages; i++) {
			u64 v = get(&page_at(i)[0]);
			u64 last = get(&page_at(i)[WORDS_PER_PAGE - 1]);

			/* Pages not written yet are still zero. */
			if (v && owner_of(v) != (int)want(C_FORK, i % nr_writers + 1))
				bad++;
			/* Copied halfway through a write is fine; changing later is not. */
			if (pass == 0)
				first[i] = last;
			else if (last != first[i])
				bad++;
		}
		if (pass == 0)
			usleep(20000);	/* let the parent's writers run on */
	}
	free(first);
	return bad ? 1 : 0;
}

static void *forker(void *arg)
{
	(void)arg;
	while (go_on(C_FORK)) {
		int status;
		pid_t pid = SAT(region, (size_t)nr_pages * page_size, fork());

		if (pid < 0) {
			fail(C_FORK, "fork: %s", strerror(errno));
			break;
		}
		if (pid == 0)
			_exit(child_check());
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			fail(C_FORK, "child %d saw memory change after fork (status %#x)",
			     pid, status);
		atomic_fetch_add(&ops[C_FORK], 1);
	}
	return NULL;
}

/* Change the flags of sub-ranges (RW <-> RWX keeps writes allowed): VMAs split and merge. */
static void *splitter(void *arg)
{
	unsigned int seed = 1;

	(void)arg;
	while (go_on(C_MPROTECT)) {
		int start = rand_r(&seed) % nr_pages;
		int len = 1 + rand_r(&seed) % 8;
		int prot = PROT_READ | PROT_WRITE | (rand_r(&seed) & 1 ? PROT_EXEC : 0);
		char *sub = region + (size_t)start * page_size;

		if (start + len > nr_pages)
			len = nr_pages - start;
		if (SAT(sub, (size_t)len * page_size, mprotect(sub, (size_t)len * page_size, prot)))
			fail(C_MPROTECT, "mprotect: %s", strerror(errno));
		atomic_fetch_add(&ops[C_MPROTECT], 1);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* mremap: grow, shrink, move to a fixed address, DONTUNMAP              */

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static void *remapper(void *arg)
{
	size_t len = 4 * page_size;
	char *p = map_anon(NULL, len, 0);
	unsigned int seed = 2;
	bool dontunmap = true;
	u64 gen = 0;

	(void)arg;
	if (p == MAP_FAILED)
		die("mmap");
	while (go_on(C_MREMAP) || (dontunmap && go_on(C_DONTUNMAP))) {
		size_t newlen = (1 + rand_r(&seed) % 16) * page_size;
		size_t keep = len < newlen ? len : newlen;
		int step = ++gen % 4;
		char *q, *to;

		publish(A_REMAP, p, len);
		fill(p, len, gen);
		if (step == 3 && dontunmap) {
			/* The old range stays mapped, empty; the new one has the pages. */
			/* The fifth argument is a hint here: it must be given. */
			q = SAT(p, len,
				mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL));
			if (q == MAP_FAILED && errno == EINVAL) {
				skip(C_DONTUNMAP, "mremap_dontunmap",
				     "mremap(MREMAP_DONTUNMAP) gives EINVAL (Linux < 5.7)");
				dontunmap = false;
				continue;
			}
			if (q == MAP_FAILED) {
				fail(C_DONTUNMAP, "mremap(MREMAP_DONTUNMAP): %s", strerror(errno));
				break;
			}
			publish(A_REMAP, q, len);
			check_fill(C_DONTUNMAP, "moved pages", q, len, gen);
			{
				unsigned char vec[16];

				if (mincore(p, len, vec))
					fail(C_DONTUNMAP, "old range not mapped: mincore: %s",
					     strerror(errno));
				else
					check_fill(C_DONTUNMAP, "old range", p, len, 0);
			}
			munmap(p, len);
			p = q;
			atomic_fetch_add(&ops[C_DONTUNMAP], 1);
			continue;
		}
		if (step == 2) {
			/* Move onto a reserved range (it gets replaced). */
			to = mmap(NULL, newlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (to == MAP_FAILED)
				die("mmap");
			q = SAT(p, len, mremap(p, len, newlen, MREMAP_MAYMOVE | MREMAP_FIXED, to));
		} else {
			q = SAT(p, len, mremap(p, len, newlen, MREMAP_MAYMOVE));
		}
		if (q == MAP_FAILED) {
			fail(C_MREMAP, "mremap: %s", strerror(errno));
			break;
		}
		publish(A_REMAP, q, newlen);
		check_fill(C_MREMAP, "kept pages", q, keep, gen);
		if (newlen > len)
			check_fill(C_MREMAP, "grown pages", q + len, newlen - len, 0);
		p = q;
		len = newlen;
		atomic_fetch_add(&ops[C_MREMAP], 1);
	}
	publish(A_REMAP, NULL, 0);
	munmap(p, len);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* munmap: the head, the tail or a middle page of a range                */

static void *unmapper(void *arg)
{
	const int n = 8;
	size_t len = n * page_size;
	char *p = map_anon(NULL, len, 0);
	unsigned int seed = 3;
	u64 gen = 0;

	(void)arg;
	if (p == MAP_FAILED)
		die("mmap");
	while (go_on(C_MUNMAP)) {
		int k = rand_r(&seed) % n, i;
		char *hole = p + (size_t)k * page_size;

		publish(A_UNMAP, p, len);
		fill(p, len, ++gen);
		if (SAT(hole, page_size, munmap(hole, page_size)))
			die("munmap");
		for (i = 0; i < n; i++)
			if (i != k)
				check_fill(C_MUNMAP, "kept page", p + (size_t)i * page_size,
					   page_size, gen);
		/* NOREPLACE: another thread's mmap may have taken the hole. */
		if (map_anon(hole, page_size, MAP_FIXED_NOREPLACE) != hole) {
			/* Not the hole: that is someone else's now. */
			munmap(p, (size_t)k * page_size);
			munmap(hole + page_size, (size_t)(n - k - 1) * page_size);
			p = map_anon(NULL, len, 0);
			if (p == MAP_FAILED)
				die("mmap");
			continue;
		}
		check_fill(C_MUNMAP, "page mapped again", hole, page_size, 0);
		atomic_fetch_add(&ops[C_MUNMAP], 1);
	}
	publish(A_UNMAP, NULL, 0);
	munmap(p, len);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* newmap: a fresh range first-touched by two threads at once            */

#define NEWTOUCHERS	2
#define NEWMAP_PAGES	16
static _Atomic(char *) newmap_at;
static atomic_ulong newmap_gen;
static atomic_int newmap_done;
static atomic_bool newmap_over;	/* the newmap thread has returned */

static void *newtoucher(void *arg)
{
	int id = (int)(intptr_t)arg, i;
	unsigned long seen = 0;

	/* Until the newmap thread is done: it may start a round after stop. */
	while (!atomic_load(&newmap_over) && !atomic_load(&hard_stop)) {
		char *p;

		if (atomic_load(&newmap_gen) == seen) {
			sched_yield();
			continue;
		}
		seen = atomic_load(&newmap_gen);
		p = atomic_load(&newmap_at);
		/* One goes up, the other down: they meet on first faults. */
		for (i = 0; i < NEWMAP_PAGES; i++) {
			int pg = id ? NEWMAP_PAGES - 1 - i : i;

			__atomic_fetch_add((u64 *)(p + (size_t)pg * page_size), 1,
					   __ATOMIC_RELAXED);
		}
		atomic_fetch_add(&newmap_done, 1);
	}
	return NULL;
}

static void *newmapper(void *arg)
{
	size_t len = NEWMAP_PAGES * page_size;

	(void)arg;
	while (go_on(C_NEWMAP)) {
		char *p = map_anon(NULL, len, 0);
		int i;

		if (p == MAP_FAILED)
			die("mmap");
		publish(A_NEWMAP, p, len);
		atomic_store(&newmap_done, 0);
		atomic_store(&newmap_at, p);
		atomic_fetch_add(&newmap_gen, 1);
		while (atomic_load(&newmap_done) < NEWTOUCHERS && !atomic_load(&hard_stop))
			sched_yield();
		/* Both are done with it (or stuck: then leave it mapped). */
		if (atomic_load(&newmap_done) < NEWTOUCHERS)
			break;
		{
			for (i = 0; i < NEWMAP_PAGES; i++) {
				u64 v = get((u64 *)(p + (size_t)i * page_size));

				if (v != want(C_NEWMAP, NEWTOUCHERS))
					fail(C_NEWMAP, "page %d: %llu first touches, want %llu",
					     i, v, want(C_NEWMAP, NEWTOUCHERS));
			}
			atomic_fetch_add(&ops[C_NEWMAP], 1);
		}
		publish(A_NEWMAP, NULL, 0);
		munmap(p, len);
	}
	atomic_store(&newmap_over, true);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* growsdown: a stack grown downwards a page at a time                  */

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define STACK_PAGES	32

static void *stacker(void *arg)
{
	/* Far from other mappings, so that the stack guard gap never refuses. */
	uintptr_t hint = (uintptr_t)0x100000000000ULL;
	char *top = NULL;
	sigjmp_buf jb;
	volatile u64 gen = 0;
	int i;

	(void)arg;
	for (i = 0; i < 64 && !top; i++, hint += 0x10000000000ULL) {
		char *p = map_anon((void *)hint, page_size, MAP_GROWSDOWN | MAP_FIXED_NOREPLACE);

		if (p == (void *)hint)
			top = p + page_size;
		else if (p != MAP_FAILED)
			munmap(p, page_size);
	}
	if (!top) {
		skip(C_GROWSDOWN, "growsdown", "no free address for a MAP_GROWSDOWN stack");
		return NULL;
	}
	segv_jump = &jb;
	while (go_on(C_GROWSDOWN)) {
		volatile int k;

		gen++;
		if (sigsetjmp(jb, 1)) {
			fail(C_GROWSDOWN, "stack did not grow to page %d below its top", k);
			break;
		}
		for (k = 1; k <= STACK_PAGES; k++) {
			char *pg = top - (size_t)k * page_size;

			/* The first store below the stack's start expands it. */
			sit_on(pg + page_size, (size_t)(k - 1) * page_size);
			put((u64 *)pg, pattern(k, gen));
			sit_off();
			put((u64 *)(pg + page_size) - 1, pattern(k, gen));
			publish(A_STACK, pg, (size_t)k * page_size);
		}
		for (k = 1; k <= STACK_PAGES; k++) {
			u64 *pg = (u64 *)(top - (size_t)k * page_size);
			u64 v = want(C_GROWSDOWN, pattern(k, gen));

			if (get(pg) != v || get(pg + WORDS_PER_PAGE - 1) != v)
				fail(C_GROWSDOWN, "page %d below the top holds %#llx, want %#llx",
				     k, get(pg), v);
		}
		atomic_fetch_add(&ops[C_GROWSDOWN], 1);
		/* Start again from one page. */
		publish(A_STACK, NULL, 0);
		SAT(top - (size_t)STACK_PAGES * page_size, STACK_PAGES * page_size,
		    munmap(top - (size_t)STACK_PAGES * page_size, (STACK_PAGES - 1) * page_size));
	}
	segv_jump = NULL;
	publish(A_STACK, NULL, 0);
	munmap(top - (size_t)STACK_PAGES * page_size, STACK_PAGES * page_size);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* madvise and mbind                                                    */

#define MADV_PAGES	16
static const struct advice {
	const char *name;
	int advice;
	bool zeroes;	/* the pages read zero afterwards */
	bool maybe;	/* the pages read zero or keep their contents */
} advices[] = {
	{ "dontneed", MADV_DONTNEED, true, false },
	{ "free", 8 /* MADV_FREE */, false, true },
	{ "willneed", MADV_WILLNEED, false, false },
	{ "cold", 20 /* MADV_COLD */, false, false },
	{ "pageout", 21 /* MADV_PAGEOUT */, false, false },
	{ "hugepage", 14 /* MADV_HUGEPAGE */, false, false },
	{ "nohugepage", 15 /* MADV_NOHUGEPAGE */, false, false },
	{ "dontfork", MADV_DONTFORK, false, false },
	{ "dofork", MADV_DOFORK, false, false },
	{ "wipeonfork", 18 /* MADV_WIPEONFORK */, false, false },
	{ "keeponfork", 19 /* MADV_KEEPONFORK */, false, false },
	{ "dontdump", 16 /* MADV_DONTDUMP */, false, false },
	{ "dodump", 17 /* MADV_DODUMP */, false, false },
	{ "mergeable", 12 /* MADV_MERGEABLE */, false, false },
	{ "unmergeable", 13 /* MADV_UNMERGEABLE */, false, false },
	{ "populate_read", 22 /* MADV_POPULATE_READ */, false, false },
	{ "populate_write", 23 /* MADV_POPULATE_WRITE */, false, false },
	{ "collapse", 25 /* MADV_COLLAPSE */, false, false },
	{ "mbind", -1, false, false },
	{ "userfaultfd", -2, false, false },
};

#define NR_ADVICES	ARRAY_SIZE(advices)
#define MPOL_DEFAULT	0
#define MPOL_PREFERRED	1

/*
 * Register a range with userfaultfd and unregister it: the VMA flags change,
 * so VMAs split and merge. Its pages are all present (the madvise thread
 * fills them first), so no fault waits for a handler; and unregistering
 * wakes any that would.
 */
static int uffd = -1;

static int uffd_cycle(void *p, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct uffdio_api api = { .api = UFFD_API };

	if (uffd < 0) {
		uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
		if (uffd < 0 && errno == EINVAL)
			uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
		if (uffd < 0)
			return -1;
		if (ioctl(uffd, UFFDIO_API, &api))
			return -1;
	}
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -1;
	return ioctl(uffd, UFFDIO_UNREGISTER, &reg.range);
}

/* Give the advice (or mbind, or a userfaultfd cycle) to [sub, sub + sublen). */
static int give_advice(const struct advice *adv, char *sub, size_t sublen, u64 gen)
{
	unsigned long nodes = 1;

	if (adv->advice == -2)
		return uffd_cycle(sub, sublen);
	if (adv->advice < 0)
		return syscall(SYS_mbind, sub, sublen, gen & 1 ? MPOL_PREFERRED : MPOL_DEFAULT,
			       gen & 1 ? &nodes : NULL, gen & 1 ? 8 * sizeof(nodes) : 0, 0);
	return madvise(sub, sublen, adv->advice);
}

/* The same, with a sitter in the range's VMAs. */
static int advise(const struct advice *adv, char *sub, size_t sublen, u64 gen)
{
	return SAT(sub, sublen, give_advice(adv, sub, sublen, gen));
}

/* The advice failed: true if the kernel does not take it (said, by name, once). */
static bool advice_refused(const struct advice *adv)
{
	char feature[32], reason[64];

	if (errno != EINVAL && errno != ENOSYS && errno != EPERM)
		return false;
	/*
	 * A known advice on no range succeeds: then EINVAL was about the
	 * range. For MADV_COLLAPSE that is a lost race (a PTE not there or
	 * not anonymous, the VMA changing under the scan), as EAGAIN is.
	 */
	if (errno == EINVAL && adv->advice >= 0) {
		if (!madvise(region, 0, adv->advice)) {
			errno = adv->advice == 25 /* MADV_COLLAPSE */ ? EAGAIN : EINVAL;
			return false;
		}
		errno = EINVAL;
	}
	snprintf(feature, sizeof(feature), adv->advice < 0 ? "%s" : "madvise_%s", adv->name);
	snprintf(reason, sizeof(reason), "%s gives %s",
		 adv->advice == -2 ? "userfaultfd" :
		 adv->advice < 0 ? "mbind()" : "madvise()", strerrorname_np(errno));
	skip(-1, feature, reason);
	return true;
}

/* Every page of [p, p + len) filled with gen, the advice given to sub. */
static void check_advice(int cls, const struct advice *adv, char *p, size_t len,
			 char *sub, size_t sublen, u64 gen)
{
	char what[48], *pg;

	for (pg = p; pg < p + len; pg += page_size) {
		bool inside = pg >= sub && pg < sub + sublen;

		snprintf(what, sizeof(what), "%s: page %ld", adv->name,
			 (long)((pg - p) / page_size));
		if (inside && adv->zeroes)
			check_fill(cls, what, pg, page_size, 0);
		else if (inside && adv->maybe && differs(pg, page_size, 0) >= 0)
			check_fill(cls, what, pg, page_size, gen);
		else
			check_fill(cls, what, pg, page_size, gen);
	}
}

static void *madviser(void *arg)
{
	size_t len = MADV_PAGES * page_size;
	char *p = map_anon(NULL, len, 0);
	bool off[NR_ADVICES] = { false };
	unsigned int seed = 4;
	u64 gen = 0;

	(void)arg;
	if (p == MAP_FAILED)
		die("mmap");
	publish(A_MADV, p, len);
	while (go_on(C_MADVISE)) {
		unsigned int a = ++gen % NR_ADVICES;
		const struct advice *adv = &advices[a];
		int start = rand_r(&seed) % MADV_PAGES;
		int n = 1 + rand_r(&seed) % (MADV_PAGES - start);
		char *sub = p + (size_t)start * page_size;
		size_t sublen = (size_t)n * page_size;

		if (off[a])
			continue;
		fill(p, len, gen);
		if (advise(adv, sub, sublen, gen)) {
			if (advice_refused(adv)) {
				off[a] = true;
				continue;
			}
			if (errno != EAGAIN && errno != ENOMEM) {
				fail(C_MADVISE, "madvise(%s): %s", adv->name, strerror(errno));
				continue;
			}
		}
		check_advice(C_MADVISE, adv, p, len, sub, sublen, gen);
		atomic_fetch_add(&ops[C_MADVISE], 1);
	}
	publish(A_MADV, NULL, 0);
	munmap(p, len);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* mlock: locked pages must be present                                   */

#define MLOCK_PAGES	16

static void *mlocker(void *arg)
{
	size_t len = MLOCK_PAGES * page_size;
	char *p = map_anon(NULL, len, 0);
	unsigned char vec[MLOCK_PAGES];
	unsigned int seed = 5;

	(void)arg;
	if (p == MAP_FAILED)
		die("mmap");
	publish(A_MLOCK, p, len);
	while (go_on(C_MLOCK)) {
		int start = rand_r(&seed) % MLOCK_PAGES;
		int n = 1 + rand_r(&seed) % (MLOCK_PAGES - start), i;
		char *sub = p + (size_t)start * page_size;

		if (SAT(sub, (size_t)n * page_size, mlock(sub, (size_t)n * page_size))) {
			if (errno == ENOMEM || errno == EPERM) {
				skip(C_MLOCK, "mlock", errno == EPERM ?
				     "mlock() gives EPERM (no CAP_IPC_LOCK, RLIMIT_MEMLOCK 0)" :
				     "mlock() gives ENOMEM (over RLIMIT_MEMLOCK)");
				break;
			}
			die("mlock");
		}
		if (mincore(sub, (size_t)n * page_size, vec))
			die("mincore");
		for (i = 0; i < n; i++)
			if ((vec[i] & 1) != want(C_MLOCK, 1))
				fail(C_MLOCK, "page %d of an mlock()ed range not present",
				     start + i);
		if (SAT(sub, (size_t)n * page_size, munlock(sub, (size_t)n * page_size)))
			die("munlock");
		/* Unlocked pages may go: drop some so that mlock faults again. */
		madvise(p, len, MADV_DONTNEED);
		atomic_fetch_add(&ops[C_MLOCK], 1);
	}
	publish(A_MLOCK, NULL, 0);
	munmap(p, len);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* /proc/self/maps, smaps and PROCMAP_QUERY while the layout changes     */

struct range {
	unsigned long start, end;
};

/* The start of an entry inside the name of another: two lines run together. */
static bool glued(const char *name)
{
	unsigned long a, b, off;
	char perms[8];
	int i;

	for (i = 1; name[i]; i++)
		if (!strchr("0123456789abcdef", name[i - 1]) &&
		    sscanf(name + i, "%lx-%lx %7s %lx", &a, &b, perms, &off) == 4 &&
		    strlen(perms) == 4 && strspn(perms, "rwxsp-") == 4)
			return true;
	return false;
}

/* smaps: "Name:   N kB", "Name:   N" or "VmFlags: rd wr ..." between the entries. */
static bool smaps_field(const char *buf)
{
	size_t k = strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789");
	const char *v = buf + k + 1;

	if (!k || buf[k] != ':')
		return false;
	if (!strncmp(buf, "VmFlags:", 8)) {
		for (; *v == ' ' && v[1] && v[2] && v[1] != ' ' && v[2] != ' '; v += 3)
			;
		return *v == '\0' || !strcmp(v, " ");
	}
	v += strspn(v, " ");
	k = strspn(v, "0123456789");
	return k && (v[k] == '\0' || !strcmp(v + k, " kB"));
}

/* Intervals by start, for the union of the entries shown over a range. */
static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Check one read of a maps (or smaps) text: every line whole, entries in
 * ascending order, each fixed range shown exactly as one entry, and every
 * address of @covered (a range mapped all along, though its VMAs change:
 * replaced by MAP_FIXED, split and merged by mprotect) inside some entry:
 * a VMA changed under the reader is shown old, new or both, never not at
 * all (Documentation/filesystems/proc.rst; lock_next_vma()'s re-check of a
 * VMA found beyond the last position is what keeps it so, and the selftest
 * proc-maps-race checks the same); an entry exactly @uncounted (-X) is
 * left out of that union. Problems go to stderr, prefixed by what;
 * returns their number.
 *
 * Each time the kernel refills its seq_file buffer it takes the locks afresh
 * and goes on from the end of the last entry it showed; if that VMA merged
 * meanwhile, the merged VMA comes next and overlaps the entry before it (the
 * selftest allows this too, and so does PROCMAP_QUERY's walk). User space
 * cannot see where the refills happened, so an entry may start below the end
 * of the one before (counted as an overlap) but must end above it.
 */
static int check_maps_text(const char *text, size_t size, bool smaps,
			   const struct range *fixed, int nr_fixed,
			   const struct range *covered, const struct range *uncounted,
			   const char *what)
{
	unsigned long prev_end = 0, cover;
	int problems = 0, i, line = 0, nr_shown = 0;
	bool *seen = calloc(nr_fixed + 1, sizeof(*seen));
	struct range *shown = calloc(size / 16 + 1, sizeof(*shown));
	const char *s = text, *end = text + size;

	if (!seen || !shown) {
		free(seen);
		free(shown);
		return 1;
	}
#define PROBLEM(...) do { \
		if (problems++ < 5) { \
			fprintf(stderr, "vmalock_user_stress: %s: line %d: ", what, line); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)
	if (size && text[size - 1] != '\n') {
		line = -1;
		PROBLEM("torn: text does not end with a newline");
	}
	while (s < end) {
		const char *nl = memchr(s, '\n', end - s);
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		char buf[512], perms[8], dev[16];
		unsigned long start, stop_, off, inode;
		int used = 0;

		line++;
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		s = nl ? nl + 1 : end;
		if (sscanf(buf, "%lx-%lx %7s %lx %15s %lu%n", &start, &stop_, perms, &off,
			   dev, &inode, &used) == 6 && strlen(perms) == 4 &&
		    strspn(perms, "rwxsp-") == 4 && strchr(dev, ':') &&
		    (buf[used] == '\0' || buf[used] == ' ')) {
			if (glued(buf + used))
				PROBLEM("torn: a second entry inside '%s'", buf);
			if (start >= stop_)
				PROBLEM("torn: empty entry %lx-%lx", start, stop_);
			if (stop_ <= prev_end)
				PROBLEM("out of order: %lx-%lx after an entry ending at %lx",
					start, stop_, prev_end);
			else if (start < prev_end)
				atomic_fetch_add(&maps_overlaps, 1);
			prev_end = stop_;
			/* A line is 16 bytes at least: shown has room for each. */
			if (covered && start < covered->end && stop_ > covered->start &&
			    !(uncounted && start == uncounted->start && stop_ == uncounted->end)) {
				shown[nr_shown].start = start;
				shown[nr_shown++].end = stop_;
			}
			for (i = 0; i < nr_fixed; i++) {
				if (start == fixed[i].start && stop_ == fixed[i].end)
					seen[i] = true;
				else if (start < fixed[i].end && stop_ > fixed[i].start)
					PROBLEM("fixed %lx-%lx shown as %lx-%lx", fixed[i].start,
						fixed[i].end, start, stop_);
			}
			continue;
		}
		if (smaps && line > 1 && smaps_field(buf))
			continue;
		PROBLEM("torn: '%s'", buf);
	}
	for (i = 0; i < nr_fixed; i++)
		if (!seen[i]) {
			line = 0;
			PROBLEM("gap: fixed %lx-%lx missing", fixed[i].start, fixed[i].end);
		}
	qsort(shown, nr_shown, sizeof(*shown), range_cmp);
	cover = covered ? covered->start : 0;
	for (i = 0; covered && cover < covered->end; i++) {
		if (i == nr_shown || shown[i].start > cover) {
			unsigned long to = i == nr_shown ? covered->end : shown[i].start;

			line = 0;
			PROBLEM("gap: %lx-%lx of the always-mapped %lx-%lx shown by no entry",
				cover, to < covered->end ? to : covered->end,
				covered->start, covered->end);
			break;
		}
		if (shown[i].end > cover)
			cover = shown[i].end;
	}
#undef PROBLEM
	free(seen);
	free(shown);
	return problems;
}

/* The whole of a /proc file, read as programs read it: a page at a time. */
static char *read_all(int fd, size_t *size)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	if (!buf)
		return NULL;
	if (lseek(fd, 0, SEEK_SET) < 0) {
		free(buf);
		return NULL;
	}
	while ((r = read(fd, buf + n, cap - n > 4096 ? 4096 : cap - n)) > 0) {
		n += r;
		if (n == cap) {
			char *b = realloc(buf, cap *= 2);

			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
		}
	}
	if (r < 0) {
		free(buf);
		return NULL;
	}
	*size = n;
	return buf;
}

/*
 * Fixed one-page memfd mappings, each with a changing neighbour on both
 * sides: [anon page, unmapped and mapped again][fixed][2 anon pages, one or
 * the other mprotect()ed]. The anon neighbours of two slots merge and split.
 */
#define MAPS_SLOTS	48
#define SLOT_PAGES	4
static struct range fixed[MAPS_SLOTS + 1];
static struct range slots_range;	/* all of the slots: mapped all along */
static char *slots;

static int setup_maps_slots(void)
{
	size_t len = (size_t)MAPS_SLOTS * SLOT_PAGES * page_size;
	int fd = memfd_create("vmalock_fixed", 0), i;

	if (fd < 0) {
		skip(C_MAPS, "memfd", "memfd_create() fails: no fixed mappings to check");
		atomic_store(&skipped[C_SMAPS], 1);
		atomic_store(&skipped[C_QUERY], 1);
		return -1;
	}
	if (ftruncate(fd, (off_t)MAPS_SLOTS * page_size))
		die("ftruncate");
	slots = map_anon(NULL, len, 0);
	if (slots == MAP_FAILED)
		die("mmap");
	for (i = 0; i < MAPS_SLOTS; i++) {
		char *f = slots + ((size_t)i * SLOT_PAGES + 1) * page_size;

		if (mmap(f, page_size, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
			 (off_t)i * page_size) != f)
			die("mmap memfd");
		fixed[i].start = (unsigned long)f;
		fixed[i].end = (unsigned long)f + page_size;
	}
	close(fd);
	slots_range.start = (unsigned long)slots;
	slots_range.end = (unsigned long)slots + len;
	publish(A_MAPS, slots, len);
	return 0;
}

static void *mapschurn(void *arg)
{
	unsigned int seed = 6;

	(void)arg;
	if (!slots)
		return NULL;
	while (!atomic_load(&stop)) {
		int i = rand_r(&seed) % MAPS_SLOTS;
		char *s = slots + (size_t)i * SLOT_PAGES * page_size;
		/*
		 * The first neighbour page splits its VMA above itself, the
		 * second below: the VMA found then starts higher, with a new
		 * one in front, the case lock_next_vma() must re-check.
		 */
		char *after = s + (2 + rand_r(&seed) % 2) * page_size;

		/* A new mapping in place of the old: unmap and map in one call. */
		sit_on(s, SLOT_PAGES * page_size);
		if (map_anon(s, page_size, MAP_FIXED) != s)
			die("mmap MAP_FIXED");
		if (mprotect(after, page_size, PROT_READ) ||
		    mprotect(after, page_size, PROT_READ | PROT_WRITE))
			die("mprotect");
		sit_off();
	}
	return NULL;
}

/*
 * -X maps, smaps: one more fixed range, one page off, not there. -X
 * procmap_query: the first fixed range a page longer. A query at its start
 * finds it as it is; a query a page off could find a neighbour the churner
 * mapped there, of just that size.
 */
static int nr_fixed_checked(int cls)
{
	if (!(sabotage & 1ULL << cls))
		return MAPS_SLOTS;
	fixed[MAPS_SLOTS].start = fixed[0].start + (cls == C_QUERY ? 0 : page_size);
	fixed[MAPS_SLOTS].end = fixed[0].end + page_size;
	return MAPS_SLOTS + 1;
}

static void query_check(int fd, int nr)
{
	struct vt_procmap_query q;
	unsigned long prev_end = 0, addr = 0;
	int i, found = 0;

	for (i = 0; i < nr; i++) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_addr = fixed[i].start;
		if (ioctl(fd, VT_PROCMAP_QUERY, &q)) {
			if (errno == ENOTTY || errno == EINVAL) {
				skip(C_QUERY, "procmap_query", errno == ENOTTY ?
				     "ioctl gives ENOTTY (Linux < 6.11)" : "ioctl gives EINVAL");
				return;
			}
			fail(C_QUERY, "fixed %lx-%lx: %s", fixed[i].start, fixed[i].end,
			     strerror(errno));
			continue;
		}
		if (q.vma_start != fixed[i].start || q.vma_end != fixed[i].end)
			fail(C_QUERY, "fixed %lx-%lx shown as %llx-%llx", fixed[i].start,
			     fixed[i].end, q.vma_start, q.vma_end);
	}
	/* Walk every VMA: ascending, and the fixed ones as they are. */
	for (;;) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_addr = addr;
		q.query_flags = VT_COVERING_OR_NEXT;
		if (ioctl(fd, VT_PROCMAP_QUERY, &q))
			break;
		/* As in maps: a VMA merged meanwhile may start below prev_end. */
		if (q.vma_end <= prev_end || q.vma_end <= q.vma_start)
			fail(C_QUERY, "walk: %llx-%llx after %lx",
			     q.vma_start, q.vma_end, prev_end);
		for (i = 0; i < MAPS_SLOTS; i++)
			if (q.vma_start == fixed[i].start && q.vma_end == fixed[i].end)
				found++;
		prev_end = q.vma_end;
		addr = q.vma_end;
	}
	if (errno != ENOENT)
		fail(C_QUERY, "walk: %s", strerror(errno));
	else if (found != MAPS_SLOTS)
		fail(C_QUERY, "walk: %d of %d fixed mappings found", found, MAPS_SLOTS);
	atomic_fetch_add(&ops[C_QUERY], 1);
}

static void *procmaps(void *arg)
{
	int maps = open("/proc/self/maps", O_RDONLY);
	int smaps = open("/proc/self/smaps", O_RDONLY);
	bool query = true;
	int round = 0;

	(void)arg;
	if (maps < 0 || smaps < 0)
		die("open /proc/self/maps");
	while (slots && (go_on(C_MAPS) || go_on(C_SMAPS) || (query && go_on(C_QUERY)))) {
		int cls = round % 3 == 1 ? C_SMAPS : C_MAPS;
		size_t size;
		char *text;

		if (round++ % 3 == 2) {
			if (query)
				query_check(maps, nr_fixed_checked(C_QUERY));
			query = !atomic_load(&skipped[C_QUERY]);
			continue;
		}
		text = read_all(cls == C_SMAPS ? smaps : maps, &size);
		if (!text)
			die("read /proc/self/maps");
		if (check_maps_text(text, size, cls == C_SMAPS, fixed,
				    nr_fixed_checked(cls), &slots_range,
				    sabotage & 1ULL << cls ? &fixed[0] : NULL,
				    class_name[cls]))
			fail(cls, "see the lines above");
		free(text);
		atomic_fetch_add(&ops[cls], 1);
	}
	close(maps);
	close(smaps);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Helpers for the classes below                                        */

#define HPAGE_SIZE	(2UL << 20)
#define PM_SOFT_DIRTY	(1ULL << 55)
#define PM_SWAPPED	(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)

/* A mapping of its own: PROT_NONE pages on both sides, so it never merges. */
static char *map_isolated(size_t len)
{
	char *p = mmap(NULL, len + 2 * page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	if (mprotect(p + page_size, len, PROT_READ | PROT_WRITE))
		die("mprotect");
	return p + page_size;
}

/* One huge page's worth, 2 MB-aligned: THP can back it whole. */
static char *map_hpage_aligned(void)
{
	char *raw = map_anon(NULL, 2 * HPAGE_SIZE, 0), *p;

	if (raw == MAP_FAILED)
		die("mmap");
	p = (char *)(((uintptr_t)raw + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1));
	if (p > raw)
		munmap(raw, p - raw);
	munmap(p + HPAGE_SIZE, raw + HPAGE_SIZE - p);
	return p;
}

/* The /proc/self/pagemap entry of the page at addr. */
static u64 pagemap_of(int fd, const void *addr)
{
	u64 e;

	if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)addr / page_size * sizeof(e))) !=
	    sizeof(e))
		die("read /proc/self/pagemap");
	return e;
}

static int open_pagemap(void)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		die("open /proc/self/pagemap");
	return fd;
}

/* Each page of [p, p + n pages) holds pattern(first + i, gen); check them. */
static void fill_pages(char *p, int n, int first, u64 gen)
{
	int i;

	for (i = 0; i < n; i++)
		fill(p + (size_t)i * page_size, page_size, pattern(first + i, gen));
}

static void check_pages(int cls, const char *what, const char *p, int n, int first, u64 gen)
{
	char buf[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s: page %d", what, i);
		check_fill(cls, buf, p + (size_t)i * page_size, page_size, pattern(first + i, gen));
	}
}

/* A call the kernel refuses as unknown: the feature is missing, said by name. */
static bool unsupported(int err)
{
	return err == EINVAL || err == ENOSYS || err == ENOTTY || err == EOPNOTSUPP;
}

static void skip_errno(int cls, const char *feature, const char *call)
{
	char reason[96];

	snprintf(reason, sizeof(reason), "%s gives %s", call, strerrorname_np(errno));
	skip(cls, feature, reason);
}

/*
 * The classes below take mmap_lock for whole-range work (collapse, page-out,
 * migration): on a slow guest (TCG, KASAN) they would starve the others and
 * keep the run from ending in time. A pause between rounds leaves room.
 */
static void pause_between_rounds(void)
{
	usleep(5000);
}

/* ------------------------------------------------------------------ */
/* collapse: MADV_COLLAPSE and khugepaged on a range being faulted and    */
/* partly dropped                                                       */

static _Atomic(char *) collapse_at;
/* Per page: bumped before and after each DONTNEED of it (odd: one is on). */
static atomic_uint *collapse_drops;
static atomic_long collapsed;

static void *collapser(void *arg)
{
	int n = HPAGE_SIZE / page_size, i;
	char *p = map_hpage_aligned();
	unsigned int *seen = calloc(n, sizeof(*seen));
	bool collapse = true;
	u64 gen = 0;

	(void)arg;
	collapse_drops = calloc(n, sizeof(*collapse_drops));
	if (!seen || !collapse_drops)
		die("calloc");
	if (madvise(p, HPAGE_SIZE, MADV_HUGEPAGE)) {
		skip_errno(C_COLLAPSE, "thp_collapse", "madvise(MADV_HUGEPAGE)");
		return NULL;
	}
	/* Copying 512 pages at every fork would slow the others down. */
	if (madvise(p, HPAGE_SIZE, MADV_DONTFORK))
		die("madvise(MADV_DONTFORK)");
	/*
	 * The advice is known to the kernel or not, whatever the range: ask
	 * with none. On a range, EINVAL also means "not now" (a PTE that is
	 * not there or not anonymous, the VMA changing under the scan).
	 */
	if (madvise(p, 0, 25 /* MADV_COLLAPSE */)) {
		skip_errno(-1, "madv_collapse", "madvise(MADV_COLLAPSE)");
		collapse = false;
	}
	publish(A_COLLAPSE, p, HPAGE_SIZE);
	atomic_store(&collapse_at, p);
	/* The last page is the sitter's to write while the range collapses. */
	sit_scribble((u64 *)(p + HPAGE_SIZE - page_size), C_COLLAPSE);
	n--;
	while (go_on(C_COLLAPSE)) {
		gen++;
		for (i = 0; i < n; i++) {
			seen[i] = atomic_load(&collapse_drops[i]);
			fill(p + (size_t)i * page_size, page_size, pattern(i + 1, gen));
		}
		/* EINVAL, EAGAIN, ENOMEM, EBUSY: lost a race, nothing more to check. */
		if (collapse && !SAT(p, HPAGE_SIZE, madvise(p, HPAGE_SIZE, 25 /* MADV_COLLAPSE */)))
			atomic_fetch_add(&collapsed, 1);
		for (i = 0; i < n; i++) {
			const u64 *pg = (const u64 *)(p + (size_t)i * page_size);
			u64 v = want(C_COLLAPSE, pattern(i + 1, gen));
			size_t w;

			for (w = 0; w < WORDS_PER_PAGE; w++) {
				u64 got = get(pg + w);
				unsigned int now;

				if (got == v)
					continue;
				/* Zero only after a DONTNEED since the write began. */
				now = atomic_load(&collapse_drops[i]);
				if (!got && (now != seen[i] || (seen[i] & 1)))
					continue;
				fail(C_COLLAPSE, "page %d word %zu holds %#llx, want %#llx%s",
				     i, w, got, v, got ? "" : " (no DONTNEED of it)");
				break;
			}
		}
		atomic_fetch_add(&ops[C_COLLAPSE], 1);
		pause_between_rounds();
	}
	/* Left mapped: the dropper may still be inside a DONTNEED of it. */
	publish(A_COLLAPSE, NULL, 0);
	free(seen);
	return NULL;
}

static void *collapse_dropper(void *arg)
{
	int n = HPAGE_SIZE / page_size;
	unsigned int seed = 8;

	(void)arg;
	n--;	/* not the last page: the collapser's sitter writes it */
	while (!atomic_load(&stop)) {
		char *p = atomic_load(&collapse_at);
		int start = rand_r(&seed) % n, len = 1 + rand_r(&seed) % 32, i;

		if (!p) {
			usleep(1000);
			continue;
		}
		if (start + len > n)
			len = n - start;
		for (i = start; i < start + len; i++)
			atomic_fetch_add(&collapse_drops[i], 1);
		if (madvise(p + (size_t)start * page_size, (size_t)len * page_size, MADV_DONTNEED))
			die("madvise(MADV_DONTNEED)");
		for (i = start; i < start + len; i++)
			atomic_fetch_add(&collapse_drops[i], 1);
		pause_between_rounds();
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* uffd_ops: missing faults answered by COPY and ZEROPAGE, MOVE,         */
/* WRITEPROTECT, register cycles, and SET_MODE toggles of RWP_ASYNC      */

/* The uapi of Linux 6.8 (MOVE) and 7.3 (RWP, SET_MODE): newer than Debian 12's. */
#define VT_UFFD_FEATURE_MOVE		(1 << 16)
#define VT_UFFD_FEATURE_RWP		(1 << 17)
#define VT_UFFD_FEATURE_RWP_ASYNC	(1 << 18)
#define VT_UFFDIO_REGISTER_MODE_RWP	((u64)1 << 3)
#define VT_UFFD_PAGEFAULT_FLAG_RWP	(1 << 3)
#define VT_UFFDIO_RWPROTECT_MODE_RWP	((u64)1 << 0)
struct vt_uffdio_move {
	u64 dst, src, len, mode;
	int64_t move;
};

struct vt_uffdio_rwprotect {
	struct uffdio_range range;
	u64 mode;
};

struct vt_uffdio_set_mode {
	u64 enable, disable;
};

#define VT_UFFDIO_MOVE		_IOWR(UFFDIO, 0x05, struct vt_uffdio_move)
#define VT_UFFDIO_RWPROTECT	_IOWR(UFFDIO, 0x09, struct vt_uffdio_rwprotect)
#define VT_UFFDIO_SET_MODE	_IOW(UFFDIO, 0x0A, struct vt_uffdio_set_mode)

#define UFFD_PAGES	32	/* the first half touched by all, the rest moved into */
#define UFFD_SHOWN	16
#define UFFD_MOVED	4
#define UFFD_MOVE_SLOTS	((UFFD_PAGES - UFFD_SHOWN) / UFFD_MOVED)
#define RWP_PAGES	8

/* The uffd_ops thread's userfaultfd, shared with its handler. */
static struct uffd_ops_state {
	int fd;
	char *base;		/* UFFD_PAGES, registered MISSING (and WP) */
	atomic_long wp_faults, rwp_faults, missing_faults;
	atomic_bool over;
	char *copy_src;		/* what COPY copies, written before each round */
} uo = { .fd = -1 };

static int uffd_open(u64 features, u64 *available)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd < 0 && errno == EINVAL)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -1;
	}
	if (available)
		*available = api.features;
	return fd;
}

static void uffd_wake(u64 addr)
{
	struct uffdio_range r = { .start = addr, .len = page_size };

	ioctl(uo.fd, UFFDIO_WAKE, &r);
}

/* Answers faults: missing even pages with a copy, odd ones with the zero page. */
static void *uffd_handler(void *arg)
{
	struct uffd_msg msg[16];

	(void)arg;
	while (!atomic_load(&uo.over)) {
		struct pollfd pfd = { .fd = uo.fd, .events = POLLIN };
		ssize_t r;
		int i;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = read(uo.fd, msg, sizeof(msg));
		for (i = 0; i < (int)(r > 0 ? r / sizeof(msg[0]) : 0); i++) {
			u64 flags = msg[i].arg.pagefault.flags;
			u64 addr = msg[i].arg.pagefault.address & ~((u64)page_size - 1);
			int rc;

			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			if (flags & VT_UFFD_PAGEFAULT_FLAG_RWP) {
				struct vt_uffdio_rwprotect rw = {
					.range = { .start = addr, .len = page_size } };

				atomic_fetch_add(&uo.rwp_faults, 1);
				rc = ioctl(uo.fd, VT_UFFDIO_RWPROTECT, &rw);
			} else if (flags & UFFD_PAGEFAULT_FLAG_WP) {
				struct uffdio_writeprotect wp = {
					.range = { .start = addr, .len = page_size } };

				atomic_fetch_add(&uo.wp_faults, 1);
				rc = ioctl(uo.fd, UFFDIO_WRITEPROTECT, &wp);
			} else if (((addr - (uintptr_t)uo.base) / page_size) % 2 == 0) {
				size_t off = addr - (uintptr_t)uo.base;
				struct uffdio_copy c = { .dst = addr, .len = page_size,
							 .src = (uintptr_t)uo.copy_src + off };

				atomic_fetch_add(&uo.missing_faults, 1);
				rc = ioctl(uo.fd, UFFDIO_COPY, &c);
			} else {
				struct uffdio_zeropage z = {
					.range = { .start = addr, .len = page_size } };

				atomic_fetch_add(&uo.missing_faults, 1);
				rc = ioctl(uo.fd, UFFDIO_ZEROPAGE, &z);
			}
			/* Answered meanwhile (EEXIST) or the layout changing (EAGAIN): retry it. */
			if (rc)
				uffd_wake(addr);
		}
	}
	return NULL;
}

static void *uffd_ops(void *arg)
{
	u64 avail = 0, mode = UFFDIO_REGISTER_MODE_MISSING, gen = 0;
	size_t len = UFFD_PAGES * page_size;
	bool wp, move, rwp, set_mode;
	char *src, *rwp_area = NULL;
	pthread_t handler;
	int probe, i;

	(void)arg;
	probe = uffd_open(0, &avail);
	if (probe < 0) {
		skip_errno(C_UFFD, "uffd_ops", "userfaultfd()");
		return NULL;
	}
	close(probe);
	wp = avail & UFFD_FEATURE_PAGEFAULT_FLAG_WP;
	move = avail & VT_UFFD_FEATURE_MOVE;
	rwp = avail & VT_UFFD_FEATURE_RWP;
	set_mode = rwp && (avail & VT_UFFD_FEATURE_RWP_ASYNC);
	if (!wp)
		skip(-1, "uffd_wp", "no UFFD_FEATURE_PAGEFAULT_FLAG_WP");
	if (!move)
		skip(-1, "uffd_move", "no UFFD_FEATURE_MOVE (Linux < 6.8)");
	if (!set_mode)
		skip(-1, "uffd_set_mode", "no UFFD_FEATURE_RWP/RWP_ASYNC (Linux < 7.3)");
	uo.fd = uffd_open((wp ? UFFD_FEATURE_PAGEFAULT_FLAG_WP : 0) |
			  (move ? VT_UFFD_FEATURE_MOVE : 0) | (rwp ? VT_UFFD_FEATURE_RWP : 0),
			  NULL);
	if (uo.fd < 0)
		die("userfaultfd");
	if (wp)
		mode |= UFFDIO_REGISTER_MODE_WP;
	uo.base = map_isolated(len);
	/* The handler writes no memory: a fault of its own could wait on a fork. */
	uo.copy_src = map_anon(NULL, UFFD_SHOWN * page_size, 0);
	/* Moved pages must not be shared with a fork child: MOVE refuses those. */
	src = map_anon(NULL, UFFD_MOVED * page_size, 0);
	if (uo.copy_src == MAP_FAILED || src == MAP_FAILED ||
	    madvise(uo.copy_src, UFFD_SHOWN * page_size, MADV_DONTFORK) ||
	    madvise(src, UFFD_MOVED * page_size, MADV_DONTFORK))
		die("mmap");
	if (set_mode) {
		struct uffdio_register reg = {
			.range = { .start = 0, .len = RWP_PAGES * page_size },
			.mode = VT_UFFDIO_REGISTER_MODE_RWP };

		rwp_area = map_isolated(RWP_PAGES * page_size);
		reg.range.start = (uintptr_t)rwp_area;
		if (ioctl(uo.fd, UFFDIO_REGISTER, &reg)) {
			skip_errno(-1, "uffd_set_mode", "UFFDIO_REGISTER_MODE_RWP");
			set_mode = false;
		} else {
			publish(A_UFFD_RWP, rwp_area, RWP_PAGES * page_size);
		}
	}
	errno = pthread_create(&handler, NULL, uffd_handler, NULL);
	if (errno)
		die("pthread_create");
	while (go_on(C_UFFD)) {
		struct uffdio_register reg = { .range = { .start = (uintptr_t)uo.base, .len = len },
					       .mode = mode };
		long before;

		fill_pages(uo.copy_src, UFFD_SHOWN, 1, ++gen);
		/*
		 * Registered before the pages go: a fault that began before
		 * could not fill one after (registering write-locks the VMA).
		 */
		if (SAT(uo.base, len, ioctl(uo.fd, UFFDIO_REGISTER, &reg))) {
			skip_errno(C_UFFD, "uffd_ops", "UFFDIO_REGISTER");
			break;
		}
		if (madvise(uo.base, len, MADV_DONTNEED))
			die("madvise(MADV_DONTNEED)");
		publish(A_UFFD, uo.base, UFFD_SHOWN * page_size);
		/* Missing pages: each fault answered by a copy or the zero page. */
		for (i = 0; i < UFFD_SHOWN; i++) {
			char what[48];

			snprintf(what, sizeof(what), "%s page %d",
				 i % 2 ? "zeropage" : "copied", i);
			check_fill(C_UFFD, what, uo.base + (size_t)i * page_size, page_size,
				   i % 2 ? 0 : pattern(i + 1, gen));
		}
		if (wp) {
			struct uffdio_writeprotect w = { .range = reg.range,
							 .mode = UFFDIO_WRITEPROTECT_MODE_WP };

			before = atomic_load(&uo.wp_faults);
			if (ioctl(uo.fd, UFFDIO_WRITEPROTECT, &w))
				fail(C_UFFD, "UFFDIO_WRITEPROTECT: %s", strerror(errno));
			/* A write to a protected page waits for the handler. */
			__atomic_fetch_add((u64 *)uo.base, 0, __ATOMIC_RELAXED);
			if ((u64)(atomic_load(&uo.wp_faults) > before) != want(C_UFFD, 1))
				fail(C_UFFD, "write to a write-protected page: no WP fault");
			w.mode = 0;
			if (ioctl(uo.fd, UFFDIO_WRITEPROTECT, &w))
				fail(C_UFFD, "UFFDIO_WRITEPROTECT off: %s", strerror(errno));
			check_fill(C_UFFD, "page 0 after WP", uo.base, page_size, pattern(1, gen));
		}
		if (move) {
			int at = UFFD_SHOWN + (int)(gen % UFFD_MOVE_SLOTS) * UFFD_MOVED;
			struct vt_uffdio_move mv = {
				.dst = (uintptr_t)uo.base + (size_t)at * page_size,
				.src = (uintptr_t)src, .len = UFFD_MOVED * page_size };

			fill_pages(src, UFFD_MOVED, 100, gen);
			if (ioctl(uo.fd, VT_UFFDIO_MOVE, &mv) == 0) {
				check_pages(C_UFFD, "moved", (char *)(uintptr_t)mv.dst, UFFD_MOVED,
					    100, gen);
				check_fill(C_UFFD, "moved from", src, UFFD_MOVED * page_size, 0);
			} else if (errno != EBUSY && errno != EAGAIN) {
				fail(C_UFFD, "UFFDIO_MOVE: %s", strerror(errno));
			}
		}
		if (set_mode) {
			struct vt_uffdio_rwprotect rw = {
				.range = { .start = (uintptr_t)rwp_area,
					   .len = RWP_PAGES * page_size },
				.mode = VT_UFFDIO_RWPROTECT_MODE_RWP };
			struct vt_uffdio_set_mode sm = { 0 };
			bool async = gen & 1;
			long toggled;

			fill_pages(rwp_area, RWP_PAGES, 200, gen);
			before = atomic_load(&uo.rwp_faults);
			/*
			 * Back to sync before protecting: a toucher's read in the
			 * async mode of the round before would lift the protection
			 * unreported, and the read below would then not fault.
			 */
			sm.disable = VT_UFFD_FEATURE_RWP_ASYNC;
			if (!async && SAT(rwp_area, RWP_PAGES * page_size,
					  ioctl(uo.fd, VT_UFFDIO_SET_MODE, &sm)))
				fail(C_UFFD, "UFFDIO_SET_MODE: %s", strerror(errno));
			if (ioctl(uo.fd, VT_UFFDIO_RWPROTECT, &rw))
				fail(C_UFFD, "UFFDIO_RWPROTECT: %s", strerror(errno));
			/* To async while the touchers' faults on it wait in the handler. */
			sm.disable = 0;
			sm.enable = VT_UFFD_FEATURE_RWP_ASYNC;
			if (async && SAT(rwp_area, RWP_PAGES * page_size,
					 ioctl(uo.fd, VT_UFFDIO_SET_MODE, &sm)))
				fail(C_UFFD, "UFFDIO_SET_MODE: %s", strerror(errno));
			toggled = atomic_load(&uo.rwp_faults);
			check_pages(C_UFFD, "read-write-protected", rwp_area, RWP_PAGES, 200, gen);
			if (!async &&
			    (u64)(atomic_load(&uo.rwp_faults) > before) != want(C_UFFD, 1))
				fail(C_UFFD,
				     "read of %d read-write-protected pages: no RWP fault (round %llu; reported before the toggle %ld, after %ld)",
				     RWP_PAGES, gen, toggled - before,
				     atomic_load(&uo.rwp_faults) - toggled);
			rw.mode = 0;
			if (ioctl(uo.fd, VT_UFFDIO_RWPROTECT, &rw))
				fail(C_UFFD, "UFFDIO_RWPROTECT off: %s", strerror(errno));
		}
		publish(A_UFFD, NULL, 0);
		/* Wakes the faults still waiting: they retry unregistered. */
		if (SAT(uo.base, len, ioctl(uo.fd, UFFDIO_UNREGISTER, &reg.range)))
			fail(C_UFFD, "UFFDIO_UNREGISTER: %s", strerror(errno));
		check_fill(C_UFFD, "copied page 0 unregistered", uo.base, page_size,
			   pattern(1, gen));
		atomic_fetch_add(&ops[C_UFFD], 1);
		pause_between_rounds();
	}
	publish(A_UFFD, NULL, 0);
	publish(A_UFFD_RWP, NULL, 0);
	if (set_mode) {
		struct uffdio_range r = { .start = (uintptr_t)rwp_area,
					  .len = RWP_PAGES * page_size };

		ioctl(uo.fd, UFFDIO_UNREGISTER, &r);
	}
	atomic_store(&uo.over, true);
	pthread_join(handler, NULL);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* numa: pages moved between nodes 0 and 1 under the faults              */

#define MPOL_BIND	2
#define MPOL_MF_STRICT	(1 << 0)
#define MPOL_MF_MOVE	(1 << 1)
#define NUMA_PAGES	16
#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node	450
#endif

/*
 * The cpuset rebind (mpol_rebind_mm(), which write-locks every VMA of each
 * mm in a cpuset whose mems change): a child of its own in a cpuset of its
 * own, its VMAs under an interleave policy, asks PROCMAP_QUERY about them,
 * named as a sitter so that the monitor holds those read locks, while the
 * parent changes the cpuset's mems and back. No check of its own: the
 * monitor's (stable_while_read_locked, the policy's nodes) are the checks.
 * The child execs this program again (--rebind-child): a fork's copy of
 * every VMA of the stressor would make each rebind slow, and a child forked
 * from threads may make only system calls until it execs.
 */
#define MPOL_INTERLEAVE	3
#define REBIND_CG	"/sys/fs/cgroup/vmalock_rebind"
#define REBIND_VMAS	4

static struct {
	pid_t pid;
	int go, entered;	/* pipes' ends: 'g' go, 's' stop; 'e' entered */
} rebind = { .pid = -1, .go = -1, .entered = -1 };

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Never returns: _exit(). */
static void rebind_child(int go, int entered)
{
	unsigned long nodes = 3;
	struct pollfd pfd = { .fd = go, .events = POLLIN };
	char *at[REBIND_VMAS], c;
	unsigned int next = 0;
	int fd, i;

	prctl(PR_SET_NAME, "vmalock_sit");
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < REBIND_VMAS; i++) {
		/* Alternate protections: no two of them merge. */
		at[i] = mmap(NULL, 4 * page_size, PROT_READ | (i & 1 ? 0 : PROT_WRITE),
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (at[i] == MAP_FAILED || fd < 0)
			_exit(1);
		syscall(SYS_mbind, at[i], 4 * page_size, MPOL_INTERLEAVE, &nodes,
			8 * sizeof(nodes), 0);
	}
	while (read(go, &c, 1) == 1) {
		if (write(entered, "e", 1) != 1)
			_exit(1);
		do
			query_vma(fd, at[next++ % REBIND_VMAS]);
		while (poll(&pfd, 1, 0) == 0);
		if (read(go, &c, 1) != 1)	/* the 's' */
			break;
	}
	_exit(0);
}

/* @fd in decimal, without stdio: for a child forked from threads. */
static void fd_text(char *buf, int fd)
{
	char tmp[12];
	int n = 0;

	do
		tmp[n++] = '0' + fd % 10;
	while (fd /= 10);
	while (n)
		*buf++ = tmp[--n];
	*buf = 0;
}

/* The cgroup and the child; false (said as a skip) if the kernel cannot. */
static bool rebind_start(void)
{
	int go[2], entered[2];

	if (sit_fd < 0)
		return false;	/* no sitters, or no PROCMAP_QUERY: said already */
	if (mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL) && errno != EBUSY) {
		skip_errno(-1, "cpuset_rebind", "mount(cgroup2)");
		return false;
	}
	if (!write_file("/sys/fs/cgroup/cgroup.subtree_control", "+cpuset")) {
		skip_errno(-1, "cpuset_rebind", "cgroup.subtree_control +cpuset");
		return false;
	}
	if ((mkdir(REBIND_CG, 0755) && errno != EEXIST) ||
	    !write_file(REBIND_CG "/cpuset.mems", "0-1")) {
		skip_errno(-1, "cpuset_rebind", REBIND_CG "/cpuset.mems");
		return false;
	}
	/* The child's ends stay open across its exec. */
	if (pipe2(go, 0) || pipe2(entered, 0) || fcntl(go[1], F_SETFD, FD_CLOEXEC) ||
	    fcntl(entered[0], F_SETFD, FD_CLOEXEC))
		die("pipe2");
	rebind.pid = fork();
	if (rebind.pid < 0)
		die("fork");
	if (!rebind.pid) {
		char a[16], b[16];

		/* In the cpuset before the exec: its mm is made there. */
		if (!write_file(REBIND_CG "/cgroup.procs", "0"))
			_exit(1);
		fd_text(a, go[0]);
		fd_text(b, entered[1]);
		execl("/proc/self/exe", "vmalock_sit", "--rebind-child", a, b, (char *)NULL);
		_exit(1);
	}
	close(go[0]);
	close(entered[1]);
	rebind.go = go[1];
	rebind.entered = entered[0];
	return true;
}

/* Two rebinds of the child's mm, its sitter in it; false once the child is gone. */
static bool rebind_round(void)
{
	char c;

	if (write(rebind.go, "g", 1) != 1 || read(rebind.entered, &c, 1) != 1)
		return false;
	usleep(200);
	if (!write_file(REBIND_CG "/cpuset.mems", "0") ||
	    !write_file(REBIND_CG "/cpuset.mems", "0-1"))
		fail(C_NUMA, "cpuset.mems: %s", strerror(errno));
	return write(rebind.go, "s", 1) == 1;
}

static void rebind_stop(void)
{
	int status;

	if (rebind.pid < 0)
		return;
	close(rebind.go);	/* the child reads EOF and exits */
	close(rebind.entered);
	if (waitpid(rebind.pid, &status, 0) != rebind.pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status))
		fail(C_NUMA, "cpuset rebind child: status %#x", status);
	rebind.pid = -1;
	rmdir(REBIND_CG);
}

static void *numa_mover(void *arg)
{
	size_t len = NUMA_PAGES * page_size;
	void *pages[NUMA_PAGES];
	int status[NUMA_PAGES], nodes[NUMA_PAGES], i;
	bool home = true, rebinding;
	char *p;
	u64 gen = 0;

	(void)arg;
	if (access("/sys/devices/system/node/node1", F_OK)) {
		skip(C_NUMA, "numa", "one NUMA node (the guest boots with numa=fake=2)");
		return NULL;
	}
	p = map_isolated(len);
	/* A page a fork child maps too is not moved by MPOL_MF_MOVE. */
	if (madvise(p, len, MADV_DONTFORK))
		die("madvise(MADV_DONTFORK)");
	for (i = 0; i < NUMA_PAGES; i++)
		pages[i] = p + (size_t)i * page_size;
	publish(A_NUMA, p, len);
	rebinding = rebind_start();
	while (go_on(C_NUMA)) {
		int node = ++gen & 1;
		unsigned long mask = 1UL << node, old = 1UL << !node;

		fill_pages(p, NUMA_PAGES, 1, gen);
		/* STRICT: success means every page is on the node now. */
		if (SAT(p, len, syscall(SYS_mbind, p, len, MPOL_BIND, &mask, 8 * sizeof(mask),
					MPOL_MF_MOVE | MPOL_MF_STRICT)) == 0) {
			if (syscall(SYS_move_pages, 0, NUMA_PAGES, pages, NULL, status, 0))
				die("move_pages");
			for (i = 0; i < NUMA_PAGES; i++)
				if ((u64)status[i] != want(C_NUMA, node))
					fail(C_NUMA, "page %d on node %d after mbind to node %d",
					     i, status[i], node);
		} else if (unsupported(errno)) {
			skip_errno(C_NUMA, "numa", "mbind(MPOL_BIND, MPOL_MF_MOVE)");
			break;
		} else if (errno != EIO && errno != EBUSY && errno != ENOMEM) {
			fail(C_NUMA, "mbind: %s", strerror(errno));
		}
		check_pages(C_NUMA, "after mbind", p, NUMA_PAGES, 1, gen);
		if (home && SAT(p, len, syscall(SYS_set_mempolicy_home_node, p, len, node, 0))) {
			if (unsupported(errno)) {
				skip_errno(-1, "set_mempolicy_home_node",
					   "set_mempolicy_home_node()");
				home = false;
			} else {
				fail(C_NUMA, "set_mempolicy_home_node: %s", strerror(errno));
			}
		}
		if (gen % 4 == 2) {
			/* Back by hand: a page said moved must be there. */
			for (i = 0; i < NUMA_PAGES; i++)
				nodes[i] = !node;
			if (syscall(SYS_move_pages, 0, NUMA_PAGES, pages, nodes, status,
				    MPOL_MF_MOVE) < 0)
				fail(C_NUMA, "move_pages: %s", strerror(errno));
			for (i = 0; i < NUMA_PAGES; i++)
				if (status[i] >= 0 && (u64)status[i] != want(C_NUMA, !node))
					fail(C_NUMA, "page %d on node %d after move_pages to %d",
					     i, status[i], !node);
			check_pages(C_NUMA, "after move_pages", p, NUMA_PAGES, 1, gen);
		}
		if (gen == 3) {
			/* The whole process, from the other node to this one: once, it is slow. */
			if (syscall(SYS_migrate_pages, 0, 8 * sizeof(mask), &old, &mask) < 0)
				fail(C_NUMA, "migrate_pages: %s", strerror(errno));
			check_pages(C_NUMA, "after migrate_pages", p, NUMA_PAGES, 1, gen);
		}
		/* One round in 4: each rebind migrates the child's pages too. */
		if (rebinding && gen % 4 == 1 && !rebind_round()) {
			fail(C_NUMA, "the cpuset rebind child is gone");
			rebinding = false;
		}
		atomic_fetch_add(&ops[C_NUMA], 1);
		pause_between_rounds();
	}
	rebind_stop();
	publish(A_NUMA, NULL, 0);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* ksm: identical pages merged by ksmd; writes after that stay private   */

#define KSM_PAGES	32
static atomic_long ksm_merged;

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

#define VT_PR_SET_MEMORY_MERGE	67	/* Linux 6.4 */

static void *ksm_merger(void *arg)
{
	bool merge_any = true;
	size_t len = KSM_PAGES * page_size;
	char *p = map_isolated(len), *bare = map_isolated(page_size);
	unsigned int seed = 9;
	u64 gen = 0;

	(void)arg;
	if (madvise(p, len, MADV_DONTFORK))
		die("madvise(MADV_DONTFORK)");
	if (read_long("/sys/kernel/mm/ksm/run") != 1)
		printf("# ksm: ksmd is not running (/sys/kernel/mm/ksm/run): no merges\n");
	publish(A_KSM, p, len);
	while (go_on(C_KSM)) {
		u64 same = pattern(0x4b, ++gen), mine = pattern(0x4c, gen);
		int k = rand_r(&seed) % KSM_PAGES, i, tries;
		long merged = 0;

		/*
		 * Every VMA of the process mergeable and back at once
		 * (ksm_add_vmas(), ksm_del_vmas() write-lock each): before
		 * ksmd has merged much, so that the others' pages stay theirs;
		 * one round in four, as it costs ksmd its merges of the round.
		 * The sitter is in a VMA never faulted: one with an anon_vma is
		 * write-locked by break_ksm()'s page walk first.
		 */
		if (merge_any && gen % 4 == 1 &&
		    (SAT(bare, page_size, prctl(VT_PR_SET_MEMORY_MERGE, 1, 0, 0, 0)) ||
		     SAT(bare, page_size, prctl(VT_PR_SET_MEMORY_MERGE, 0, 0, 0, 0)))) {
			skip_errno(-1, "ksm_merge_any", "prctl(PR_SET_MEMORY_MERGE)");
			merge_any = false;
		}

		fill(p, len, same);
		if (SAT(p, len, madvise(p, len, 12 /* MADV_MERGEABLE */))) {
			skip_errno(C_KSM, "ksm", "madvise(MADV_MERGEABLE)");
			break;
		}
		/* Give ksmd two scans' time to merge some. */
		for (tries = 0; tries < 20 && merged <= 0 && !atomic_load(&hard_stop); tries++) {
			usleep(10000);
			merged = read_long("/proc/self/ksm_merging_pages");
		}
		if (merged > 0)
			atomic_fetch_add(&ksm_merged, merged);
		/* A write to a merged page breaks COW: the others keep theirs. */
		fill(p + (size_t)k * page_size, page_size, mine);
		for (i = 0; i < KSM_PAGES; i++)
			check_fill(C_KSM, i == k ? "written page" : "merged page",
				   p + (size_t)i * page_size, page_size, i == k ? mine : same);
		if (SAT(p, len, madvise(p, len, 13 /* MADV_UNMERGEABLE */)))
			fail(C_KSM, "madvise(MADV_UNMERGEABLE): %s", strerror(errno));
		for (i = 0; i < KSM_PAGES; i++)
			check_fill(C_KSM, "unmerged page", p + (size_t)i * page_size, page_size,
				   i == k ? mine : same);
		atomic_fetch_add(&ops[C_KSM], 1);
		pause_between_rounds();
	}
	publish(A_KSM, NULL, 0);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* swap: paged out, faulted back in by the touchers and the checker      */

#define SWAP_PAGES	32
static atomic_long swapped_out;

static bool swap_active(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[256];
	int n = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;
}

static void *swapper(void *arg)
{
	size_t len = SWAP_PAGES * page_size;
	int pm, i;
	char *p;
	u64 gen = 0;

	(void)arg;
	if (!swap_active()) {
		skip(C_SWAP, "swap", "no swap active (/proc/swaps lists none)");
		return NULL;
	}
	pm = open_pagemap();
	p = map_isolated(len);
	/* A page a fork child maps too is not paged out. */
	if (madvise(p, len, MADV_DONTFORK))
		die("madvise(MADV_DONTFORK)");
	publish(A_SWAP, p, len);
	while (go_on(C_SWAP)) {
		fill_pages(p, SWAP_PAGES, 1, ++gen);
		if (madvise(p, len, 21 /* MADV_PAGEOUT */)) {
			skip_errno(C_SWAP, "madvise_pageout_swap", "madvise(MADV_PAGEOUT)");
			break;
		}
		for (i = 0; i < SWAP_PAGES; i++)
			if (pagemap_of(pm, p + (size_t)i * page_size) & PM_SWAPPED)
				atomic_fetch_add(&swapped_out, 1);
		usleep(1000);	/* the touchers fault some back in */
		check_pages(C_SWAP, "swapped in", p, SWAP_PAGES, 1, gen);
		atomic_fetch_add(&ops[C_SWAP], 1);
		pause_between_rounds();
	}
	publish(A_SWAP, NULL, 0);
	close(pm);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* hugetlb: a MAP_HUGETLB page faulted at once, unmapped, mapped again   */

static void *hugetlber(void *arg)
{
	int n = HPAGE_SIZE / page_size;
	u64 gen = 0;

	(void)arg;
	if (read_long("/proc/sys/vm/nr_hugepages") <= 0) {
		skip(C_HUGETLB, "hugetlb", "no huge pages reserved (/proc/sys/vm/nr_hugepages 0)");
		return NULL;
	}
	while (go_on(C_HUGETLB)) {
		char *p = map_anon(NULL, HPAGE_SIZE, MAP_HUGETLB);

		if (p == MAP_FAILED) {
			skip_errno(C_HUGETLB, "hugetlb", "mmap(MAP_HUGETLB)");
			break;
		}
		/* A fork child's COW of it could take the only free huge page. */
		if (madvise(p, HPAGE_SIZE, MADV_DONTFORK))
			die("madvise(MADV_DONTFORK)");
		publish(A_HUGETLB, p, HPAGE_SIZE);
		fill_pages(p, n, 1, ++gen);
		check_pages(C_HUGETLB, "huge page", p, n, 1, gen);
		publish(A_HUGETLB, NULL, 0);
		if (SAT(p, HPAGE_SIZE, munmap(p, HPAGE_SIZE)))
			die("munmap");
		atomic_fetch_add(&ops[C_HUGETLB], 1);
		pause_between_rounds();
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* mseal: a sealed range refuses mprotect, munmap, mremap; keeps contents */

#ifndef SYS_mseal
#define SYS_mseal	462
#endif
#define MSEAL_KEPT	32	/* sealed ranges are never freed: so many at most */

static void check_sealed(char *s, size_t len, u64 gen)
{
	struct {
		const char *name;
		int r;
	} calls[3];
	int i;

	calls[0].name = "mprotect";
	calls[0].r = mprotect(s, len, PROT_READ) ? errno : 0;
	calls[1].name = "munmap";
	calls[1].r = munmap(s, page_size) ? errno : 0;
	calls[2].name = "mremap";
	calls[2].r = mremap(s, len, 2 * len, MREMAP_MAYMOVE) == MAP_FAILED ? errno : 0;
	for (i = 0; i < 3; i++)
		if ((u64)calls[i].r != want(C_MSEAL, EPERM))
			fail(C_MSEAL, "%s of a sealed range: %s, want errno %llu", calls[i].name,
			     calls[i].r ? strerrorname_np(calls[i].r) : "success",
			     want(C_MSEAL, EPERM));
	check_pages(C_MSEAL, "sealed", s, len / page_size, 1, gen);
}

static void *sealer(void *arg)
{
	char *sealed[MSEAL_KEPT];
	unsigned int seed = 10;
	size_t len = 2 * page_size;
	int nr = 0;
	u64 gen = 0;

	(void)arg;
	while (go_on(C_MSEAL)) {
		char *s;

		gen++;
		if (nr < MSEAL_KEPT && gen % 2 == 0) {
			/* A whole VMA sealed: mseal()'s own write lock decides. */
			s = map_isolated(len);
			fill_pages(s, 2, 1, gen);
			publish(A_MSEAL, s, len);
			if (SAT(s, len, syscall(SYS_mseal, s, len, 0))) {
				skip_errno(C_MSEAL, "mseal", "mseal()");
				break;
			}
			sealed[nr++] = s;
		} else if (nr < MSEAL_KEPT) {
			/* Four pages, the middle two sealed: the VMA splits. */
			char *p = map_anon(NULL, 4 * page_size, 0);

			if (p == MAP_FAILED)
				die("mmap");
			s = p + page_size;
			fill_pages(s, 2, 1, gen);
			publish(A_MSEAL, p, 4 * page_size);
			if (SAT(p, 4 * page_size, syscall(SYS_mseal, s, len, 0))) {
				skip_errno(C_MSEAL, "mseal", "mseal()");
				break;
			}
			/* The unsealed ends go as before. */
			publish(A_MSEAL, s, len);
			if (SAT(p, 4 * page_size,
				munmap(p, page_size) || munmap(s + len, page_size)))
				fail(C_MSEAL, "munmap next to a sealed range: %s", strerror(errno));
			sealed[nr++] = s;
		} else {
			s = sealed[rand_r(&seed) % nr];
			publish(A_MSEAL, s, len);
			fill_pages(s, 2, 1, gen);
		}
		check_sealed(s, len, gen);
		atomic_fetch_add(&ops[C_MSEAL], 1);
		pause_between_rounds();
	}
	publish(A_MSEAL, NULL, 0);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* guard: guard regions installed in a range being faulted               */

#define MADV_GUARD_INSTALL	102
#define MADV_GUARD_REMOVE	103
#define GUARD_PAGES	16

static void *guarder(void *arg)
{
	size_t len = GUARD_PAGES * page_size;
	char *p = map_isolated(len);
	unsigned int seed = 11;
	sigjmp_buf jb;
	volatile int k;
	u64 gen = 0;

	(void)arg;
	publish(A_GUARD, p, len);
	segv_jump = &jb;
	while (go_on(C_GUARD)) {
		int start = rand_r(&seed) % GUARD_PAGES;
		int n = 1 + rand_r(&seed) % (GUARD_PAGES - start), i;
		char *g = p + (size_t)start * page_size;

		fill_pages(p, GUARD_PAGES, 1, ++gen);
		if (madvise(g, (size_t)n * page_size, MADV_GUARD_INSTALL)) {
			skip_errno(C_GUARD, "madvise_guard", "madvise(MADV_GUARD_INSTALL)");
			break;
		}
		for (k = 0; k < n; k++) {
			volatile bool segv = true;

			if (!sigsetjmp(jb, 1)) {
				(void)get((u64 *)(g + (size_t)k * page_size));
				segv = false;
			}
			if ((u64)segv != want(C_GUARD, 1))
				fail(C_GUARD, "a read of guard page %d: %s", start + k,
				     segv ? "SIGSEGV" : "no SIGSEGV");
		}
		for (i = 0; i < GUARD_PAGES; i++)
			if (i < start || i >= start + n)
				check_pages(C_GUARD, "beside the guard", p + (size_t)i * page_size,
					    1, i + 1, gen);
		if (madvise(g, (size_t)n * page_size, MADV_GUARD_REMOVE))
			fail(C_GUARD, "MADV_GUARD_REMOVE: %s", strerror(errno));
		check_fill(C_GUARD, "guard removed", g, (size_t)n * page_size, 0);
		atomic_fetch_add(&ops[C_GUARD], 1);
		pause_between_rounds();
	}
	segv_jump = NULL;
	publish(A_GUARD, NULL, 0);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* process_madvise: on the own pidfd, across ranges being faulted         */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise	440
#endif

static void *pmadviser(void *arg)
{
	static const struct advice pm_advices[] = {
		{ "cold", 20, false, false },
		{ "pageout", 21, false, false },
		{ "collapse", 25, false, false },
	};
	bool off[ARRAY_SIZE(pm_advices)] = { false };
	int n = HPAGE_SIZE / page_size, pidfd, nr_off = 0;
	char *p = map_hpage_aligned();
	unsigned int seed = 12, a;
	u64 gen = 0;

	(void)arg;
	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0) {
		skip_errno(C_PMADV, "process_madvise", "pidfd_open()");
		return NULL;
	}
	if (madvise(p, HPAGE_SIZE, MADV_DONTFORK))
		die("madvise(MADV_DONTFORK)");
	/* Each advice the kernel takes or not, asked with no range (see collapser()). */
	for (a = 0; a < ARRAY_SIZE(pm_advices); a++) {
		struct iovec none = { .iov_base = p, .iov_len = 0 };
		char feature[40];

		if (!syscall(SYS_process_madvise, pidfd, &none, 1, pm_advices[a].advice, 0))
			continue;
		if (!unsupported(errno) && errno != EPERM)
			die("process_madvise");
		snprintf(feature, sizeof(feature), "%s_process_madvise", pm_advices[a].name);
		skip_errno(-1, feature, "process_madvise()");
		off[a] = true;
		if (++nr_off == (int)ARRAY_SIZE(pm_advices))
			skip(C_PMADV, "process_madvise", "no advice taken");
	}
	publish(A_PMADV, p, HPAGE_SIZE);
	while (go_on(C_PMADV) && nr_off < (int)ARRAY_SIZE(pm_advices)) {
		struct iovec iov[3];
		/* Up to 32 pages each: paging out more holds mmap_lock too long. */
		int i, cut1 = 1 + rand_r(&seed) % 32, cut2 = n - 1 - rand_r(&seed) % 32;

		a = ++gen % ARRAY_SIZE(pm_advices);
		if (off[a])
			continue;
		fill_pages(p, n, 1, gen);
		/* Two ranges with a gap between, or the whole huge page for collapse. */
		iov[0].iov_base = p;
		iov[0].iov_len = (size_t)cut1 * page_size;
		iov[1].iov_base = p + (size_t)cut2 * page_size;
		iov[1].iov_len = (size_t)(n - cut2) * page_size;
		iov[2].iov_base = p;
		iov[2].iov_len = HPAGE_SIZE;
		i = a == 2 ? 2 : 0;	/* collapse: the whole huge page */
		if (SAT(p, HPAGE_SIZE, syscall(SYS_process_madvise, pidfd, iov + i, a == 2 ? 1 : 2,
					       pm_advices[a].advice, 0)) < 0 &&
		    errno != EAGAIN && errno != ENOMEM && errno != EBUSY &&
		    /* A collapse that lost a race: see collapser(). */
		    !(errno == EINVAL && a == 2))
			fail(C_PMADV, "process_madvise(%s): %s", pm_advices[a].name,
			     strerror(errno));
		check_pages(C_PMADV, pm_advices[a].name, p, n, 1, gen);
		atomic_fetch_add(&ops[C_PMADV], 1);
		pause_between_rounds();
	}
	close(pidfd);
	publish(A_PMADV, NULL, 0);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* clear_refs and PAGEMAP_SCAN: soft-dirty and present pages as written  */

struct vt_page_region {
	u64 start, end, categories;
};

struct vt_pm_scan_arg {
	u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define VT_PAGEMAP_SCAN		_IOWR('f', 16, struct vt_pm_scan_arg)
#define VT_PAGE_IS_PRESENT	(1 << 3)
#define VT_PAGE_IS_SWAPPED	(1 << 4)
#define VT_PAGE_IS_SOFT_DIRTY	(1 << 7)
#define PM_PAGES	8	/* touched by all; as many after, checked */

/* Write "4" to clear_refs: every soft-dirty bit and VMA flag of the process clears. */
static bool clear_soft_dirty(void)
{
	return write_file("/proc/self/clear_refs", "4");
}

static void *pagemapper(void *arg)
{
	size_t len = 2 * PM_PAGES * page_size;
	char *p = map_isolated(len), *c = p + PM_PAGES * page_size;
	struct vt_page_region regions[PM_PAGES];
	bool soft_dirty, scan = true;
	int pm = open_pagemap(), k;
	u64 gen = 0;

	(void)arg;
	/* A new VMA is soft-dirty whole, if the kernel has the bit at all. */
	fill(c, page_size, 1);
	soft_dirty = pagemap_of(pm, c) & PM_SOFT_DIRTY;
	if (!soft_dirty)
		skip(C_CLEAR_REFS, "clear_refs",
		     "pagemap shows no soft-dirty bit on a new mapping (no CONFIG_MEM_SOFT_DIRTY)");
	publish(A_PAGEMAP, p, PM_PAGES * page_size);
	while ((scan && go_on(C_PAGEMAP_SCAN)) || (soft_dirty && go_on(C_CLEAR_REFS))) {
		struct vt_pm_scan_arg sa = {
			.size = sizeof(sa), .start = (uintptr_t)c,
			.end = (uintptr_t)c + PM_PAGES * page_size,
			.vec = (uintptr_t)regions, .vec_len = PM_PAGES,
			/*
			 * Present, or on its way to another node: the numa
			 * class's migrate_pages() moves every page of the
			 * process, and a page under migration is a swap entry.
			 */
			.category_anyof_mask = VT_PAGE_IS_PRESENT | VT_PAGE_IS_SWAPPED,
			.return_mask = VT_PAGE_IS_PRESENT | VT_PAGE_IS_SWAPPED |
				       VT_PAGE_IS_SOFT_DIRTY };
		bool written[PM_PAGES], found[PM_PAGES] = { false };
		int nr;

		gen++;
		if (madvise(c, PM_PAGES * page_size, MADV_DONTNEED))
			die("madvise(MADV_DONTNEED)");
		if (soft_dirty && !SAT(c, PM_PAGES * page_size, clear_soft_dirty())) {
			skip_errno(C_CLEAR_REFS, "clear_refs",
				   "write of 4 to /proc/self/clear_refs");
			soft_dirty = false;
		}
		for (k = 0; soft_dirty && k < PM_PAGES; k++)
			if (!!(pagemap_of(pm, c + (size_t)k * page_size) & PM_SOFT_DIRTY) !=
			    want(C_CLEAR_REFS, 0))
				fail(C_CLEAR_REFS, "page %d soft-dirty after clear_refs", k);
		for (k = 0; k < PM_PAGES; k++) {
			written[k] = (k + gen) % 3 == 0;
			if (written[k])
				fill(c + (size_t)k * page_size, page_size, pattern(k + 1, gen));
		}
		if (soft_dirty) {
			for (k = 0; k < PM_PAGES; k++) {
				u64 e = pagemap_of(pm, c + (size_t)k * page_size);

				if (!!(e & PM_SOFT_DIRTY) != want(C_CLEAR_REFS, written[k]))
					fail(C_CLEAR_REFS, "page %d %swritten, soft-dirty bit %s",
					     k, written[k] ? "" : "not ",
					     written[k] ? "clear" : "set");
			}
			atomic_fetch_add(&ops[C_CLEAR_REFS], 1);
		}
		if (scan) {
			nr = ioctl(pm, VT_PAGEMAP_SCAN, &sa);
			if (nr < 0 && unsupported(errno)) {
				skip_errno(C_PAGEMAP_SCAN, "pagemap_scan", "ioctl(PAGEMAP_SCAN)");
				scan = false;
			} else if (nr < 0) {
				fail(C_PAGEMAP_SCAN, "ioctl(PAGEMAP_SCAN): %s", strerror(errno));
			}
			while (nr-- > 0) {
				u64 a;

				if (soft_dirty && !(regions[nr].categories & VT_PAGE_IS_SOFT_DIRTY))
					fail(C_PAGEMAP_SCAN, "written pages found not soft-dirty");
				for (a = regions[nr].start; a < regions[nr].end; a += page_size)
					if (a >= sa.start && a < sa.end)
						found[(a - sa.start) / page_size] = true;
			}
			for (k = 0; scan && k < PM_PAGES; k++)
				if (found[k] != want(C_PAGEMAP_SCAN, written[k]))
					fail(C_PAGEMAP_SCAN, "page %d %swritten, %sfound present",
					     k, written[k] ? "" : "not ", found[k] ? "" : "not ");
		}
		for (k = 0; k < PM_PAGES; k++)
			check_fill(scan ? C_PAGEMAP_SCAN : C_CLEAR_REFS, "scanned page",
				   c + (size_t)k * page_size, page_size,
				   written[k] ? pattern(k + 1, gen) : 0);
		if (scan)
			atomic_fetch_add(&ops[C_PAGEMAP_SCAN], 1);
		pause_between_rounds();
		if (!scan && !soft_dirty)
			break;
	}
	publish(A_PAGEMAP, NULL, 0);
	close(pm);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Whole VMAs: mlock, mprotect and madvise on exact VMA boundaries, so    */
/* that no split write-locks first and the caller's own                 */
/* vma_start_write() (mlock_fixup, mprotect_fixup, madvise_update_vma)  */
/* is the one that counts                                               */

#define WHOLE_SLOTS	4
#define WHOLE_PAGES	4

struct whole {
	int cls, area;
	char *slot[WHOLE_SLOTS];
	unsigned int seed;
	u64 gen;
};

/* The next slot, filled and shown to the touchers. */
static char *whole_next(struct whole *w)
{
	char *s = w->slot[rand_r(&w->seed) % WHOLE_SLOTS];

	publish(w->area, s, WHOLE_PAGES * page_size);
	fill_pages(s, WHOLE_PAGES, 1, ++w->gen);
	return s;
}

static void whole_init(struct whole *w, int cls, int area)
{
	int i;

	w->cls = cls;
	w->area = area;
	w->seed = 13 + cls;
	w->gen = 0;
	for (i = 0; i < WHOLE_SLOTS; i++)
		w->slot[i] = map_isolated(WHOLE_PAGES * page_size);
}

static void *mlock_whole(void *arg)
{
	size_t len = WHOLE_PAGES * page_size;
	unsigned char vec[WHOLE_PAGES];
	struct whole w;
	int i;

	(void)arg;
	whole_init(&w, C_MLOCK_WHOLE, A_MLOCK_WHOLE);
	while (go_on(C_MLOCK_WHOLE)) {
		char *s = whole_next(&w);

		if (madvise(s, len, MADV_DONTNEED))
			die("madvise(MADV_DONTNEED)");
		fill_pages(s, WHOLE_PAGES / 2, 1, w.gen);
		if (SAT(s, len, mlock(s, len))) {
			if (errno == ENOMEM || errno == EPERM) {
				skip_errno(C_MLOCK_WHOLE, "mlock_whole", "mlock()");
				break;
			}
			die("mlock");
		}
		if (mincore(s, len, vec))
			die("mincore");
		for (i = 0; i < WHOLE_PAGES; i++)
			if ((vec[i] & 1) != want(C_MLOCK_WHOLE, 1))
				fail(C_MLOCK_WHOLE, "page %d of an mlock()ed VMA not present", i);
		check_pages(C_MLOCK_WHOLE, "mlock()ed", s, WHOLE_PAGES / 2, 1, w.gen);
		check_fill(C_MLOCK_WHOLE, "mlock()ed, never written",
			   s + len / 2, len / 2, 0);
		if (SAT(s, len, munlock(s, len)))
			die("munlock");
		atomic_fetch_add(&ops[C_MLOCK_WHOLE], 1);
		pause_between_rounds();
	}
	publish(A_MLOCK_WHOLE, NULL, 0);
	return NULL;
}

static void *mprotect_whole(void *arg)
{
	size_t len = WHOLE_PAGES * page_size;
	struct whole w;

	(void)arg;
	whole_init(&w, C_MPROTECT_WHOLE, A_MPROTECT_WHOLE);
	while (go_on(C_MPROTECT_WHOLE)) {
		char *s = whole_next(&w);
		int prot = PROT_READ | PROT_WRITE | (w.gen & 1 ? PROT_EXEC : 0);

		if (SAT(s, len, mprotect(s, len, prot)))
			fail(C_MPROTECT_WHOLE, "mprotect: %s", strerror(errno));
		check_pages(C_MPROTECT_WHOLE, "mprotect()ed", s, WHOLE_PAGES, 1, w.gen);
		atomic_fetch_add(&ops[C_MPROTECT_WHOLE], 1);
		pause_between_rounds();
	}
	publish(A_MPROTECT_WHOLE, NULL, 0);
	return NULL;
}

static void *madvise_whole(void *arg)
{
	size_t len = WHOLE_PAGES * page_size;
	bool off[NR_ADVICES] = { false };
	struct whole w;

	(void)arg;
	whole_init(&w, C_MADVISE_WHOLE, A_MADVISE_WHOLE);
	while (go_on(C_MADVISE_WHOLE)) {
		unsigned int a = (w.gen + 1) % NR_ADVICES;
		const struct advice *adv = &advices[a];
		char *s;

		/*
		 * userfaultfd too: a register and unregister of a whole VMA,
		 * whose userfaultfd_set_ctx() lock no split has taken before.
		 */
		if (off[a]) {
			w.gen++;
			continue;
		}
		s = whole_next(&w);
		fill(s, len, w.gen);	/* one value, as check_advice() wants */
		if (advise(adv, s, len, w.gen)) {
			if (advice_refused(adv)) {
				off[a] = true;
				continue;
			}
			if (errno != EAGAIN && errno != ENOMEM) {
				fail(C_MADVISE_WHOLE, "madvise(%s): %s", adv->name,
				     strerror(errno));
				continue;
			}
		}
		check_advice(C_MADVISE_WHOLE, adv, s, len, s, len, w.gen);
		atomic_fetch_add(&ops[C_MADVISE_WHOLE], 1);
		pause_between_rounds();
	}
	publish(A_MADVISE_WHOLE, NULL, 0);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* mmu_notifier: a device mirror of the process (lib/test_hmm.c). The    */
/* first one registers an MMU notifier on the mm: mm_take_all_locks()    */
/* write-locks every VMA. The mirror then reads pages as the CPU wrote   */
/* them.                                                                 */

/* lib/test_hmm_uapi.h */
struct vt_hmm_dmirror_cmd {
	u64 addr, ptr, npages, cpages, faults;
};

#define VT_HMM_DMIRROR_READ	_IOWR('H', 0x00, struct vt_hmm_dmirror_cmd)
#define HMM_PAGES		16

static void *notifier(void *arg)
{
	size_t len = HMM_PAGES * page_size;
	char *p = map_anon(NULL, len, 0), *buf = malloc(len);
	u64 gen = 0;
	int fd;

	(void)arg;
	if (p == MAP_FAILED || !buf)
		die("mmap");
	fd = SAT(region, (size_t)nr_pages * page_size,
		 open("/dev/hmm_dmirror0", O_RDWR | O_CLOEXEC));
	if (fd < 0) {
		skip_errno(C_NOTIFIER, "mmu_notifier", "open(/dev/hmm_dmirror0) (CONFIG_TEST_HMM)");
		return NULL;
	}
	publish(A_NOTIFIER, p, len);
	while (go_on(C_NOTIFIER)) {
		struct vt_hmm_dmirror_cmd cmd = { .addr = (uintptr_t)p, .ptr = (uintptr_t)buf,
						  .npages = HMM_PAGES };

		fill_pages(p, HMM_PAGES, 1, ++gen);
		memset(buf, 0, len);
		if (ioctl(fd, VT_HMM_DMIRROR_READ, &cmd)) {
			if (errno != EBUSY && errno != EAGAIN && errno != EFAULT)
				fail(C_NOTIFIER, "HMM_DMIRROR_READ: %s", strerror(errno));
			continue;
		}
		check_pages(C_NOTIFIER, "read by the device mirror", buf, HMM_PAGES, 1, gen);
		atomic_fetch_add(&ops[C_NOTIFIER], 1);
		pause_between_rounds();
	}
	publish(A_NOTIFIER, NULL, 0);
	close(fd);
	free(buf);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* touch: faults at random pages of every range, where they may be moving */

static void *toucher(void *arg)
{
	unsigned int seed = 7 + (unsigned int)(intptr_t)arg;
	sigjmp_buf jb;

	segv_jump = &jb;
	while (!atomic_load(&stop)) {
		int a = rand_r(&seed) % NR_AREAS, i;
		uintptr_t base = atomic_load(&areas[a].base);
		size_t len = atomic_load(&areas[a].len);

		if (!base || len < (size_t)page_size)
			continue;
		if (sigsetjmp(jb, 1)) {
			atomic_fetch_add(&touch_segv, 1);
			continue;
		}
		for (i = 0; i < 8; i++) {
			u64 *w = (u64 *)(base + (rand_r(&seed) % (len / page_size)) * page_size);

			/* A write access that keeps every value, racing or not. */
			__atomic_fetch_add(w, 0, __ATOMIC_RELAXED);
		}
		atomic_fetch_add(&ops[C_TOUCH], 1);
	}
	segv_jump = NULL;
	return NULL;
}

/* ------------------------------------------------------------------ */

static const struct kind {
	const char *name;
	void *(*body)(void *arg);
	int *count;	/* threads of this kind, NULL: one */
} kinds[] = {
	{ "writer", writer, &nr_writers },
	{ "fork", forker, NULL },
	{ "mprotect", splitter, NULL },
	{ "mremap", remapper, NULL },
	{ "munmap", unmapper, NULL },
	{ "newmap", newmapper, NULL },
	{ "newtouch", newtoucher, NULL },
	{ "newtouch", newtoucher, NULL },
	{ "growsdown", stacker, NULL },
	{ "madvise", madviser, NULL },
	{ "mlock", mlocker, NULL },
	{ "procmaps", procmaps, NULL },
	{ "mapschurn", mapschurn, NULL },
	{ "collapse", collapser, NULL },
	{ "collapse", collapse_dropper, NULL },
	{ "uffd_ops", uffd_ops, NULL },
	{ "numa", numa_mover, NULL },
	{ "ksm", ksm_merger, NULL },
	{ "swap", swapper, NULL },
	{ "hugetlb", hugetlber, NULL },
	{ "mseal", sealer, NULL },
	{ "guard", guarder, NULL },
	{ "process_madvise", pmadviser, NULL },
	{ "pagemap", pagemapper, NULL },
	{ "mlock_whole", mlock_whole, NULL },
	{ "mprotect_whole", mprotect_whole, NULL },
	{ "madvise_whole", madvise_whole, NULL },
	{ "mmu_notifier", notifier, NULL },
	{ "touch", toucher, NULL },
	{ "touch", toucher, NULL },
};

#define NR_KINDS	ARRAY_SIZE(kinds)

/*
 * Every thread waits at the start line until all are made: each
 * pthread_create() maps a stack, and on a slow guest the threads already
 * running (mprotect, fork, collapse...) would keep the main thread's mmap()
 * waiting for mmap_lock so long that the run never really began.
 */
static pthread_barrier_t start_line;
static struct start {
	void *(*body)(void *arg);
	void *arg;
} starts[MAX_THREADS];

static void *start_thread(void *arg)
{
	struct start *st = arg;

	pthread_barrier_wait(&start_line);
	return st->body(st->arg);
}

/* The classes each kind checks, for -k: a class whose kind is off is not run. */
static const char *const class_kind[NR_CLASSES] = {
	"writer", "fork", "mprotect", "mremap", "mremap", "munmap", "newmap",
	"growsdown", "madvise", "mlock", "procmaps", "procmaps", "procmaps", "collapse",
	"uffd_ops", "numa", "ksm", "swap", "hugetlb", "mseal", "guard", "process_madvise",
	"pagemap", "pagemap", "mlock_whole", "mprotect_whole", "madvise_whole",
	"mmu_notifier", "touch",
};

static int number(const char *opt, const char *s, int min, int max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < min || v > max) {
		fprintf(stderr, "vmalock_user_stress: %s takes %d..%d, got '%s'\n",
			opt, min, max, s);
		exit(2);
	}
	return (int)v;
}

/* Comma-separated lists: the item after s, and whether s starts with name. */
static const char *next_item(const char *s)
{
	s = strchr(s, ',');
	return s ? s + 1 : NULL;
}

static bool is_item(const char *s, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(s, name, n) && (s[n] == ',' || s[n] == '\0');
}

static bool in_list(const char *list, const char *name)
{
	const char *s;

	for (s = list; s; s = next_item(s))
		if (is_item(s, name))
			return true;
	return false;
}

/*
 * --selftest-maps FILE [START-END...] [cover:START-END]: the maps checker on
 * a given text: fixed ranges, and a range that must be covered.
 */
static int selftest_maps(int argc, char **argv, bool smaps)
{
	struct range r[64], covered = { 0 };
	bool have_cover = false;
	size_t size;
	char *text;
	int fd, i, n = 0, problems;

	if (argc < 3) {
		fprintf(stderr, "usage: %s %s FILE [START-END...] [cover:START-END]\n",
			argv[0], argv[1]);
		return 2;
	}
	for (i = 3; i < argc; i++) {
		const char *hex = "0123456789abcdefABCDEF";
		bool cover = !strncmp(argv[i], "cover:", 6);
		const char *arg = argv[i] + (cover ? 6 : 0);
		const char *end = strchr(arg, '-');
		struct range *to = cover ? &covered : &r[n];

		if ((!cover && n == 64) || !end || strspn(arg, hex) != (size_t)(end - arg) ||
		    strspn(end + 1, hex) != strlen(end + 1) ||
		    sscanf(arg, "%lx-%lx", &to->start, &to->end) != 2 ||
		    to->start >= to->end) {
			fprintf(stderr,
				"vmalock_user_stress: bad range '%s': want START-END or cover:START-END in hex\n",
				argv[i]);
			return 2;
		}
		n += !cover;
		have_cover |= cover;
	}
	fd = open(argv[2], O_RDONLY);
	text = fd < 0 ? NULL : read_all(fd, &size);
	if (!text) {
		fprintf(stderr, "vmalock_user_stress: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	problems = check_maps_text(text, size, smaps, r, n, have_cover ? &covered : NULL, NULL,
				   smaps ? "smaps" : "maps");
	printf("# maps check: %s: %d problems\n", argv[2], problems);
	free(text);
	close(fd);
	return problems ? 1 : 0;
}

/* vma_lock_success, _abort and _retry of /proc/vmstat (PER_VMA_LOCK_STATS). */
static void vmstat_faults(long v[3])
{
	static const char *const key[3] = { "success", "abort", "retry" };
	char name[64];
	long n;
	FILE *f = fopen("/proc/vmstat", "r");
	int i;

	memset(v, 0, 3 * sizeof(*v));
	while (f && fscanf(f, "%63s %ld", name, &n) == 2)
		for (i = 0; i < 3; i++)
			if (!strncmp(name, "vma_lock_", 9) && !strcmp(name + 9, key[i]))
				v[i] = n;
	if (f)
		fclose(f);
}

static long faults0[3];

/* The first feature said skipped whose name ends in the class's, and why. */
static const char *skip_reason(int cls)
{
	size_t n = strlen(class_name[cls]), m;
	int i;

	for (i = 0; i < nr_said; i++) {
		m = strlen(said[i]);
		if (m >= n && !strcmp(said[i] + m - n, class_name[cls]))
			return said_why[i];
	}
	return "";
}

/*
 * -K: the verdicts as KTAP results, as kselftests print them: 1 user_stress
 * (no check failed), one per class (failed; skipped whole, with the reason
 * of its feature; or it ran at least once), and per_vma_faults (some faults
 * took the per-VMA lock, by /proc/vmstat). The plan was printed at the start.
 */
static void ktap_results(const char *only, long total_fails)
{
	long f1[3], ok, abort, retry;
	int i, n = 1;

	printf("%sok %d user_stress\n", total_fails ? "not " : "", n++);
	for (i = 0; i < NR_CLASSES; i++, n++) {
		if (only && !in_list(only, class_kind[i]))
			printf("ok %d %s # SKIP not selected (-k)\n", n, class_name[i]);
		else if (atomic_load(&fails[i]))
			printf("not ok %d %s\n", n, class_name[i]);
		else if (atomic_load(&skipped[i]))
			printf("ok %d %s # SKIP %s\n", n, class_name[i], skip_reason(i));
		else if (atomic_load(&ops[i]) > 0)
			printf("ok %d %s\n", n, class_name[i]);
		else
			printf("# %s: count %ld\nnot ok %d %s\n", class_name[i],
			       atomic_load(&ops[i]), n, class_name[i]);
	}
	vmstat_faults(f1);
	ok = f1[0] - faults0[0];
	abort = f1[1] - faults0[1];
	retry = f1[2] - faults0[2];
	printf("# per_vma_faults: vma_lock_success=%ld vma_lock_abort=%ld",
	       ok, abort);
	printf(" vma_lock_retry=%ld success_percent=%ld\n",
	       retry, ok * 100 / (ok + abort + retry + 1));
	if (ok <= 0)
		printf("# per_vma_faults: %s\n",
		       "every fault fell back to mmap_lock: the per-VMA path was not tested");
	printf("%sok %d per_vma_faults\n", ok > 0 ? "" : "not ", n);
	fflush(stdout);
}

static void usage(const char *prog)
{
	int i;

	fprintf(stderr, "usage: %s [-t seconds] [-w writers] [-p pages] [-s] [-S]\n"
		"       [-k kind,...] [-X class,...] [-K more]\n"
		"       %s --selftest-maps|--selftest-smaps FILE [START-END...]\nkinds:",
		prog, prog);
	for (i = 0; i < (int)NR_KINDS; i++)
		if (!i || strcmp(kinds[i].name, kinds[i - 1].name))
			fprintf(stderr, " %s", kinds[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	struct timespec grace;
	const char *only = NULL, *s;
	long total_fails = 0;
	int opt, i, j, n = 0;

	page_size = sysconf(_SC_PAGESIZE);
	if (argc == 4 && !strcmp(argv[1], "--rebind-child"))
		rebind_child(atoi(argv[2]), atoi(argv[3]));
	if (argc > 1 && !strcmp(argv[1], "--selftest-maps"))
		return selftest_maps(argc, argv, false);
	if (argc > 1 && !strcmp(argv[1], "--selftest-smaps"))
		return selftest_maps(argc, argv, true);
	while ((opt = getopt(argc, argv, "t:w:p:sSk:X:K:")) != -1) {
		switch (opt) {
		case 't':
			seconds = number("-t", optarg, 1, 3600);
			break;
		case 'w':
			nr_writers = number("-w", optarg, 1, 64);
			break;
		case 'p':
			nr_pages = number("-p", optarg, 1, 65536);
			break;
		case 's':
			shared = true;
			break;
		case 'S':
			no_sitters = true;
			break;
		case 'k':
			only = optarg;
			for (s = only; s; s = next_item(s)) {
				for (i = 0; i < (int)NR_KINDS; i++)
					if (is_item(s, kinds[i].name))
						break;
				if (i == (int)NR_KINDS) {
					fprintf(stderr,
						"vmalock_user_stress: -k: unknown kind '%.*s'\n",
						(int)strcspn(s, ","), s);
					usage(argv[0]);
				}
			}
			break;
		case 'K':
			ktap_more = number("-K", optarg, 0, 100);
			break;
		case 'X':
			if (!strcmp(optarg, "all")) {
				for (i = 0; i < NR_CLASSES; i++)
					if (i != C_TOUCH && i != C_MPROTECT)
						sabotage |= 1ULL << i;
				break;
			}
			for (s = optarg; s; s = next_item(s)) {
				for (i = 0; i < NR_CLASSES; i++)
					if (is_item(s, class_name[i]))
						break;
				if (i == NR_CLASSES || i == C_TOUCH || i == C_MPROTECT) {
					fprintf(stderr,
						"vmalock_user_stress: -X: no check to break in '%.*s'\n",
						(int)strcspn(s, ","), s);
					exit(2);
				}
				sabotage |= 1ULL << i;
			}
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmalock_user_stress: unexpected argument '%s'\n", argv[optind]);
		usage(argv[0]);
	}
	if (ktap_more >= 0) {
		/* user_stress, each class, per_vma_faults, then the caller's. */
		printf("KTAP version 1\n1..%d\n", NR_CLASSES + 2 + ktap_more);
		fflush(stdout);
		vmstat_faults(faults0);
	}
	if (sabotage) {
		printf("# broken checks:");
		for (i = 0, j = 0; i < NR_CLASSES; i++)
			if (sabotage & 1ULL << i)
				printf("%s%s", j++ ? "," : " ", class_name[i]);
		printf("\n");
	}
	signal(SIGSEGV, on_segv);
	sitters_init();
	region = mmap(NULL, (size_t)nr_pages * page_size, PROT_READ | PROT_WRITE,
		      (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		die("mmap");
	publish(A_MAIN, region, (size_t)nr_pages * page_size);
	if (!only || in_list(only, "procmaps") || in_list(only, "mapschurn"))
		setup_maps_slots();
	for (i = 0; i < (int)NR_KINDS; i++)
		if (!only || in_list(only, kinds[i].name))
			n += kinds[i].count ? *kinds[i].count : 1;
	if (n > MAX_THREADS) {
		fprintf(stderr, "vmalock_user_stress: %d threads, at most %d\n", n, MAX_THREADS);
		exit(2);
	}
	errno = pthread_barrier_init(&start_line, NULL, n + 1);
	if (errno)
		die("pthread_barrier_init");
	n = 0;
	for (i = 0; i < (int)NR_KINDS; i++) {
		if (only && !in_list(only, kinds[i].name))
			continue;
		for (j = 0; j < (kinds[i].count ? *kinds[i].count : 1); j++) {
			starts[n].body = kinds[i].body;
			starts[n].arg = (void *)(intptr_t)(kinds[i].count ? j : i & 1);
			errno = pthread_create(&th[n], NULL, start_thread, &starts[n]);
			n++;
			if (errno)
				die("pthread_create");
		}
	}
	pthread_barrier_wait(&start_line);
	sleep(seconds);
	atomic_store(&stop, true);
	/* Grace for classes that have not run once yet: as long again, plus 5 s. */
	clock_gettime(CLOCK_REALTIME, &grace);
	grace.tv_sec += seconds + 5;
	for (i = 0; i < n; i++)
		if (pthread_timedjoin_np(th[i], NULL, &grace)) {
			atomic_store(&hard_stop, true);
			pthread_join(th[i], NULL);
		}

	/* A class that should have run and did nothing in the grace time fails. */
	for (i = 0; i < NR_CLASSES; i++)
		if ((!only || in_list(only, class_kind[i])) && !atomic_load(&ops[i]) &&
		    !atomic_load(&skipped[i]) && !atomic_load(&fails[i]))
			fail(i, "never ran in %d s", 2 * seconds + 5);
	printf("# user_stress: seconds=%d writers=%d pages=%d", seconds, nr_writers, nr_pages);
	for (i = 0; i < NR_CLASSES; i++) {
		if (only && !in_list(only, class_kind[i]))
			continue;
		printf(" %s=%ld", class_name[i], atomic_load(&ops[i]));
		total_fails += atomic_load(&fails[i]);
	}
	printf(" touch_segv=%ld maps_overlaps=%ld collapsed=%ld ksm_merged=%ld swapped_out=%ld",
	       atomic_load(&touch_segv), atomic_load(&maps_overlaps), atomic_load(&collapsed),
	       atomic_load(&ksm_merged), atomic_load(&swapped_out));
	printf(" sits=%ld skips=%ld failed=", atomic_load(&sits), atomic_load(&nr_skips));
	for (i = 0, j = 0; i < NR_CLASSES; i++)
		if (atomic_load(&fails[i]))
			printf("%s%s", j++ ? "," : "", class_name[i]);
	printf("%s skipped=", j ? "" : "none");
	for (i = 0, j = 0; i < NR_CLASSES; i++)
		if (atomic_load(&skipped[i]))
			printf("%s%s", j++ ? "," : "", class_name[i]);
	printf("%s corruptions=%ld\n", j ? "" : "none", total_fails);
	if (ktap_more >= 0)
		ktap_results(only, total_fails);
	return total_fails ? 1 : 0;
}
