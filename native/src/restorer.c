/* The restorer blob. Copied by durun-restore into a mapping that no image
 * mapping overlaps, it runs with nothing else mapped: it unmaps the restorer
 * process, moves the vDSO where the image had it, maps every saved region and
 * fills it from the image, starts the other threads with their saved thread
 * ids, and rt_sigreturns each thread into its saved resume point.
 * Rules (checked by the Makefile: the object must have no relocations):
 * every function is in section "durun_restorer", no libc, no string
 * literals, no globals, raw syscalls only. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>
#include "restorer.h"
#include "tree.h"

#define BLOB __attribute__((section("durun_restorer"), used, noinline))
#define INL static inline __attribute__((always_inline))

INL long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define S1(n, a) sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define S2(n, a, b) sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(n, a, b, c) sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define S4(n, a, b, c, d) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define S5(n, a, b, c, d, e) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define S6(n, a, b, c, d, e, f) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

struct k_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

struct k_itimerval {
	long is, ius, vs, vus;
};

BLOB static void put_num(char *m, int *n, long v)
{
	char tmp[24];
	int k = 0;
	if (v < 0) {
		m[(*n)++] = '-';
		v = -v;
	}
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < 20);
	while (k)
		m[(*n)++] = tmp[--k];
}

BLOB static __attribute__((noreturn)) void fail(struct rst_args *a, int step, long err)
{
	char m[64];
	int n = 0;
	m[n++] = 'E';
	m[n++] = 'R';
	m[n++] = 'R';
	m[n++] = ' ';
	put_num(m, &n, step);
	m[n++] = ' ';
	put_num(m, &n, -err);
	if (a->coord) {
		struct tree_coord *c = (struct tree_coord *)(uintptr_t)a->coord;
		int32_t none = 0;
		if (__atomic_compare_exchange_n(&c->failed, &none, (int32_t)S1(SYS_getpid, 0), 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			c->fail_step = step;
			c->fail_err = (int32_t)-err;
		}
		S6(SYS_futex, &c->ready, 1 /* FUTEX_WAKE */, 0x7fffffff, 0, 0, 0);
	}
	if (a->status_fd >= 0)
		S3(SYS_write, a->status_fd, m, n);
	for (;;)
		S1(SYS_exit_group, 112);
}

BLOB static __attribute__((noreturn)) void finish_thread(struct rst_thread *t)
{
	S2(SYS_arch_prctl, ARCH_SET_FS, t->fs_base);
	S1(SYS_set_tid_address, t->clear_tid);
	if (t->robust_head)
		S2(SYS_set_robust_list, t->robust_head, t->robust_len);
	if (t->rseq_addr)
		S4(SYS_rseq, t->rseq_addr, t->rseq_len, 0, t->rseq_sig);
	S2(SYS_prctl, PR_SET_NAME, t->comm);
	/* rt_sigreturn reads the frame at rsp (struct rt_sigframe minus pretcode) */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "mov $15, %%eax\n\t"
			 "syscall\n\t"
			 "ud2"
			 :
			 : "r"(&t->uc)
			 : "memory");
	__builtin_unreachable();
}

