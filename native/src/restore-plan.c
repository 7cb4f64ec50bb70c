/* Builds the restorer blob and jumps into it. Log prefix "plan".
 * Blob layout (one mapping at an address no image mapping uses):
 *   code (copied section durun_restorer, then made r-x)
 *   struct rst_args + arrays (vmas, runs, specials, unmap list, threads)
 *   thread stacks (16 KiB each) and the leader's stack (64 KiB)
 *   scratch: room to park the vDSO/vvar while moving them */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "restore.h"
#include "restorer.h"
#include "merge.h"

#define PG 4096ull
#define UP(x) (((x) + PG - 1) & ~(PG - 1))
#define MAX_UNMAP 4096
#define THREAD_STACK 16384
#define LEADER_STACK 65536

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

struct cur_map {
	uint64_t start, end;
	char name[32];
};

static int read_own_maps(struct cur_map *m, int max)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4352];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		unsigned long long s, e;
		char path[4096] = "";
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %4095s", &s, &e, path) < 2)
			continue;
		m[n].start = s;
		m[n].end = e;
		snprintf(m[n].name, sizeof(m[n].name), "%s", path);
		n++;
	}
	fclose(f);
	return n;
}

static int overlaps_image(const struct loaded_image *li, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < li->nvma; i++)
		if (li->vmas[i].v.start < e && s < li->vmas[i].v.end)
			return 1;
	return 0;
}

static int is_special(const char *name)
{
	return !strncmp(name, "[vdso]", 6) || !strncmp(name, "[vvar", 5) || !strncmp(name, "[vsyscall]", 10);
}

/* A copy of fd for the restorer, out of the way at 1000 and above; under a
 * smaller fd limit (ulimit -n 64) a plain copy, which is no image fd either:
 * every image fd is in place by now. -1 with errno set. */
static int restorer_fd(int fd)
{
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 1000);
	return hi >= 0 || errno != EINVAL ? hi : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* A shared mapping of an object whose contents are already in place (fd
 * `from`, a copy is kept for the restorer): mapped as it was, nothing to
 * fill. `what` names it for an error. */
static int map_shared(struct rst_args *a, struct rst_vma *r, const struct li_vma *v, int from, const char *what)
{
	int hi = from >= 0 ? restorer_fd(from) : (errno = ENOENT, -1);
	if (hi < 0) {
		RERR("plan", errno, "%s %s (inode %llu) at %#llx", what, v->path, (unsigned long long)v->v.ino,
		     (unsigned long long)v->v.start);
		return -1;
	}
	r->fd = hi;
	r->pgoff = v->v.pgoff;
	r->mflags = MAP_SHARED;
	r->first_run = a->nrun;
	r->nruns = 0;
	a->close_fds[a->nclose++] = hi;
	return 0;
}

/* A shared mapping of a memfd the process also holds as fd `fd` (placed,
 * restore-memfd.c): the same memfd, opened read-write for the mapping (the
 * program's fd may be read-only; a seal, not the open, limits writes). */
static int map_own_memfd(struct rst_args *a, struct rst_vma *r, const struct li_vma *v, int fd)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int rw = open(proc, O_RDWR | O_CLOEXEC);
	int rc = map_shared(a, r, v, rw, "memfd");
	if (rw >= 0)
		close(rw);
	return rc;
}

static void emit_run(void *ctx, uint64_t addr, uint64_t len, int fd, uint64_t off)
{
	struct rst_args *a = ctx;
	struct rst_run *x = &a->runs[a->nrun++];
	x->addr = addr;
	x->len = len;
	x->fd = fd;
	x->file_off = off;
}

long plan_runs(const struct loaded_image *li, const struct li_vma *v, const struct rchain *ch, run_emit_fn emit, void *ctx)
{
	uint64_t data = 0;
	long count = 0;
	for (uint32_t k = 0; k < v->v.nruns; k++) {
		uint64_t addr = v->v.start + v->runs[k].first * PG, np = v->runs[k].npages;
		if (v->runs[k].kind == RUN_DATA) {
			if (emit)
				emit(ctx, addr, np * PG, li->fd, v->pages_off + data * PG);
			data += np;
			count++;
			continue;
		}
		if (!ch) {
			RERR("plan", 0, "%s: PARENT pages at %#llx but no incremental chain loaded", li->path,
			     (unsigned long long)addr);
			return -1;
		}
		while (np) {
			int src;
			uint64_t span, off = chain_locate(ch->img, ch->n, 0, addr, np, &src, &span);
			if (!span) {
				RERR("plan", 0, "%s: no progress resolving pages at %#llx in the chain", li->path,
				     (unsigned long long)addr);
				return -1;
			}
			if (src >= 0) {
				if (emit)
					emit(ctx, addr, span * PG, ch->img[src].fd, off);
				count++;
			}
			addr += span * PG;
			np -= span;
		}
	}
	return count;
}

