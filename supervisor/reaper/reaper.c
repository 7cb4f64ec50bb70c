/*
 * durun-reap: runs one command (a health check, an on_event hook) as a child
 * subreaper, so that nothing it starts can outlive it or be left a zombie.
 *
 *   durun-reap -- CMD [ARGS...]
 *
 * Exits with CMD's status (128+N when signal N killed it) once CMD has ended;
 * whatever CMD left running is SIGKILLed and reaped first. On SIGTERM, SIGINT,
 * SIGHUP, or when its parent (the supervisor) dies, it SIGKILLs the whole tree,
 * reaps it and exits 128+SIGKILL. Descendants that double-fork or call setsid
 * still re-parent to us (PR_SET_CHILD_SUBREAPER), so /proc parentage finds them.
 *
 * Why a helper: pid 1 of this machine kind does not reap orphans, and Node
 * cannot be a subreaper without stealing libuv's children.
 *
 * Exit codes: CMD's status; 126 CMD not executable; 127 CMD not found;
 * 137 the tree was killed on request; 125 durun-reap itself failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) { (void)sig; stop_requested = 1; }

/* Parent pid of pid from /proc/PID/stat (comm may hold spaces and ')'), -1 if gone. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f) return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int ppid;
	if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1) return -1;
	return ppid;
}

/* SIGKILLs every live descendant of us; returns how many it signalled. */
static int kill_descendants(void)
{
	pid_t me = getpid();
	int killed = 0;
	DIR *d = opendir("/proc");
	if (!d) { fprintf(stderr, "durun-reap: cannot open /proc: %s\n", strerror(errno)); return 0; }
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || pid == me) continue;
		/* Walk up at most 64 levels: a descendant has us as an ancestor. */
		pid_t up = pid;
		for (int depth = 0; depth < 64 && up > 1; depth++) {
			up = parent_of(up);
			if (up == me) { if (kill(pid, SIGKILL) == 0) killed++; break; }
		}
	}
	closedir(d);
	return killed;
}

/* Kills and reaps until we have no child left. */
static void kill_and_reap_all(void)
{
	for (;;) {
		kill_descendants();
		if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD) return;
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[1], "--") != 0) {
		fprintf(stderr, "usage: durun-reap -- CMD [ARGS...]\n");
		return 125;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		fprintf(stderr, "durun-reap: prctl(PR_SET_CHILD_SUBREAPER): %s\n", strerror(errno));
		return 125;
	}
	pid_t parent = getppid();
	struct sigaction sa = { .sa_handler = on_stop }; /* no SA_RESTART: waitpid returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) stop_requested = 1; /* the parent died before PDEATHSIG was set */

	pid_t child = fork();
	if (child < 0) { fprintf(stderr, "durun-reap: fork: %s\n", strerror(errno)); return 125; }
	if (child == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, 0);
		execvp(argv[2], argv + 2);
		int err = errno;
		fprintf(stderr, "durun-reap: cannot run %s: %s\n", argv[2], strerror(err));
		_exit(err == ENOENT ? 127 : 126);
	}

	int code = -1;
	while (code < 0 && !stop_requested) {
		int st;
		pid_t got = waitpid(-1, &st, 0);
		if (got == child) code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		else if (got < 0 && errno != EINTR) break; /* ECHILD cannot happen before child is reaped */
	}
	kill_and_reap_all();
	return stop_requested && code < 0 ? 128 + SIGKILL : code < 0 ? 125 : code;
}
