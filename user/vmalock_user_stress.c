// SPDX-License-Identifier: GPL-2.0
/*
 * vmalock_user_stress: page faults from user space, through the
 * architecture's real lock_vma_under_rcu() path, while other threads fork,
 * mprotect, mremap and munmap. The shape of the Linux 6.4 per-VMA lock
 * regression: fork() did not write-lock the parent's VMAs, so a fault racing
 * with fork could make a parent's later write show up in the child.
 *
 * Threads:
 *   writers   each owns every n-th page of a private anonymous region and
 *             fills it with (owner, generation) words, then verifies it
 *   forker    fork()s; the child checks that every page is whole and owned
 *             right, and that none changes after the fork
 *   splitter  mprotect()s sub-ranges of the region to split and merge VMAs
 *   remapper  mremap()s a scratch region (grow, shrink, move) and checks that
 *             its contents move with it
 *   unmapper  munmap()s and maps again scratch pages, checks they are fresh
 *
 * Usage: vmalock_user_stress [-t seconds] [-w writers] [-p pages] [-s]
 * Prints one line of counts and exits 0 if no corruption was seen, 1 if
 * any was, 2 on bad usage or a failed system call.
 *
 * -s maps the region shared instead of private, so that the child does see
 * the parent's writes after fork, as with the 6.4 bug: the run must then
 * report corruption. It shows that the check can fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef unsigned long long u64;

#define WORDS_PER_PAGE	(page_size / sizeof(u64))

static long page_size;
static int nr_writers = 4;
static int nr_pages = 256;
static int seconds = 5;
static bool shared;
static char *region;
static atomic_bool stop;
static atomic_long faults_rounds, forks, child_fail, splits, remaps, unmaps, corrupt;

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

static void report(const char *what, int page, u64 got, u64 want)
{
	fprintf(stderr, "vmalock_user_stress: corruption: %s: page %d holds %#llx, want %#llx\n",
		what, page, got, want);
	atomic_fetch_add(&corrupt, 1);
}

static u64 *page_at(int i)
{
	return (u64 *)(region + (size_t)i * page_size);
}

/* Fill own pages with the generation, then read them all back. */
static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	u64 gen = 0;

	while (!atomic_load(&stop)) {
		u64 want = pattern(id + 1, ++gen);
		int i;
		size_t w;

		for (i = id; i < nr_pages; i += nr_writers)
			for (w = 0; w < WORDS_PER_PAGE; w++)
				put(&page_at(i)[w], want);
		for (i = id; i < nr_pages; i += nr_writers)
			for (w = 0; w < WORDS_PER_PAGE; w++)
				if (get(&page_at(i)[w]) != want) {
					report("read back", i, get(&page_at(i)[w]), want);
					break;
				}
		atomic_fetch_add(&faults_rounds, 1);
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

			/* Pages not written yet are still zero. */
			if (v && owner_of(v) != i % nr_writers + 1)
				bad++;
			/* Copied halfway through a write is fine; changing later is not. */
			if (pass == 0)
				first[i] = get(&page_at(i)[WORDS_PER_PAGE - 1]);
			else if (get(&page_at(i)[WORDS_PER_PAGE - 1]) != first[i])
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
	while (!atomic_load(&stop)) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			atomic_fetch_add(&child_fail, 1);
			break;
		}
		if (pid == 0)
			_exit(child_check());
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr,
				"vmalock_user_stress: corruption: child %d saw memory change after fork (status %#x)\n",
				pid, status);
			atomic_fetch_add(&child_fail, 1);
			atomic_fetch_add(&corrupt, 1);
		}
		atomic_fetch_add(&forks, 1);
	}
	return NULL;
}