int lazy_vma(const struct li_vma *v, const struct tree_ctx *t)
{
	if (v->v.vflags & (VMA_SPECIAL | VMA_VSYSCALL | VMA_SHARED | VMA_FILE))
		return 0; /* userfaultfd MISSING takes anonymous private memory only */
	if (t && tree_vma_shared(v))
		return 0;
	return v->v.prot != PROT_NONE && v->v.nruns > 0;
}

int restore_enter(const struct loaded_image *li, int status_fd, struct tree_ctx *t, const struct rchain *ch, int uffd)
{
	static struct cur_map cur[MAX_UNMAP];
	size_t code_len = (size_t)(__stop_durun_restorer - __start_durun_restorer);
	size_t nruns = 0, nvma = 0, nspec = 0, off;
	uint64_t spec_total = 0, blob_len, base = 0;
	char *blob = MAP_FAILED;
	struct rst_args *a;
	int ncur;

	for (size_t i = 0; i < li->nvma; i++) {
		const struct li_vma *v = &li->vmas[i];
		if (v->v.vflags & VMA_SPECIAL) {
			nspec++;
			spec_total += v->v.end - v->v.start;
		} else if (!(v->v.vflags & VMA_VSYSCALL)) {
			long c = uffd >= 0 && lazy_vma(v, t) ? 0 : plan_runs(li, v, ch, NULL, NULL);
			if (c < 0)
				return -1;
			nvma++;
			nruns += (size_t)c;
		}
	}
	off = UP(code_len);
	size_t args_off = off;
	off += UP(sizeof(struct rst_args) + nvma * sizeof(struct rst_vma) + nruns * sizeof(struct rst_run) +
		  (nspec + 8) * sizeof(struct rst_special) + 2 * MAX_UNMAP * sizeof(struct rst_range) +
		  (nvma + 9 + (ch ? (size_t)ch->n : 0)) * sizeof(int32_t) + li->mm.auxv_len + 64) +
	       UP(li->nthr * (sizeof(struct rst_thread) + 64));
	size_t stacks_off = off;
	off += li->nthr * THREAD_STACK + LEADER_STACK;
	size_t scratch_off = off;
	off += UP(spec_total) + PG;
	blob_len = off;

	/* a free place: not in the image, not in use here */
	for (uint64_t cand = 0x2d0000000000ull; cand < 0x7e0000000000ull; cand += 0x10000000000ull) {
		if (overlaps_image(li, cand, cand + blob_len))
			continue;
		blob = mmap((void *)cand, blob_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (blob != MAP_FAILED) {
			base = cand;
			break;
		}
	}
	if (blob == MAP_FAILED) {
		RERR("plan", errno, "no free address range for the restorer (%llu bytes)", (unsigned long long)blob_len);
		return -1;
	}
	memcpy(blob, __start_durun_restorer, code_len);
	a = (struct rst_args *)(void *)(blob + args_off);
	memset(a, 0, sizeof(*a));
	char *p = (char *)(a + 1);
#define TAKE(ptr, n) do { p = (char *)(((uintptr_t)p + 63) & ~(uintptr_t)63); (ptr) = (void *)p; p += (n); } while (0)
	TAKE(a->vmas, nvma * sizeof(struct rst_vma));
	TAKE(a->runs, nruns * sizeof(struct rst_run));
	TAKE(a->specials, (nspec + 8) * sizeof(struct rst_special));
	TAKE(a->unmap, MAX_UNMAP * sizeof(struct rst_range));
	TAKE(a->unmap_specials, 8 * sizeof(struct rst_range));
	TAKE(a->close_fds, (nvma + 9 + (ch ? (size_t)ch->n : 0)) * sizeof(int32_t));
	void *auxv;
	TAKE(auxv, li->mm.auxv_len);
	TAKE(a->thr, li->nthr * sizeof(struct rst_thread));
	a->blob_start = base;
	a->blob_len = blob_len;
	a->stack_top = base + stacks_off + li->nthr * THREAD_STACK + LEADER_STACK;
	a->scratch = base + scratch_off;
	a->img_fd = li->fd;
	a->status_fd = status_fd;
	a->use_set_tid = 1;
	a->coord = t ? (uint64_t)(uintptr_t)t->coord : 0;
	a->uffd = uffd;
	if (uffd >= 0)
		a->close_fds[a->nclose++] = uffd;
	a->close_fds[a->nclose++] = li->fd;
	for (int i = 1; ch && i < ch->n; i++)
		a->close_fds[a->nclose++] = ch->img[i].fd;

	/* mappings */
	for (size_t i = 0; i < li->nvma; i++) {
		const struct li_vma *v = &li->vmas[i];
		struct rst_vma *r;
		if (v->v.vflags & (VMA_SPECIAL | VMA_VSYSCALL))
			continue;
		r = &a->vmas[a->nvma++];
		r->start = v->v.start;
		r->end = v->v.end;
		r->prot = v->v.prot;
		r->fd = -1;
		if (t && tree_vma_shared(v)) {
			const struct tree_shm *shm = tree_find_shm(t, v->v.dev, v->v.ino);
			if (map_shared(a, r, v, shm ? shm->fd : -1, "shared memory"))
				return -1;
			continue;
		}
		int memfd = !t && tree_vma_shared(v) ? memfd_placed(li, v->v.dev, v->v.ino) : -1;
		if (memfd >= 0) {
			if (map_own_memfd(a, r, v, memfd))
				return -1;
			continue;
		}
		r->mflags = (v->v.vflags & VMA_SHARED) ? MAP_SHARED : MAP_PRIVATE;
		if (v->v.vflags & VMA_FILE) {
			int wr = (v->v.vflags & VMA_SHARED) && (v->v.prot & PROT_WRITE);
			int fd = open(v->path, (wr ? O_RDWR : O_RDONLY) | O_CLOEXEC);
			int hi = fd < 0 ? -1 : restorer_fd(fd);
			if (fd < 0 || hi < 0) {
				RERR("plan", errno, "open mapped file %s", v->path);
				return -1;
			}
			close(fd);
			r->fd = hi;
			r->pgoff = v->v.pgoff;
			a->close_fds[a->nclose++] = hi;
		} else
			r->mflags |= MAP_ANONYMOUS;
		if (v->v.vflags & VMA_STACK)
			r->mflags |= MAP_GROWSDOWN;
		r->first_run = a->nrun;
		r->lazy = uffd >= 0 && lazy_vma(v, t);
		if (!r->lazy && plan_runs(li, v, ch, emit_run, a) < 0)
			return -1;
		r->nruns = a->nrun - r->first_run;
	}

	/* threads */
	for (size_t i = 0; i < li->nthr; i++) {
		const struct img_thread *t = &li->thr[i];
		struct rst_thread *r = &a->thr[i];
		greg_t *g = r->uc.uc_mcontext.gregs;
		memset(r, 0, sizeof(*r));
		r->uc.uc_stack.ss_sp = (void *)(uintptr_t)t->ss_sp;
		r->uc.uc_stack.ss_size = t->ss_size;
		r->uc.uc_stack.ss_flags = t->ss_flags;
		g[REG_RBX] = (greg_t)t->rbx;
		g[REG_RBP] = (greg_t)t->rbp;
		g[REG_R12] = (greg_t)t->r12;
		g[REG_R13] = (greg_t)t->r13;
		g[REG_R14] = (greg_t)t->r14;
		g[REG_R15] = (greg_t)t->r15;
		g[REG_RSP] = (greg_t)t->rsp;
		g[REG_RIP] = (greg_t)t->rip;
		g[REG_RAX] = 1; /* durun_capture() "returns" 1: restored */
		g[REG_EFL] = 0x202;
		g[REG_CSGSFS] = (greg_t)(0x33ull | (0x2bull << 48));
		memcpy(r->fx, t->fxsave, 512);
		memset(r->fx + 464, 0, 48); /* no xsave magic: kernel restores it as plain fxsave */
		r->uc.uc_mcontext.fpregs = (fpregset_t)(void *)(blob + ((char *)r->fx - blob));
		memcpy(&r->uc.uc_sigmask, &t->sigmask, 8);
		r->tid = t->tid;
		r->fs_base = t->fs_base;
		r->clear_tid = t->clear_tid;
		r->robust_head = t->robust_head;
		r->robust_len = t->robust_len;
		r->rseq_addr = t->rseq_addr;
		r->rseq_len = t->rseq_len;
		r->rseq_sig = t->rseq_sig;
		memcpy(r->comm, t->comm, 16);
		r->stack_top = base + stacks_off + (i + 1) * THREAD_STACK;
	}
	a->nthr = (uint32_t)li->nthr;
	if (!(li->thr[0].tflags & 1)) {
		RERR("plan", 0, "%s: first THREAD record is not the leader", li->path);
		return -1;
	}

	/* process-wide */
	if (li->have_mm && li->mm.start_brk && li->mm.arg_start) {
		a->set_mm = 1;
		a->mm.start_code = li->mm.start_code;
		a->mm.end_code = li->mm.end_code;
		a->mm.start_data = li->mm.start_data;
		a->mm.end_data = li->mm.end_data;
		a->mm.start_brk = li->mm.start_brk;
		a->mm.brk = li->mm.brk;
		a->mm.start_stack = li->mm.start_stack;
		a->mm.arg_start = li->mm.arg_start;
		a->mm.arg_end = li->mm.arg_end;
		a->mm.env_start = li->mm.env_start;
		a->mm.env_end = li->mm.env_end;
		memcpy(auxv, li->auxv, li->mm.auxv_len);
		a->mm.auxv = (uint64_t)(uintptr_t)auxv;
		a->mm.auxv_size = li->mm.auxv_len;
		a->exe_fd = open(li->exe, O_RDONLY | O_CLOEXEC);
		if (a->exe_fd >= 0) {
			int hi = restorer_fd(a->exe_fd);
			close(a->exe_fd);
			a->exe_fd = hi;
		}
		a->mm.exe_fd = (uint32_t)a->exe_fd;
	} else
		a->exe_fd = -1;
	memcpy(a->itimer, li->proc.itimer, sizeof(a->itimer));

	/* our own mappings: the vDSO family moves, everything else goes */
	ncur = read_own_maps(cur, MAX_UNMAP);
	if (ncur < 0) {
		RERR("plan", errno, "read /proc/self/maps");
		return -1;
	}
	for (int i = 0; i < ncur; i++) {
		if (cur[i].start >= base && cur[i].end <= base + blob_len)
			continue;
		if (t && cur[i].start <= (uint64_t)(uintptr_t)t->coord && (uint64_t)(uintptr_t)t->coord < cur[i].end)
			continue; /* the release page stays until every process is ready */
		if (!strncmp(cur[i].name, "[vsyscall]", 10))
			continue;
		if (is_special(cur[i].name)) {
			const struct li_vma *want = NULL;
			for (size_t k = 0; k < li->nvma; k++)
				if ((li->vmas[k].v.vflags & VMA_SPECIAL) && !strcmp(li->vmas[k].path, cur[i].name))
					want = &li->vmas[k];
			if (!want) {
				a->unmap_specials[a->unmap_special].start = cur[i].start;
				a->unmap_specials[a->unmap_special++].end = cur[i].end;
				continue;
			}
			if (want->v.end - want->v.start != cur[i].end - cur[i].start) {
				RERR("plan", 0, "%s is %llu bytes here but %llu in the image (different kernel?)", cur[i].name,
				     (unsigned long long)(cur[i].end - cur[i].start),
				     (unsigned long long)(want->v.end - want->v.start));
				return -1;
			}
			a->specials[a->nspecial].cur = cur[i].start;
			a->specials[a->nspecial].len = cur[i].end - cur[i].start;
			a->specials[a->nspecial++].want = want->v.start;
			continue;
		}
		a->unmap[a->nunmap].start = cur[i].start;
		a->unmap[a->nunmap++].end = cur[i].end;
	}
	if (a->nspecial != nspec) {
		RERR("plan", 0, "the image has %zu vDSO/vvar mappings, this process %u", nspec, a->nspecial);
		return -1;
	}
	/* glibc registered rseq in our TLS; once that page is unmapped the kernel
	 * would kill us with SIGSEGV on the next return to user space. */
	if (&__rseq_size && __rseq_size) {
		uint64_t fs = 0;
		syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
		if (syscall(SYS_rseq, (void *)(uintptr_t)(fs + (uint64_t)__rseq_offset), __rseq_size < 32 ? 32 : __rseq_size,
			    1 /* RSEQ_FLAG_UNREGISTER */, 0x53053053) && errno != EINVAL)
			RINFO("rseq unregister: %s", strerror(errno));
	}
	for (size_t k = 0; t && k < t->nshm; k++) { /* our dups are in close_fds */
		close(t->shms[k].fd);
		t->shms[k].fd = -1;
	}
	if (mprotect(blob, UP(code_len), PROT_READ | PROT_EXEC)) {
		RERR("plan", errno, "mprotect restorer code");
		return -1;
	}
	RINFO("entering restorer at %#llx: %u mappings, %u page runs, %u threads%s", (unsigned long long)base, a->nvma,
	      a->nrun, a->nthr, uffd >= 0 ? ", private anonymous memory left to the userfaultfd" : "");
	fflush(NULL);
	((void (*)(struct rst_args *))(void *)(blob + ((char *)(void *)rst_entry - __start_durun_restorer)))(a);
	return -1;
}
