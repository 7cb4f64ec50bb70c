/* zdtm-style test of lazy restore: memory that is still being streamed in
 * when the program resumes. Holds LAZY_MB (default 64) MiB of patterned
 * heap, a 4 MiB region it will move, and THREADS (3) threads with 2 MiB
 * each. It waits for a checkpoint (signal 62, harness) and, the moment it
 * resumes from an image, without waiting for anything:
 *   1. forks; the child verifies every byte of its copy (heap, region) and
 *      exits 0 (its unfilled pages must get image data, not zeros);
 *   2. MADV_DONTNEED on 4 MiB of the heap: those bytes must read zero after;
 *   3. mremap()s the region to a new address (grown to 8 MiB): the pattern
 *      must follow it, the new half must be zero;
 *   4. has the kernel touch unfilled pages: write() from one into a pipe,
 *      read() from the pipe into the middle of another (the rest of that
 *      page must keep its pattern);
 *   5. verifies every other byte of the heap; the threads verify theirs.
 * Prints "PASS lazy ..." and exits 0, or "FAIL ..." and exits 1.
 * LAZY_IDLE=1: after restore only sleep (touch nothing), so a test can see
 * durun-restore itself find a corrupted page record while streaming.
 * Usage: ckpt-test-lazy (env CKPT_DIR, LAZY_MB, THREADS, LAZY_IDLE). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"

#define MIB (1ul << 20)
#define MAX_THREADS 16

static uint64_t pat(uint64_t i, uint64_t seed)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ (seed << 56);
	return x ^ (x >> 29);
}

static void fill(uint64_t *p, size_t bytes, uint64_t seed)
{
	for (size_t i = 0; i < bytes / 8; i++)
		p[i] = pat(i, seed);
}

/* first bad word index, or -1; base_index: index of p[0] in the pattern */
static long check(const uint64_t *p, size_t bytes, uint64_t seed, size_t base_index)
{
	for (size_t i = 0; i < bytes / 8; i++)
		if (p[i] != pat(base_index + i, seed))
			return (long)i;
	return -1;
}

static long check_zero(const uint64_t *p, size_t bytes)
{
	for (size_t i = 0; i < bytes / 8; i++)
		if (p[i])
			return (long)i;
	return -1;
}

static volatile int go_verify;
static volatile int thread_fail;

static void *worker(void *arg)
{
	long k = (long)arg;
	uint64_t *buf = malloc(2 * MIB);
	struct timespec ts = { 0, 1000000 };
	if (!buf) {
		thread_fail = 1;
		return NULL;
	}
	fill(buf, 2 * MIB, 10 + (uint64_t)k);
	while (!go_verify)
		nanosleep(&ts, NULL);
	if (check(buf, 2 * MIB, 10 + (uint64_t)k, 0) >= 0) {
		printf("FAIL thread %ld: its buffer differs after restore\n", k);
		thread_fail = 1;
	}
	return NULL;
}

static int fail(const char *what, long at)
{
	printf("FAIL %s (word %ld)\n", what, at);
	fflush(stdout);
	return 1;
}

