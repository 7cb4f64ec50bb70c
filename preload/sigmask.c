/* sigprocmask and pthread_sigmask never block the call-home signal: it is
 * taken out of every set the program blocks or installs. The program's wish
 * is kept per thread and shown back in the old set, so a program that
 * blocks it and reads its mask back sees what it expects. */
#include "preload.h"

static DURUN_TLS int wished_blocked;

typedef int (*mask_fn)(int, const sigset_t *, sigset_t *);

static int filtered(mask_fn fn, int how, const sigset_t *set, sigset_t *oldset)
{
	if (!conf.active || conf.signo <= 0)
		return fn(how, set, oldset);
	int was = wished_blocked;
	sigset_t copy;
	if (set) {
		copy = *set;
		int asks = sig_has(set, conf.signo);
		if (how == SIG_SETMASK)
			wished_blocked = asks;
		else if (asks && how == SIG_BLOCK)
			wished_blocked = 1;
		else if (asks && how == SIG_UNBLOCK)
			wished_blocked = 0;
		sig_set(&copy, conf.signo, 0);
		set = &copy;
	}
	int rc = fn(how, set, oldset);
	if (rc != 0)
		wished_blocked = was;
	else if (oldset && was)
		sig_set(oldset, conf.signo, 1);
	return rc;
}

DURUN_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *oldset)
{
	return filtered(REAL(sigprocmask), how, set, oldset);
}

DURUN_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset)
{
	return filtered(REAL(pthread_sigmask), how, set, oldset);
}
