/* fork, _Fork and vfork. The child inherits the parent's link; anything it
 * sent there would be the parent's, so it opens its own and registers
 * (hello reason "fork") before fork() returns to the program. */
#include "preload.h"

#include <errno.h>
#include <unistd.h>

/* parent: the forking process's pid, taken before the fork. The child's
 * getppid() would race with a parent that exits at once, as in
 * `(setsid daemon &)`, and name init or a subreaper instead. */
static pid_t after_fork(pid_t pid, pid_t parent)
{
	if (pid != 0 || !conf.active)
		return pid;
	int saved = errno;
	conf.started_ms = now_ms();
	/* Even when the supervisor is unreachable, link_reopen drops the
	 * parent's copy. */
	if (link_reopen() == 0)
		link_hello("fork", parent);
	errno = saved;
	return 0;
}

#define FORK_WITH(fn)                                            \
	do {                                                     \
		pid_t parent_ = conf.active ? getpid() : 0;      \
		return after_fork(REAL(fn)(), parent_);          \
	} while (0)

DURUN_EXPORT pid_t fork(void)
{
	FORK_WITH(fork);
}

DURUN_EXPORT pid_t _Fork(void)
{
	FORK_WITH(_Fork);
}

/* vfork as fork: a vfork child may only exec or _exit, which a fork child
 * also can, and a real copy lets the child register and build the repaired
 * exec environment without touching the parent's memory. */
DURUN_EXPORT pid_t vfork(void)
{
	FORK_WITH(fork);
}
