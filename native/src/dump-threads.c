/* Stopping and capturing the other threads of the process. Log prefix "threads".
 * The leader sends each thread the checkpoint signal with a marked siginfo;
 * the thread's handler (durun_ckpt_on_signal) captures its resume point into
 * a slot, counts itself in and sleeps on a futex until the leader bumps
 * `release`. A restored thread wakes up inside durun_capture() with 1 and
 * simply returns from the handler; the kernel's sigreturn of the original
 * frame (part of the restored stack) puts it back where it was interrupted. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <asm/prctl.h>
#include "dump.h"

#define STOP_MAGIC 0x44555255 /* "DURU" in si_value */

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

struct kernel_stack {
	void *sp;
	int flags;
	size_t size;
};

static long futex(volatile int *addr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

void dump_fill_thread(struct thr_slot *s)
{
	struct img_thread *t = &s->t;
	uint64_t mask = 0, fs = 0, gs = 0;
	stack_t ss;
	void *head = NULL;
	size_t hlen = 0;
	unsigned long tidaddr = 0;

	memset(t, 0, sizeof(*t));
	s->tid = (int)syscall(SYS_gettid);
	t->tid = s->tid;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
	t->fs_base = fs;
	t->gs_base = gs;
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, 8);
	t->sigmask = mask;
	if (sigaltstack(NULL, &ss) == 0) {
		t->ss_sp = (uint64_t)(uintptr_t)ss.ss_sp;
		t->ss_size = ss.ss_size;
		t->ss_flags = ss.ss_flags & ~SS_ONSTACK;
	} else
		t->ss_flags = SS_DISABLE;
	if (prctl(PR_GET_TID_ADDRESS, &tidaddr, 0, 0, 0) == 0)
		t->clear_tid = tidaddr;
	if (syscall(SYS_get_robust_list, 0, &head, &hlen) == 0) {
		t->robust_head = (uint64_t)(uintptr_t)head;
		t->robust_len = hlen;
	}
	if (&__rseq_offset && &__rseq_size && __rseq_size) {
		t->rseq_addr = fs + (uint64_t)__rseq_offset;
		t->rseq_len = __rseq_size < 32 ? 32 : __rseq_size;
		t->rseq_sig = 0x53053053; /* RSEQ_SIG on x86 (glibc) */
	}
	prctl(PR_GET_NAME, t->comm, 0, 0, 0);
	signals_take(); /* before the resume point: they travel in the image's memory */
}

int durun_ckpt_on_signal(int sig, siginfo_t *info, void *uctx)
{
	struct dump_state *g = &durun_g;
	struct thr_slot *s;
	int idx, gen;
	(void)uctx;

	if (!info || info->si_code != SI_QUEUE || info->si_value.sival_int != STOP_MAGIC ||
	    info->si_pid != getpid() || sig != g->thread_signal || !g->active)
		return 0;
	gen = g->release;
	idx = __atomic_fetch_add(&g->nslots, 1, __ATOMIC_SEQ_CST);
	if (idx >= DUMP_MAX_THREADS) {
		__atomic_fetch_add(&g->arrived, 1, __ATOMIC_SEQ_CST); /* counted, not recorded: leader fails */
		futex(&g->arrived, FUTEX_WAKE, 1, NULL);
		goto wait;
	}
	s = &g->slots[idx];
	dump_fill_thread(s);
	if (durun_capture(&s->ctx)) {
		/* restored: once the leader has recreated the timers, give back our
		 * signals and return from the handler; sigreturn does the rest */
		while (!__atomic_load_n(&g->resumed, __ATOMIC_ACQUIRE))
			futex(&g->resumed, FUTEX_WAIT, 0, NULL);
		signals_give_back();
		return 1;
	}
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&g->arrived, 1, __ATOMIC_SEQ_CST);
	futex(&g->arrived, FUTEX_WAKE, 1, NULL);
wait:
	while (__atomic_load_n(&g->release, __ATOMIC_ACQUIRE) == gen)
		futex(&g->release, FUTEX_WAIT, gen, NULL);
	signals_give_back();
	__atomic_fetch_add(&g->departed, 1, __ATOMIC_SEQ_CST);
	futex(&g->departed, FUTEX_WAKE, 1, NULL);
	return 1;
}

/* Signals every thread in /proc/self/task not yet in sent[]; returns how many
 * new ones were signalled, or -1. */
static int signal_new_threads(struct dump_ctx *d, int *sent, int *nsent)
{
	char buf[4096];
	int fd, added = 0, self = (int)syscall(SYS_gettid), pid = getpid();

	fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ERR(&d->err, "threads", "open", "/proc/self/task", errno);
		return -1;
	}
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n < 0) {
			ERR(&d->err, "threads", "getdents64", "/proc/self/task", errno);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			const char *p = de->d_name;
			int tid, known = 0;
			off += de->d_reclen;
			if (*p < '0' || *p > '9')
				continue;
			tid = (int)d_parse_dec(&p);
			if (tid == self)
				continue;
			for (int i = 0; i < *nsent; i++)
				known |= sent[i] == tid;
			if (known)
				continue;
			if (*nsent >= DUMP_MAX_THREADS - 1) {
				ERR(&d->err, "threads", "too many threads (limit 255)", "", 0);
				close(fd);
				return -1;
			}
			siginfo_t si;
			memset(&si, 0, sizeof(si));
			si.si_signo = d->req->thread_signal;
			si.si_code = SI_QUEUE;
			si.si_pid = pid;
			si.si_uid = getuid();
			si.si_value.sival_int = STOP_MAGIC;
			if (syscall(SYS_rt_tgsigqueueinfo, pid, tid, d->req->thread_signal, &si) < 0) {
				if (errno == ESRCH)
					continue; /* exited meanwhile */
				char tb[24];
				struct sb s;
				sb_init(&s, tb, sizeof(tb));
				sb_u64(&s, (uint64_t)tid);
				ERR(&d->err, "threads", "rt_tgsigqueueinfo to thread", tb, errno);
				close(fd);
				return -1;
			}
			sent[(*nsent)++] = tid;
			added++;
		}
	}
	close(fd);
	return added;
}

