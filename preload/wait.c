/* The wait family reports every child it reaps (`reaped`), which is how the
 * supervisor learns the end of children that could not load libdurun.so
 * (static, setuid) and how a SIGKILLed process's death gets its signal.
 * The return value and errno reach the program unchanged. */
#include "preload.h"

#include <errno.h>

/* After a wait/waitpid/wait3/wait4 that returned pid with status. */
static void seen_status(pid_t pid, int status)
{
	if (!conf.active || pid <= 0)
		return;
	if (WIFEXITED(status))
		msg_reaped(pid, 0, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		msg_reaped(pid, 1, WTERMSIG(status));
}

/* The caller may pass NULL for the status; we still need it. */
#define WAIT_BODY(call_with_status)                     \
	int own_ = 0;                                   \
	int *st_ = status ? status : &own_;             \
	pid_t pid = call_with_status;                   \
	int err_ = errno;                               \
	seen_status(pid, *st_);                         \
	errno = err_;                                   \
	return pid

DURUN_EXPORT pid_t wait(int *status)
{
	WAIT_BODY(REAL(wait)(st_));
}

DURUN_EXPORT pid_t waitpid(pid_t which, int *status, int options)
{
	WAIT_BODY(REAL(waitpid)(which, st_, options));
}

DURUN_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
	WAIT_BODY(REAL(wait3)(st_, options, ru));
}

DURUN_EXPORT pid_t wait4(pid_t which, int *status, int options, struct rusage *ru)
{
	WAIT_BODY(REAL(wait4)(which, st_, options, ru));
}

DURUN_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	int rc = REAL(waitid)(idtype, id, info, options);
	int err = errno;
	if (conf.active && rc == 0 && info && info->si_pid > 0 && !(options & WNOWAIT)) {
		if (info->si_code == CLD_EXITED)
			msg_reaped(info->si_pid, 0, info->si_status);
		else if (info->si_code == CLD_KILLED || info->si_code == CLD_DUMPED)
			msg_reaped(info->si_pid, 1, info->si_status);
	}
	errno = err;
	return rc;
}
