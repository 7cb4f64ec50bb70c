/* The exec family. Each call tells the supervisor what is about to run
 * (`exec`), hands the new image a repaired environment so it loads
 * libdurun.so and keeps its identity, and reports `exec-failed` if the real
 * call returns. Every variant funnels into exec_common, which calls the
 * matching real function: glibc's own execvp/execl/fexecve reach execve
 * internally, past our names, so each variant must be interposed itself. */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

enum how { BY_PATH, BY_SEARCH, BY_FD };

/* The path the supervisor is shown for execveat/fexecve: what dirfd refers
 * to, joined with path when path is relative. snprintf-free: exec must stay
 * async-signal-safe. */
static const char *fd_path(char *out, size_t cap, int dirfd, const char *path)
{
	if (path[0] == '/' || dirfd == AT_FDCWD)
		return path;
	char link[32] = "/proc/self/fd/";
	char digits[12];
	int i = sizeof digits;
	unsigned u = (unsigned)dirfd;
	digits[--i] = '\0';
	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	strcat(link, digits + i);
	ssize_t n = readlink(link, out, cap - 1);
	if (n <= 0)
		return path;
	out[n] = '\0';
	if (*path && (size_t)n + 1 + strlen(path) < cap) {
		out[n] = '/';
		strcpy(out + n + 1, path);
	}
	return out;
}

/* The exec message. Apart, so the PATH_MAX buffer of execveat/fexecve is
 * not part of every exec's stack frame (each stack page a fork child writes
 * is a copy-on-write fault). */
__attribute__((noinline)) static void report_by_fd(int dirfd, const char *path, char *const argv[])
{
	char shown[PATH_MAX];
	msg_exec(fd_path(shown, sizeof shown, dirfd, path), argv);
}

__attribute__((noinline)) static int announce_by_fd(int dirfd, const char *path, char *const argv[])
{
	char shown[PATH_MAX];
	return msg_exec_announce(fd_path(shown, sizeof shown, dirfd, path), argv);
}

/* The new image's end will be reported by its parent's `reaped`: SIGCHLD
 * is not ignored (nor SA_NOCLDWAIT) here, which a fork child inherits from
 * its parent. The raw call: the kernel's sigaction, no libc page. */
static int reaped_by_parent(void)
{
	struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } ka;
	if (sys4(SYS_rt_sigaction, SIGCHLD, 0, (long)&ka, 8) != 0)
		return 0;
	return ka.handler != (void *)SIG_IGN && !(ka.flags & SA_NOCLDWAIT);
}

static int exec_common(enum how how, int dirfd, const char *path, char *const argv[],
		       char *const envp[], int flags)
{
	if (!conf.active) {
		switch (how) {
		case BY_PATH: return REAL(execve)(path, argv, envp);
		case BY_SEARCH: return REAL(execvpe)(path, argv, envp);
		default: return REAL(execveat)(dirfd, path, argv, envp, flags);
		}
	}
	ENV_REPAIRED(env, envp);
	/* A fork child that has not registered announces the exec on the copy
	 * of its parent's link it kept, and the new image starts lazy: it
	 * registers only when it must speak (ARCHITECTURE.md, role `proc`). If
	 * it cannot (no copy, a long argv, a parent that lets the kernel reap
	 * its children so no `reaped` would tell the end), it says nothing and
	 * the new image registers itself; an image that cannot (static,
	 * setuid) is found in /proc by the supervisor, which knows the child
	 * from the parent. */
	int quiet = link_deferred();
	int announced = quiet && env_is_ours(env) && reaped_by_parent() &&
			(how == BY_FD ? announce_by_fd(dirfd, path, argv) : msg_exec_announce(path, argv)) == 0;
	if (announced)
		env_mark_lazy(env);
	else if (!quiet && how == BY_FD)
		report_by_fd(dirfd, path, argv);
	else if (!quiet)
		msg_exec(path, argv);
	if (conf.signo > 0)
		callhome_hold(1);
	switch (how) {
	case BY_PATH: REAL(execve)(path, argv, env); break;
	case BY_SEARCH: REAL(execvpe)(path, argv, env); break;
	default: REAL(execveat)(dirfd, path, argv, env, flags); break;
	}
	int err = errno;
	if (conf.signo > 0)
		callhome_hold(0);
	if (announced)
		msg_exec_failed_announced(err);
	else if (!quiet)
		msg_exec_failed(err);
	errno = err;
	return -1;
}

DURUN_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return exec_common(BY_PATH, AT_FDCWD, path, argv, envp, 0);
}

DURUN_EXPORT int execv(const char *path, char *const argv[])
{
	return exec_common(BY_PATH, AT_FDCWD, path, argv, environ, 0);
}

DURUN_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return exec_common(BY_SEARCH, AT_FDCWD, file, argv, envp, 0);
}

DURUN_EXPORT int execvp(const char *file, char *const argv[])
{
	return exec_common(BY_SEARCH, AT_FDCWD, file, argv, environ, 0);
}

DURUN_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	return exec_common(BY_FD, dirfd, path, argv, envp, flags);
}

DURUN_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	return exec_common(BY_FD, fd, "", argv, envp, AT_EMPTY_PATH);
}

/* execl, execlp, execle: gather the variadic list into a stack argv (VLA, no
 * malloc); for execle the environment follows the terminating NULL. */
#define GATHER_ARGS(argv, arg, envp_out, with_env)                        \
	va_list ap;                                                       \
	size_t argc_ = 1;                                                 \
	va_start(ap, arg);                                                \
	while (va_arg(ap, char *))                                        \
		argc_++;                                                  \
	va_end(ap);                                                       \
	char *argv[argc_ + 1];                                            \
	argv[0] = (char *)(arg);                                          \
	va_start(ap, arg);                                                \
	for (size_t i_ = 1; i_ <= argc_; i_++)                            \
		argv[i_] = va_arg(ap, char *);                            \
	if (with_env)                                                     \
		envp_out = va_arg(ap, char *const *);                     \
	va_end(ap)

DURUN_EXPORT int execl(const char *path, const char *arg, ...)
{
	char *const *envp = environ;
	GATHER_ARGS(argv, arg, envp, 0);
	return exec_common(BY_PATH, AT_FDCWD, path, argv, envp, 0);
}

DURUN_EXPORT int execlp(const char *file, const char *arg, ...)
{
	char *const *envp = environ;
	GATHER_ARGS(argv, arg, envp, 0);
	return exec_common(BY_SEARCH, AT_FDCWD, file, argv, envp, 0);
}

DURUN_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp = NULL;
	GATHER_ARGS(argv, arg, envp, 1);
	return exec_common(BY_PATH, AT_FDCWD, path, argv, envp, 0);
}
