/* The call-home signal (DURUN_SIGNAL, default SIGRTMAX-3): a restarted
 * supervisor sends it to every process it adopts, and the handler opens a
 * new link and registers again (hello reason "callhome").
 *
 * The signal is hidden from the program: sigaction() and signal() for it
 * succeed and remember the program's wish (returned as the old action next
 * time), but our handler stays installed. The masks are in sigmask.c. */
#include "preload.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The action the program believes is installed. No lock: a lock taken here
 * could deadlock a program that calls sigaction from a signal handler, and
 * a torn copy needs two threads changing this one signal at once. */
static struct sigaction wished = { .sa_handler = SIG_DFL };

static void handler(int sig, siginfo_t *info, void *ctx)
{
	int saved = errno;
	fork_child_catch_up();
	/* A checkpoint request (ckpt.c) waits on the link; else call home (a
	 * lazy image or a silent fork child registers as it would have). */
	if (!ckpt_on_signal(sig, info, ctx) && !exit_reported() && !link_register_pending() && link_reopen() == 0)
		link_hello("callhome", 0);
	errno = saved;
}

void callhome_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	REAL(sigaction)(conf.signo, &sa, NULL);
	/* A blocked mask is inherited across exec; the signal must get through.
	 * The raw call (the kernel's 8-byte set): unblocking needs none of
	 * glibc's filtering, and its wrapper sits on a page few programs touch. */
	callhome_hold(0);
}

void callhome_hold(int hold)
{
	/* The kernel's 8-byte set, by the raw call: no libc page touched in a
	 * fork child about to exec or a new image. */
	unsigned long set = 1UL << (conf.signo - 1);
	sys4(SYS_rt_sigprocmask, hold ? SIG_BLOCK : SIG_UNBLOCK, (long)&set, 0, 8);
}

static int is_ours(int sig)
{
	return conf.active && conf.signo > 0 && sig == conf.signo;
}

static void swap_wish(const struct sigaction *act, struct sigaction *oldact)
{
	struct sigaction prev = wished;
	if (act)
		wished = *act;
	if (oldact)
		*oldact = prev;
}

DURUN_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact)
{
	if (!is_ours(sig))
		return REAL(sigaction)(sig, act, oldact);
	swap_wish(act, oldact);
	return 0;
}

DURUN_EXPORT sighandler_t signal(int sig, sighandler_t fn)
{
	if (!is_ours(sig))
		return REAL(signal)(sig, fn);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	swap_wish(&sa, &old);
	return old.sa_handler;
}