int main(void)
{
	size_t mb = getenv("LAZY_MB") ? (size_t)atol(getenv("LAZY_MB")) : 64;
	long nthreads = getenv("THREADS") ? atol(getenv("THREADS")) : 3;
	size_t size = mb * MIB, hole = 16 * MIB, hole_len = 4 * MIB;
	pthread_t th[MAX_THREADS];
	uint64_t *heap, *region, *moved;
	struct timespec ts = { 0, 2000000 };
	int pfd[2], st;
	pid_t child;
	long at;

	if (mb < 24 || nthreads < 0 || nthreads > MAX_THREADS) {
		fprintf(stderr, "LAZY_MB must be >= 24, THREADS <= %d\n", MAX_THREADS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* page-aligned (madvise needs it); what malloc would map for this size anyway */
	heap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	region = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap == MAP_FAILED || region == MAP_FAILED || pipe(pfd)) {
		perror("setup");
		return 2;
	}
	fill(heap, size, 1);
	fill(region, 4 * MIB, 2);
	for (long k = 0; k < nthreads; k++)
		if (pthread_create(&th[k], NULL, worker, (void *)k)) {
			perror("pthread_create");
			return 2;
		}
	harness_init();
	printf("ready pid=%d threads=%ld heap=%zu MiB\n", getpid(), nthreads, mb);
	while (!harness_restored) {
		harness_counter++;
		nanosleep(&ts, NULL);
	}

	while (getenv("LAZY_IDLE") && !strcmp(getenv("LAZY_IDLE"), "1"))
		pause();
	/* 1. fork at once: the child's unfilled pages come from the image */
	child = fork();
	if (child < 0)
		return fail("fork", 0);
	if (child == 0) {
		if ((at = check(heap, size, 1, 0)) >= 0)
			_exit(fail("child: heap differs", at));
		if ((at = check(region, 4 * MIB, 2, 0)) >= 0)
			_exit(fail("child: region differs", at));
		_exit(0);
	}
	/* 2. dropped pages read zero afterwards, not image data */
	if (madvise((char *)heap + hole, hole_len, MADV_DONTNEED))
		return fail("madvise", 0);
	if ((at = check_zero((uint64_t *)((char *)heap + hole), hole_len)) >= 0)
		return fail("MADV_DONTNEED range is not zero", at);
	/* 3. a moved mapping keeps its contents */
	moved = mremap(region, 4 * MIB, 8 * MIB, MREMAP_MAYMOVE);
	if (moved == MAP_FAILED)
		return fail("mremap", 0);
	if ((at = check(moved, 4 * MIB, 2, 0)) >= 0)
		return fail("mremap'd region differs", at);
	if ((at = check_zero(moved + 4 * MIB / 8, 4 * MIB)) >= 0)
		return fail("grown part of the mremap'd region is not zero", at);
	/* 4. the kernel reads from and writes into unfilled pages */
	{
		char *src = (char *)heap + 40 * MIB, *dst = (char *)heap + 44 * MIB + 1000;
		static char back[65536];
		size_t dst_index = (44 * MIB + 1000) / 8;
		if (write(pfd[1], src, 65536) != 65536 || read(pfd[0], back, 65536) != 65536)
			return fail("write/read through a pipe", 0);
		if ((at = check((uint64_t *)(void *)back, 65536, 1, 40 * MIB / 8)) >= 0)
			return fail("write() from an unfilled page sent wrong bytes", at);
		if (write(pfd[1], "0123456789abcdef", 16) != 16 || read(pfd[0], dst, 16) != 16)
			return fail("read() into an unfilled page", 0);
		if (memcmp(dst, "0123456789abcdef", 16))
			return fail("read() into an unfilled page: data", 0);
		if ((at = check((uint64_t *)(void *)(dst - 1000), 1000, 1, dst_index - 125)) >= 0)
			return fail("bytes before a read() target lost their pattern", at);
		if ((at = check((uint64_t *)(void *)(dst + 16), 4096 - 1016, 1, dst_index + 2)) >= 0)
			return fail("bytes after a read() target lost their pattern", at);
	}
	/* 5. every other byte of the heap */
	if ((at = check(heap, hole, 1, 0)) >= 0)
		return fail("heap before the dropped range differs", at);
	if ((at = check((uint64_t *)((char *)heap + hole + hole_len), 44 * MIB - hole - hole_len, 1,
			(hole + hole_len) / 8)) >= 0)
		return fail("heap after the dropped range differs", at);
	if ((at = check((uint64_t *)((char *)heap + 44 * MIB + 4096), size - 44 * MIB - 4096, 1, (44 * MIB + 4096) / 8)) >= 0)
		return fail("heap end differs", at);
	go_verify = 1;
	for (long k = 0; k < nthreads; k++)
		pthread_join(th[k], NULL);
	if (thread_fail)
		return 1;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail("fork child after restore failed", st);
	printf("PASS lazy pid=%d heap=%zu MiB threads=%ld\n", getpid(), mb, nthreads);
	return 0;
}