BLOB static long clone3_thread(struct k_clone_args *ca, struct rst_thread *t)
{
	long ret;
	register long r12 __asm__("r12") = (long)(void *)finish_thread;
	register long r13 __asm__("r13") = (long)t;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "mov %%r13, %%rdi\n\t"
			 "call *%%r12\n\t"
			 "ud2\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(SYS_clone3), "D"(ca), "S"(sizeof(*ca)), "r"(r12), "r"(r13)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Tree mode: report ready, wait for durun-restore to release every process
 * of the tree at once (or to abort), then drop the shared page. */
BLOB static void wait_release(struct rst_args *a)
{
	struct tree_coord *c = (struct tree_coord *)(uintptr_t)a->coord;
	int32_t r;
	__atomic_add_fetch(&c->ready, 1, __ATOMIC_SEQ_CST);
	S6(SYS_futex, &c->ready, 1 /* FUTEX_WAKE */, 0x7fffffff, 0, 0, 0);
	while ((r = __atomic_load_n(&c->release, __ATOMIC_ACQUIRE)) == 0)
		S6(SYS_futex, &c->release, 0 /* FUTEX_WAIT */, 0, 0, 0, 0);
	if (r != TREE_GO)
		for (;;)
			S1(SYS_exit_group, 112);
	S2(SYS_munmap, a->coord, 4096);
	a->coord = 0;
}

BLOB static void fill(struct rst_args *a, struct rst_run *r)
{
	uint64_t done = 0;
	while (done < r->len) {
		long n = S4(SYS_pread64, r->fd, r->addr + done, r->len - done, r->file_off + done);
		if (n == -4) /* EINTR */
			continue;
		if (n <= 0)
			fail(a, RST_STEP_READ, n ? n : -5);
		done += (uint64_t)n;
	}
}

BLOB static __attribute__((noreturn)) void rst_main(struct rst_args *a)
{
	long rc;
	uint64_t off = 0;

	for (uint32_t i = 0; i < a->nunmap; i++) {
		rc = S2(SYS_munmap, a->unmap[i].start, a->unmap[i].end - a->unmap[i].start);
		if (rc < 0)
			fail(a, RST_STEP_UNMAP, rc);
	}
	/* vDSO/vvar: through the scratch range, so the moves never overlap */
	for (uint32_t i = 0; i < a->nspecial; i++) {
		rc = S5(SYS_mremap, a->specials[i].cur, a->specials[i].len, a->specials[i].len,
			MREMAP_MAYMOVE | MREMAP_FIXED, a->scratch + off);
		if (rc < 0)
			fail(a, RST_STEP_SPECIAL, rc);
		off += a->specials[i].len;
	}
	off = 0;
	for (uint32_t i = 0; i < a->nspecial; i++) {
		rc = S5(SYS_mremap, a->scratch + off, a->specials[i].len, a->specials[i].len,
			MREMAP_MAYMOVE | MREMAP_FIXED, a->specials[i].want);
		if (rc < 0)
			fail(a, RST_STEP_SPECIAL, rc);
		off += a->specials[i].len;
	}
	for (uint32_t i = 0; i < a->unmap_special; i++)
		S2(SYS_munmap, a->unmap_specials[i].start, a->unmap_specials[i].end - a->unmap_specials[i].start);

	for (uint32_t i = 0; i < a->nvma; i++) {
		struct rst_vma *v = &a->vmas[i];
		uint32_t prot = v->nruns ? (v->prot | PROT_READ | PROT_WRITE) : v->prot;
		rc = S6(SYS_mmap, v->start, v->end - v->start, prot, v->mflags | MAP_FIXED, v->fd, v->pgoff);
		if (rc != (long)v->start)
			fail(a, RST_STEP_MMAP, rc < 0 ? rc : -17);
		if (v->lazy) {
			/* pages arrive through the userfaultfd (durun-restore's filler) */
			struct uffdio_register reg;
			reg.range.start = v->start;
			reg.range.len = v->end - v->start;
			reg.mode = UFFDIO_REGISTER_MODE_MISSING;
			reg.ioctls = 0;
			rc = S3(SYS_ioctl, a->uffd, UFFDIO_REGISTER, &reg);
			if (rc < 0)
				fail(a, RST_STEP_UFFD, rc);
		}
		for (uint32_t k = 0; k < v->nruns; k++) {
			struct rst_run *r = &a->runs[v->first_run + k];
			/* pre-fault in one go: first-touch faults one page at a time
			 * inside pread are several times slower (ignored if unsupported) */
			if (!(v->mflags & MAP_SHARED))
				S3(SYS_madvise, r->addr, r->len, 23 /* MADV_POPULATE_WRITE */);
			fill(a, r);
		}
		if (prot != v->prot) {
			rc = S3(SYS_mprotect, v->start, v->end - v->start, v->prot);
			if (rc < 0)
				fail(a, RST_STEP_MPROTECT, rc);
		}
	}
	for (uint32_t i = 0; i < a->nclose; i++)
		S1(SYS_close, a->close_fds[i]);
	if (a->set_mm) {
		if (S4(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, &a->mm, sizeof(a->mm)) < 0 && a->mm.exe_fd != (uint32_t)-1) {
			a->mm.exe_fd = (uint32_t)-1;
			S4(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, &a->mm, sizeof(a->mm));
		}
	}
	if (a->exe_fd >= 0)
		S1(SYS_close, a->exe_fd);
	if (a->coord)
		wait_release(a);

	for (uint32_t i = 1; i < a->nthr; i++) {
		struct rst_thread *t = &a->thr[i];
		struct k_clone_args ca;
		int32_t tid = t->tid;
		uint64_t *z = (uint64_t *)(void *)&ca;
		for (unsigned k = 0; k < sizeof(ca) / 8; k++)
			z[k] = 0;
		ca.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS;
		ca.stack = t->stack_top - 16384;
		ca.stack_size = 16384;
		ca.tls = t->fs_base;
		if (a->use_set_tid) {
			ca.set_tid = (uint64_t)(uintptr_t)&tid;
			ca.set_tid_size = 1;
		}
		rc = clone3_thread(&ca, t);
		if (rc < 0)
			fail(a, RST_STEP_THREAD, rc);
		a->threads_started++;
	}
	for (int w = 0; w < 3; w++) {
		struct k_itimerval it;
		it.is = (long)a->itimer[w][0];
		it.ius = (long)a->itimer[w][1];
		it.vs = (long)a->itimer[w][2];
		it.vus = (long)a->itimer[w][3];
		if (it.vs || it.vus) {
			rc = S3(SYS_setitimer, w, &it, 0);
			if (rc < 0)
				fail(a, RST_STEP_TIMER, rc);
		}
	}
	{
		char m[2];
		m[0] = 'O';
		m[1] = 'K';
		if (a->status_fd >= 0) {
			S3(SYS_write, a->status_fd, m, 2);
			S1(SYS_close, a->status_fd);
		}
	}
	finish_thread(&a->thr[0]);
}

BLOB void rst_entry(struct rst_args *a)
{
	__asm__ volatile("mov %%rsi, %%rsp\n\t"
			 "call *%%rdx\n\t"
			 "ud2"
			 :
			 : "D"(a), "S"(a->stack_top), "d"((void *)rst_main)
			 : "memory");
	__builtin_unreachable();
}
