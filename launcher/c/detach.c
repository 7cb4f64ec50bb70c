/* `durun --detach`: the runner becomes a daemon in its own session and the
 * durun command waits only until it says the program started (or why not).
 * The daemon's stderr is the report channel until then, so every message it
 * prints while starting reaches the operator's terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

static void __attribute__((noreturn)) daemon_side(struct durun *d, int rep)
{
	int nul = open("/dev/null", O_RDWR);
	if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 || dup2(nul, STDOUT_FILENO) < 0 ||
	    dup2(rep, STDERR_FILENO) < 0) {
		note_err(errno, "cannot set up the detached runner's stdio");
		_exit(1);
	}
	close(nul);
	d->tty = 0;
	runner_main(d, rep);
}

int detach_run(struct durun *d)
{
	int sp[2];
	/* A socket, not a pipe: MSG_NOSIGNAL-free writes to a gone reader then
	 * fail with EPIPE, which the runner ignores. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		note_err(errno, "cannot create the report channel");
		return 1;
	}
	pid_t mid = fork();
	if (mid < 0) {
		note_err(errno, "cannot fork the detached runner");
		return 1;
	}
	if (mid == 0) {
		close(sp[0]);
		if (setsid() < 0) {
			note_err(errno, "setsid");
			_exit(1);
		}
		pid_t pid = fork();
		if (pid < 0) {
			note_err(errno, "cannot fork the detached runner");
			_exit(1);
		}
		if (pid == 0)
			daemon_side(d, sp[1]);
		_exit(0);
	}
	close(sp[1]);
	int st;
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;

	/* Relay the daemon's messages until "=started PROGRAM PID" or EOF. */
	char buf[4096];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(sp[0], buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		char *nl;
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			long long program;
			int pid;
			if (sscanf(buf, "=started %lld %d", &program, &pid) == 2) {
				printf("durun: started group %s (program %lld, pid %d); logs: durun logs %s\n",
				       d->group, program, pid, d->group);
				return fflush(stdout) == 0 ? 0 : 1;
			}
			dprintf(STDERR_FILENO, "%s\n", buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof buf - 1) { /* a line too long for us: pass it on */
			dprintf(STDERR_FILENO, "%s\n", buf);
			len = 0;
		}
	}
	note("the detached runner for %s stopped before the program started", d->group);
	return 1;
}
