/* Messages, clocks and install paths shared by the other files. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

/* One write per message, so lines of concurrent writers never interleave. */
static void emit(const char *prefix, int err, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "%s", prefix);
	n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	if (err)
		n += snprintf(line + n, sizeof line - (size_t)n, ": %s", strerror(err));
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	/* Nothing sensible to do if stderr itself is gone. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit("durun: ", 0, fmt, ap);
	va_end(ap);
}

void note_err(int err, const char *fmt, ...)
{
	char prefix[32];
	va_list ap;
	snprintf(prefix, sizeof prefix, "durun[%ld]: ", (long)getpid());
	va_start(ap, fmt);
	emit(prefix, err, fmt, ap);
	va_end(ap);
}

long long now_ms(void)
{
	struct timespec ts;
	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int status_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return EXIT_SIGBASE + WTERMSIG(wstatus);
	return 1;
}

int find_root(char *out, size_t n)
{
	char exe[PATH_MAX];
	if (!realpath("/proc/self/exe", exe)) {
		note_err(errno, "cannot resolve /proc/self/exe to find the install root");
		return -1;
	}
	/* <root>/build/durun: drop two components. */
	for (int k = 0; k < 2; k++) {
		char *slash = strrchr(exe, '/');
		if (!slash || slash == exe) {
			note("cannot find the install root above %s; durun must live in <root>/build/", exe);
			return -1;
		}
		*slash = '\0';
	}
	if ((size_t)snprintf(out, n, "%s", exe) >= n) {
		note("install root path too long: %s", exe);
		return -1;
	}
	return 0;
}

int find_node(char *out, size_t n, const char *why)
{
	const char *env = getenv("DURUN_NODE");
	if (env && *env) {
		if (access(env, X_OK) < 0) {
			note_err(errno, "cannot %s: DURUN_NODE=%s", why, env);
			return -1;
		}
		if ((size_t)snprintf(out, n, "%s", env) >= n)
			return -1;
		return 0;
	}
	if (path_lookup("node", out, n) < 0) {
		note("cannot %s: node not found in PATH; install Node.js >= 20 or set DURUN_NODE", why);
		return -1;
	}
	return 0;
}

ssize_t read_report(int fd, void *buf, size_t n)
{
	ssize_t got;
	do
		got = read(fd, buf, n);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		note_err(errno, "cannot read from a child's report pipe");
	close(fd);
	return got;
}
