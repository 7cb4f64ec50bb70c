/* New processes that are copies of this one.
 *
 * fork(), _Fork(), vfork() and forkpty() are interposed: the parent reports
 * the new child on its own link (`fork{pid,child}`: one send, no connect),
 * and the child registers lazily. It sets its inherited copy of the parent's
 * link aside (anything sent there as the child's own would be taken for the
 * parent's) and connects only when it has something to say: its exit, a
 * child it forks or reaps, the call-home signal (a checkpoint reaches it
 * that way). A child that execs announces the exec on that copy (one send,
 * `exec` with its own pid), and the new image starts lazy (exec.c). So a
 * fork+exec costs the parent one send and the child one, and nobody
 * connects.
 *
 * The child's part runs in our wrapper, after the real fork returned: no
 * pthread_atfork handler, whose registration alone costs every new image
 * two page faults. A fork inside glibc we do not interpose, or a raw clone
 * syscall, is noticed later by its changed pid: at its first message
 * (link_send) or at the call-home signal (fork_child_catch_up), where the
 * child registers as hello "fork" with ppid = the forking process (the
 * parent may already be gone in a `(setsid cmd &)` double fork). */
#include "preload.h"

#include <errno.h>
#include <pty.h>
#include <utmp.h>
#include <unistd.h>

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
 * syscalls only (getpid, close): errno stays as it was and no libc page is
 * touched. */
static void fork_child_deferred(void)
{
	if (conf.pid == durun_getpid())
		return; /* fork_child_catch_up did it already */
	pid_t parent = conf.pid;
	conf.pid = durun_getpid();
	link_defer(parent);
}

/* Called first by the call-home handler. The signal may reach a fork child
 * before our wrapper has done the child's part (the parent reports the
 * child, and the supervisor signals it, while the child has not run yet),
 * or in the child of a fork nobody reported: the child still holds its
 * parent's link, and reading it would take the parent's checkpoint
 * command. Register as the parent's child now. */
void fork_child_catch_up(void)
{
	if (conf.active && conf.pid != durun_getpid())
		fork_child();
}

static pid_t reported(pid_t pid)
{
	if (pid == 0)
		fork_child_deferred();
	else if (pid > 0)
		msg_fork(pid);
	return pid;
}

DURUN_EXPORT pid_t fork(void)
{
	pid_t pid = REAL(fork)();
	return conf.active ? reported(pid) : pid;
}

DURUN_EXPORT pid_t _Fork(void)
{
	pid_t pid = REAL(_Fork)();
	return conf.active ? reported(pid) : pid;
}

/* vfork as fork: a vfork child may only exec or _exit, which a fork child
 * also can, and a real copy lets the child build the repaired exec
 * environment without touching the parent's memory. (A wrapper cannot call
 * the real vfork: the child would return through our stack frame and wreck
 * the suspended parent's.) */
DURUN_EXPORT pid_t vfork(void)
{
	return fork();
}

/* glibc's forkpty forks inside libc, past our name: the same function built
 * on our fork, so its child is reported like any other. */
DURUN_EXPORT pid_t forkpty(int *amaster, char *name, const struct termios *termp, const struct winsize *winp)
{
	if (!conf.active)
		return REAL(forkpty)(amaster, name, termp, winp);
	int master, slave;
	if (openpty(&master, &slave, name, termp, winp) == -1)
		return -1;
	pid_t pid = fork();
	if (pid == -1) {
		int err = errno;
		close(master);
		close(slave);
		errno = err;
		return -1;
	}
	if (pid == 0) {
		close(master);
		if (login_tty(slave) != 0)
			_exit(1);
		return 0;
	}
	*amaster = master;
	close(slave);
	return pid;
}