/* Change the flags of sub-ranges (RW <-> RWX keeps writes allowed): VMAs split and merge. */
static void *splitter(void *arg)
{
	unsigned int seed = 1;

	(void)arg;

	while (!atomic_load(&stop)) {
		int start = rand_r(&seed) % nr_pages;
		int len = 1 + rand_r(&seed) % 8;
		int prot = PROT_READ | PROT_WRITE | (rand_r(&seed) & 1 ? PROT_EXEC : 0);

		if (start + len > nr_pages)
			len = nr_pages - start;
		if (mprotect(region + (size_t)start * page_size, (size_t)len * page_size, prot))
			perror("mprotect");
		atomic_fetch_add(&splits, 1);
	}
	return NULL;
}

/* A scratch mapping that moves and changes size, contents checked at each step. */
static void *remapper(void *arg)
{
	size_t len = 4 * page_size;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u64 gen = 0;

	(void)arg;
	if (p == MAP_FAILED) {
		perror("mmap");
		return NULL;
	}
	while (!atomic_load(&stop)) {
		size_t newlen = (1 + rand() % 8) * page_size;
		size_t keep = len < newlen ? len : newlen;
		size_t i;
		char *q;

		gen++;
		for (i = 0; i < len; i += sizeof(u64))
			*(u64 *)(p + i) = gen;
		q = mremap(p, len, newlen, MREMAP_MAYMOVE);
		if (q == MAP_FAILED) {
			perror("mremap");
			break;
		}
		for (i = 0; i < keep; i += sizeof(u64))
			if (*(u64 *)(q + i) != gen) {
				report("mremap", (int)(i / page_size), *(u64 *)(q + i), gen);
				break;
			}
		p = q;
		len = newlen;
		atomic_fetch_add(&remaps, 1);
	}
	munmap(p, len);
	return NULL;
}

/* Unmap and map again a scratch range: the new pages must be zero. */
static void *unmapper(void *arg)
{
	size_t len = 8 * page_size;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	if (p == MAP_FAILED) {
		perror("mmap");
		return NULL;
	}
	while (!atomic_load(&stop)) {
		size_t off = (size_t)(rand() % 8) * page_size, i;

		memset(p, 0x5a, len);
		if (munmap(p + off, page_size) ||
		    mmap(p + off, page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
			perror("munmap/mmap");
			break;
		}
		for (i = 0; i < (size_t)page_size; i += sizeof(u64))
			if (*(u64 *)(p + off + i)) {
				report("fresh page", (int)(off / page_size),
				       *(u64 *)(p + off + i), 0);
				break;
			}
		atomic_fetch_add(&unmaps, 1);
	}
	munmap(p, len);
	return NULL;
}

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

int main(int argc, char **argv)
{
	pthread_t th[64 + 4];
	int opt, i, n = 0;

	while ((opt = getopt(argc, argv, "t:w:p:s")) != -1) {
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
		default:
			fprintf(stderr, "usage: %s [-t seconds] [-w writers] [-p pages] [-s]\n",
				argv[0]);
			return 2;
		}
	}
	page_size = sysconf(_SC_PAGESIZE);
	region = mmap(NULL, (size_t)nr_pages * page_size, PROT_READ | PROT_WRITE,
		      (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	for (i = 0; i < nr_writers; i++)
		pthread_create(&th[n++], NULL, writer, (void *)(intptr_t)i);
	pthread_create(&th[n++], NULL, forker, NULL);
	pthread_create(&th[n++], NULL, splitter, NULL);
	pthread_create(&th[n++], NULL, remapper, NULL);
	pthread_create(&th[n++], NULL, unmapper, NULL);
	sleep(seconds);
	atomic_store(&stop, true);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("# user_stress: seconds=%d writers=%d pages=%d writer_rounds=%ld forks=%ld",
	       seconds, nr_writers, nr_pages, atomic_load(&faults_rounds), atomic_load(&forks));
	printf(" child_failures=%ld mprotects=%ld mremaps=%ld remaps=%ld corruptions=%ld\n",
	       atomic_load(&child_fail), atomic_load(&splits), atomic_load(&remaps),
	       atomic_load(&unmaps), atomic_load(&corrupt));
	return atomic_load(&corrupt) || atomic_load(&child_fail) ? 1 : 0;
}
