/* New processes that are copies of this one.
 *
 * fork(), _Fork() and vfork() are interposed: the parent reports the new
 * child on its own link (`fork{pid,child}`: one send, no connect), and the
 * child registers lazily. It drops its inherited copy of the parent's link
 * (anything sent there would be taken for the parent's, and a child holding
 * it would keep the parent's link open after the parent died) and connects
 * only when it has something to say: its exit, a child it forks or reaps,
 * the call-home signal (a checkpoint reaches it that way). A child that
 * execs sends nothing at all: the new image registers itself (hello "load").
 * So a fork+exec costs one send in the parent instead of a connect and a
 * hello in the child.
 *
 * A pthread_atfork child handler sees every fork that runs the handlers,
 * glibc-internal ones too (forkpty). Those have no parent report, so their
 * child registers at once as before (hello reason "fork", ppid = the forking
 * process: the parent may already be gone in a `(setsid cmd &)` double
 * fork). A fork nothing here saw (a raw clone syscall) is caught by
 * link_send, which notices the pid changed. */
#include "preload.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

/* Set around the real fork in our wrapper to the forking process's pid:
 * tells the atfork child handler that the parent will report this child.
 * A pid rather than a flag, so the child needs not write it back (every
 * page a fork child writes is a copy-on-write fault): in the child it is
 * stale at once, since the child's conf.pid changes. */
static DURUN_TLS pid_t reporting_for;

void fork_child(void)
{
	if (!conf.active)
		return;
	int saved = errno;
	pid_t parent = conf.pid;
	conf.pid = durun_getpid();
	conf.started_ms = now_ms();
	atomic_store(&conf.lazy_parent, 0);
	link_drop_inherited();
	/* Even when the supervisor is unreachable, link_reopen drops the
	 * parent's copy. */
	if (link_reopen() == 0)
		link_hello("fork", parent);
	errno = saved;
}

/* The child of a fork its parent reports: nothing to send yet. Raw
 * syscalls only (getpid, close of the inherited link): errno stays as it
 * was and no libc page is touched. */
static void fork_child_deferred(void)
{
	if (conf.pid == durun_getpid())
		return; /* fork_child_catch_up did it already */
	pid_t parent = conf.pid;
	conf.pid = durun_getpid();
	link_defer(parent);
}

static void at_fork_child(void)
{
	if (!conf.active || conf.pid == durun_getpid())
		return; /* not a fork child, or fork_child_catch_up did it already */
	if (reporting_for == conf.pid)
		fork_child_deferred();
	else
		fork_child();
}

/* Called first by the call-home handler. The kernel may deliver a signal
 * to a fork child before glibc's fork has run our atfork handler (the
 * parent reports the child, and the supervisor signals it, while the child
 * has not run yet): the child still holds its parent's link, and reading it
 * would take the parent's checkpoint command. Do the child's part now. */
void fork_child_catch_up(void)
{
	at_fork_child();
}

void fork_install(void)
{
	pthread_atfork(NULL, NULL, at_fork_child);
}

static pid_t reporting_fork(void)
{
	if (!conf.active)
		return REAL(fork)();
	reporting_for = conf.pid;
	pid_t pid = REAL(fork)();
	if (pid != 0) {
		reporting_for = 0;
		if (pid > 0)
			msg_fork(pid);
	}
	return pid;
}

DURUN_EXPORT pid_t fork(void)
{
	return reporting_fork();
}

DURUN_EXPORT pid_t _Fork(void)
{
	pid_t pid = REAL(_Fork)();
	if (!conf.active)
		return pid;
	if (pid == 0)
		fork_child_deferred();
	else if (pid > 0)
		msg_fork(pid);
	return pid;
}

/* vfork as fork: a vfork child may only exec or _exit, which a fork child
 * also can, and a real copy lets the child build the repaired exec
 * environment without touching the parent's memory. (A wrapper cannot call
 * the real vfork: the child would return through our stack frame and wreck
 * the suspended parent's.) */
DURUN_EXPORT pid_t vfork(void)
{
	return reporting_fork();
}
