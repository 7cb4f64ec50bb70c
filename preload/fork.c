/* New processes that are copies of this one. The child inherits the
 * parent's link; anything it sent there would be the parent's, so it opens
 * its own and registers (hello reason "fork", ppid = the process it was
 * forked from, which getppid() would get wrong once a quick parent exits, as
 * in `(setsid daemon &)`).
 *
 * fork() itself is not interposed: a pthread_atfork child handler sees it,
 * and also the forks glibc makes internally past our names (daemon(3)).
 * _Fork runs no handlers and vfork is replaced, so both are interposed. A
 * fork nothing here saw (a raw clone syscall) is caught by link_send, which
 * notices the pid changed. */
#include "preload.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

void fork_child(void)
{
	if (!conf.active)
		return;
	int saved = errno;
	pid_t parent = conf.pid;
	conf.pid = getpid();
	conf.started_ms = now_ms();
	/* Even when the supervisor is unreachable, link_reopen drops the
	 * parent's copy. */
	if (link_reopen() == 0)
		link_hello("fork", parent);
	errno = saved;
}

void fork_install(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

DURUN_EXPORT pid_t _Fork(void)
{
	pid_t pid = REAL(_Fork)();
	if (pid == 0)
		fork_child();
	return pid;
}

/* vfork as fork: a vfork child may only exec or _exit, which a fork child
 * also can, and a real copy lets the child register and build the repaired
 * exec environment without touching the parent's memory. (A wrapper cannot
 * call the real vfork: the child would return through our stack frame and
 * wreck the suspended parent's.) */
DURUN_EXPORT pid_t vfork(void)
{
	return REAL(fork)();
}
