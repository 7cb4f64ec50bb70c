/* Pending signals. Log prefix "signals". The kernel lets a process read a
 * pending signal's siginfo only by taking it (sigtimedwait, signalfd;
 * PTRACE_PEEKSIGINFO is for another process), and lets it queue a signal
 * with a siginfo of its choosing (rt_sigqueueinfo, rt_tgsigqueueinfo, any
 * si_code) only to itself: a thread-directed one from that very thread, a
 * process-directed one from the main thread (tid = pid). So each thread,
 * in its checkpoint handler before its resume point, takes its own pending
 * signals (/proc/thread-self/status SigPnd), and the main thread those of
 * the process too (ShdPnd), into `pool`, which is in the library's memory
 * and so in the image. After the dump, and again after a restore, the same
 * thread queues them again, in the order taken (real-time signals keep
 * their order and every instance). The checkpoint signal itself is left
 * alone (it is ours); SIGKILL and SIGSTOP cannot be taken. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <time.h>
#include "dump.h"

#define SIG_POOL 1024

struct taken_sig {
	int32_t tid;      /* the thread that took it and gives it back */
	int32_t shared;   /* 1: the process's (ShdPnd), 0: the thread's own (SigPnd) */
	siginfo_t si;
};

static struct {
	volatile int n;        /* entries used */
	volatile int overflow; /* a thread found more than SIG_POOL pending */
	struct taken_sig e[SIG_POOL];
} pool;

void signals_reset(void)
{
	/* written only if it was used: an untouched pool stays out of incremental images */
	if (pool.n || pool.overflow) {
		pool.n = 0;
		pool.overflow = 0;
	}
}

int signals_check(struct dump_ctx *d)
{
	if (!pool.overflow)
		return 0;
	ERR(&d->err, "signals", "more pending signals than a checkpoint carries (1024)", "", E2BIG);
	return -1;
}

static uint64_t status_mask(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	if (!p)
		return 0;
	p += d_strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	return d_parse_hex(&p);
}

/* This thread's own pending set and the process's, from /proc/thread-self/status. */
static int pending_sets(uint64_t *own, uint64_t *shared)
{
	char buf[4096];
	long n = d_read_file("/proc/thread-self/status", buf, sizeof(buf) - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	*own = status_mask(buf, "SigPnd:");
	*shared = status_mask(buf, "ShdPnd:");
	return 0;
}

void signals_take(void)
{
	uint64_t pend = 0, own, shared;
	int tid = (int)syscall(SYS_gettid), main_thread = tid == getpid();
	/* Blocked pending signals only: one not blocked would have been delivered
	 * already (this thread runs). Cheap, so threads with none read no file. */
	if (syscall(SYS_rt_sigpending, &pend, 8) || pend == 0)
		return;
	for (int sig = 1; sig <= 64; sig++) {
		uint64_t bit = 1ull << (sig - 1);
		if (!(pend & bit) || sig == SIGKILL || sig == SIGSTOP || sig == durun_g.thread_signal)
			continue;
		/* the kernel hands out the thread's own instances first, then the
		 * process's: the status file says which one the next take gets */
		while (pending_sets(&own, &shared) == 0 && ((own & bit) || (main_thread && (shared & bit)))) {
			int from_shared = !(own & bit);
			uint64_t set = bit;
			struct timespec now = { 0, 0 };
			siginfo_t si;
			int at = __atomic_fetch_add(&pool.n, 1, __ATOMIC_SEQ_CST);
			if (at >= SIG_POOL) {
				__atomic_fetch_sub(&pool.n, 1, __ATOMIC_SEQ_CST);
				pool.overflow = 1; /* the rest stays pending here; the dump fails */
				return;
			}
			if (syscall(SYS_rt_sigtimedwait, &set, &si, &now, 8) != sig) {
				/* an empty slot no one gives back */
				pool.e[at].tid = 0;
				break;
			}
			pool.e[at].shared = from_shared;
			pool.e[at].si = si;
			__atomic_store_n(&pool.e[at].tid, tid, __ATOMIC_RELEASE);
		}
	}
}

void signals_give_back(void)
{
	int tid = (int)syscall(SYS_gettid), pid = getpid(), n = __atomic_load_n(&pool.n, __ATOMIC_ACQUIRE);
	uint64_t all = ~0ull, old = 0;
	int blocked = 0;
	for (int i = 0; i < n && i < SIG_POOL; i++) {
		struct taken_sig *e = &pool.e[i];
		if (e->tid != tid)
			continue;
		if (!blocked) {
			/* delivered once every one is back, in their order */
			syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
			blocked = 1;
		}
		/* cannot fail for the caller's own signals but by RLIMIT_SIGPENDING,
		 * which the same signals met a moment ago */
		if (e->shared)
			syscall(SYS_rt_sigqueueinfo, pid, e->si.si_signo, &e->si);
		else
			syscall(SYS_rt_tgsigqueueinfo, pid, tid, e->si.si_signo, &e->si);
		e->tid = 0; /* given back: not twice */
	}
	if (blocked)
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
}
