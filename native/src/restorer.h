/* The contract between durun-restore (restore-plan.c builds it) and the
 * restorer blob (restorer.c), a self-contained piece of code copied to a free
 * address, which replaces the whole address space and jumps into the image.
 * Everything the blob touches lives inside the blob mapping. */
#ifndef DURUN_RESTORER_H
#define DURUN_RESTORER_H

#include <stdint.h>
#include <ucontext.h>

struct rst_range {
	uint64_t start, end;
};

struct rst_vma {
	uint64_t start, end, pgoff;
	uint32_t prot, mflags;   /* MAP_PRIVATE/SHARED|ANONYMOUS|GROWSDOWN (MAP_FIXED added) */
	int32_t fd;              /* file to map, -1 for anonymous */
	uint32_t first_run, nruns;
	int32_t lazy;            /* registered with the userfaultfd (MISSING), filled by durun-restore */
	int32_t pad;
};

struct rst_run {              /* pages carried in an image: pread from fd at file_off */
	uint64_t addr, len, file_off;
	int32_t fd, pad;          /* the image, or an ancestor of an incremental chain */
};

struct rst_special {          /* [vdso]/[vvar]: move ours from cur to want */
	uint64_t cur, len, want;
};

struct rst_thread {
	ucontext_t uc;            /* rt_sigreturn frame (uc_mcontext.fpregs -> fx) */
	uint8_t fx[512] __attribute__((aligned(64)));
	int32_t tid;
	int32_t pad;
	uint64_t fs_base, clear_tid, robust_head, robust_len, rseq_addr;
	uint32_t rseq_len, rseq_sig;
	char comm[16];
	uint64_t stack_top;       /* 16-aligned, inside the blob */
} __attribute__((aligned(64)));

struct rst_prctl_mm_map {     /* struct prctl_mm_map */
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size, exe_fd;
};

struct rst_args {
	uint64_t blob_start, blob_len;
	uint64_t stack_top;       /* leader's stack while restoring */
	uint64_t scratch;         /* free range for moving the specials in two steps */
	int32_t img_fd, status_fd, exe_fd, use_set_tid;
	uint32_t nunmap, nvma, nrun, nspecial, nthr, nclose, unmap_special, pad;
	struct rst_range *unmap;
	struct rst_vma *vmas;
	struct rst_run *runs;
	struct rst_special *specials;
	struct rst_range *unmap_specials; /* ours that the image has no place for */
	struct rst_thread *thr;   /* [0] = leader */
	int32_t *close_fds;
	struct rst_prctl_mm_map mm;
	int32_t set_mm;
	int32_t pad2;
	uint64_t itimer[3][4];
	int32_t uffd;             /* lazy restore: userfaultfd of this process (closed by the blob), or -1 */
	int32_t pad3;
	uint64_t coord;           /* tree mode: struct tree_coord page (wait there before resuming), else 0 */
	/* filled by the blob, for the status message */
	volatile int32_t threads_started;
};

/* Section markers of the blob code (GNU ld provides them). */
extern char __start_durun_restorer[], __stop_durun_restorer[];
void rst_entry(struct rst_args *a) __attribute__((noreturn));

/* Status message the blob writes on status_fd before jumping into the image:
 * "OK" or "ERR <step> <errno>". */
#define RST_STEP_UNMAP    1
#define RST_STEP_SPECIAL  2
#define RST_STEP_MMAP     3
#define RST_STEP_READ     4
#define RST_STEP_MPROTECT 5
#define RST_STEP_THREAD   6
#define RST_STEP_TIMER    7
#define RST_STEP_UFFD     8

#endif
