/* fork, _Fork and vfork. The child inherits the parent's link; anything it
 * sent there would be the parent's, so it opens its own and registers
 * (hello reason "fork") before fork() returns to the program. */
#include "preload.h"

#include <errno.h>

static pid_t after_fork(pid_t pid)
{
	if (pid != 0 || !conf.active)
		return pid;
	int saved = errno;
	conf.started_ms = now_ms();
	/* Even when the supervisor is unreachable, link_reopen drops the
	 * parent's copy. */
	if (link_reopen() == 0)
		link_hello("fork");
	errno = saved;
	return 0;
}

DURUN_EXPORT pid_t fork(void)
{
	return after_fork(REAL(fork)());
}

DURUN_EXPORT pid_t _Fork(void)
{
	return after_fork(REAL(_Fork)());
}

/* vfork as fork: a vfork child may only exec or _exit, which a fork child
 * also can, and a real copy lets the child register and build the repaired
 * exec environment without touching the parent's memory. */
DURUN_EXPORT pid_t vfork(void)
{
	return after_fork(REAL(fork)());
}