static int is_parked(int tid)
{
	struct dump_state *g = &durun_g;
	for (int k = 1; k < g->nslots && k < DUMP_MAX_THREADS; k++)
		if (g->slots[k].tid == tid && g->slots[k].ready)
			return 1;
	return 0;
}

static int thread_alive(int tid)
{
	return syscall(SYS_tgkill, getpid(), tid, 0) == 0;
}

/* Names a thread that can never arrive because it blocks the checkpoint
 * signal (glibc's helper thread for SIGEV_THREAD timers blocks every signal
 * and waits in sigwaitinfo); 1 if tid is one, 0 if not or unknown. */
static int blocks_our_signal(struct dump_ctx *d, int tid)
{
	char path[64], buf[4096], who[64];
	struct sb s;
	sb_init(&s, path, sizeof(path));
	sb_str(&s, "/proc/self/task/");
	sb_u64(&s, (uint64_t)tid);
	sb_str(&s, "/status");
	long n = d_read_file(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *blk = strstr(buf, "SigBlk:"), *name = strstr(buf, "Name:");
	if (!blk)
		return 0;
	blk += 7;
	while (*blk == '\t' || *blk == ' ')
		blk++;
	if (!(d_parse_hex(&blk) & (1ull << (d->req->thread_signal - 1))))
		return 0;
	sb_init(&s, who, sizeof(who));
	sb_u64(&s, (uint64_t)tid);
	if (name) {
		for (name += 5; *name == '\t' || *name == ' '; name++)
			;
		const char *e = strchr(name, '\n');
		sb_str(&s, " (");
		sb_mem(&s, name, e ? (size_t)(e - name) : d_strlen(name));
		sb_str(&s, ")");
	}
	ERR(&d->err, "threads",
	    "a thread blocks the checkpoint signal, so it cannot be stopped (glibc's helper thread for SIGEV_THREAD timers does: such a "
	    "program cannot be checkpointed); thread",
	    who, 0);
	return 1;
}

int dump_stop_threads(struct dump_ctx *d)
{
	struct dump_state *g = &durun_g;
	int sent[DUMP_MAX_THREADS], nsent = 0, expect;
	unsigned timeout_ms = d->req->thread_timeout_ms ? d->req->thread_timeout_ms : 2000;
	uint64_t deadline = d_now_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ull;

	/* Rescan until a pass finds no new thread and everyone signalled is parked
	 * (a thread may be created while we stop the others). */
	for (;;) {
		int added = signal_new_threads(d, sent, &nsent);
		if (added < 0)
			return -1;
		expect = nsent;
		while (__atomic_load_n(&g->arrived, __ATOMIC_ACQUIRE) < expect) {
			struct timespec ts = { 0, 20 * 1000000 };
			int cur = g->arrived;
			if (d_now_ns(CLOCK_MONOTONIC) > deadline) {
				/* Threads that exited before handling the signal never arrive. */
				int gone = 0;
				for (int i = 0; i < nsent; i++)
					if (!is_parked(sent[i]) && !thread_alive(sent[i]))
						gone++;
				if (g->arrived + gone >= expect) {
					expect -= gone;
					break;
				}
				for (int i = 0; i < nsent; i++) /* a parked one blocks it too: inside its handler */
					if (!is_parked(sent[i]) && blocks_our_signal(d, sent[i]))
						return -1;
				ERR(&d->err, "threads",
				    "a thread did not stop in time (is the checkpoint signal blocked or its handler not calling durun_ckpt_on_signal?)",
				    "", 0);
				return -1;
			}
			futex(&g->arrived, FUTEX_WAIT, cur, &ts);
		}
		if (added == 0)
			break;
	}
	if (g->nslots > DUMP_MAX_THREADS) {
		ERR(&d->err, "threads", "too many threads (limit 256)", "", 0);
		return -1;
	}
	return 0;
}

void dump_release_threads(struct dump_ctx *d)
{
	struct dump_state *g = &durun_g;
	int parked = g->arrived;
	(void)d;
	__atomic_fetch_add(&g->release, 1, __ATOMIC_SEQ_CST);
	futex(&g->release, FUTEX_WAKE, 0x7fffffff, NULL);
	/* Wait until they left the handler so the next dump starts clean. */
	while (__atomic_load_n(&g->departed, __ATOMIC_ACQUIRE) < parked) {
		struct timespec ts = { 0, 50 * 1000000 };
		int cur = g->departed;
		futex(&g->departed, FUTEX_WAIT, cur, &ts);
	}
}
