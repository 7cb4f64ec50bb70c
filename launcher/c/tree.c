/* The program's process tree, read from /proc. As a child subreaper the
 * runner inherits every orphan of the program, so "the tree" is exactly the
 * processes whose parent chain reaches the runner, minus any supervisor the
 * runner started (it re-parents to us too, but is not the program's). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

#define MAX_EXCLUDED 16
static pid_t excluded[MAX_EXCLUDED];

void tree_exclude(pid_t pid)
{
	for (int i = 0; i < MAX_EXCLUDED; i++)
		if (!excluded[i]) {
			excluded[i] = pid;
			return;
		}
	/* Full: keep the newest, an old one has most likely ended. */
	memmove(excluded, excluded + 1, sizeof excluded - sizeof excluded[0]);
	excluded[MAX_EXCLUDED - 1] = pid;
}

static int is_excluded(pid_t pid)
{
	for (int i = 0; i < MAX_EXCLUDED; i++)
		if (excluded[i] == pid)
			return 1;
	return 0;
}

int tree_forget_excluded(pid_t pid)
{
	for (int i = 0; i < MAX_EXCLUDED; i++)
		if (excluded[i] == pid) {
			excluded[i] = 0;
			return 1;
		}
	return 0;
}

struct proc {
	pid_t pid, ppid, sid;
	char state;
	int in_tree;
};

/* Reads pid, ppid, session and state from /proc/PID/stat. 0, or -1 if it is gone. */
static int read_stat(pid_t pid, struct proc *p)
{
	char path[32], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may contain spaces and parentheses: parse after the last ')'. */
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ' || !rp[2])
		return -1;
	p->pid = pid;
	p->state = rp[2];
	char *end;
	p->ppid = (pid_t)strtol(rp + 3, &end, 10);
	strtol(end, &end, 10); /* pgrp */
	p->sid = (pid_t)strtol(end, NULL, 10);
	p->in_tree = 0;
	return 0;
}

/* Another durun runner in a session of its own: a detached runner the
 * supervisor started (when we started that supervisor, its orphans re-parent
 * to us, the nearest subreaper) or one the program started with --detach.
 * Either is a program of its own, supervised on its own: never ours to signal. */
static int other_runner(const struct proc *p)
{
	static char self_exe[PATH_MAX];
	static pid_t own_sid = -1;
	if (own_sid < 0)
		own_sid = getsid(0);
	if (p->sid == own_sid)
		return 0;
	char path[64], comm[32] = "", exe[PATH_MAX];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)p->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, comm, sizeof comm - 1);
	close(fd);
	if (n <= 0 || strncmp(comm, "durun\n", 6) != 0)
		return 0;
	if (!self_exe[0]) {
		ssize_t m = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
		if (m <= 0)
			return 0;
		self_exe[m] = '\0';
	}
	snprintf(path, sizeof path, "/proc/%d/exe", (int)p->pid);
	ssize_t m = readlink(path, exe, sizeof exe - 1);
	if (m <= 0)
		return 0;
	exe[m] = '\0';
	return strcmp(exe, self_exe) == 0;
}

/* A growable list of pids. */
struct pids {
	pid_t *v;
	size_t n, cap;
};

static int pids_push(struct pids *l, pid_t pid)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		pid_t *grown = realloc(l->v, ncap * sizeof *grown);
		if (!grown)
			return -1;
		l->v = grown;
		l->cap = ncap;
	}
	l->v[l->n++] = pid;
	return 0;
}

/* Appends the pids listed in a /proc/PID/task/TID/children file. 0; 1 when
 * the file does not exist; -1 on any other error. */
static int read_children_file(const char *path, struct pids *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	char buf[4096];
	long cur = -1; /* the number being read, across reads */
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
			} else if (cur >= 0) {
				if (pids_push(out, (pid_t)cur) < 0) {
					close(fd);
					return -1;
				}
				cur = -1;
			}
		}
	}
	close(fd);
	if (n < 0)
		return -1;
	return cur >= 0 ? pids_push(out, (pid_t)cur) : 0;
}

/* Children of pid, from every thread's children file (a child belongs to the
 * thread that forked it). 0 (a gone process has none); 1 when the kernel has
 * no children files (CONFIG_PROC_CHILDREN); -1 on error. */
static int children_of(pid_t pid, struct pids *out)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/children", (int)pid, de->d_name);
		rc = read_children_file(path, out);
		/* A thread that just ended has no file; only the main thread's missing file means no support. */
		if (rc == 1 && strtol(de->d_name, NULL, 10) != pid)
			rc = 0;
	}
	closedir(dir);
	return rc;
}

/* The tree from the children files: each process of the tree is read once,
 * where a /proc walk reads every process of the machine (1,000 runners
 * stopping at once each read all of /proc: minutes). Returns the count of
 * live (non-zombie) processes put in *out, 0 with *out NULL when the kernel
 * has no children files, -1 on error. */
static int list_tree_by_children(pid_t **out)
{
	struct pids queue = { 0 }, live = { 0 };
	*out = NULL;
	int rc = pids_push(&queue, getpid()) < 0 ? -1 : 0;
	for (size_t next = 0; rc == 0 && next < queue.n; next++) {
		size_t first = queue.n;
		rc = children_of(queue.v[next], &queue);
		if (rc == 1 && next > 0) /* ended meanwhile, or a foreign task layout: no children of it */
			rc = 0;
		for (size_t i = first; rc == 0 && i < queue.n; ) {
			struct proc p;
			pid_t pid = queue.v[i];
			if (is_excluded(pid) || read_stat(pid, &p) < 0 || other_runner(&p)) {
				queue.v[i] = queue.v[--queue.n]; /* not of the program, or gone: not walked further */
				continue;
			}
			if (p.state != 'Z' && p.state != 'X' && pids_push(&live, pid) < 0)
				rc = -1;
			i++;
		}
	}
	free(queue.v);
	if (rc != 0) {
		free(live.v);
		if (rc < 0)
			note_err(errno ? errno : ENOMEM, "cannot read the program's processes from /proc");
		return rc < 0 ? -1 : 0;
	}
	*out = live.v ? live.v : malloc(sizeof(pid_t));
	if (!*out) {
		note_err(ENOMEM, "cannot list the program's processes");
		return -1;
	}
	return (int)live.n;
}

/* The tree by a walk of all of /proc, for kernels without children files. */
static int list_tree_by_walk(pid_t **out)
{
	DIR *dir = opendir("/proc");
	if (!dir) {
		note_err(errno, "cannot read /proc to find the program's processes");
		return -1;
	}
	struct proc *all = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 512;
			struct proc *grown = realloc(all, ncap * sizeof *all);
			if (!grown) {
				note_err(ENOMEM, "cannot list /proc");
				free(all);
				closedir(dir);
				return -1;
			}
			all = grown;
			cap = ncap;
		}
		if (read_stat((pid_t)pid, &all[n]) == 0)
			n++;
	}
	closedir(dir);

	/* Mark descendants of the runner, one generation per pass. */
	pid_t self = getpid();
	for (int changed = 1; changed; ) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			if (all[i].in_tree || is_excluded(all[i].pid))
				continue;
			int parent_in = all[i].ppid == self;
			for (size_t j = 0; !parent_in && j < n; j++)
				parent_in = all[j].in_tree == 1 && all[j].pid == all[i].ppid;
			if (parent_in) {
				all[i].in_tree = other_runner(&all[i]) ? -1 : 1; /* -1: seen, not ours, nor what it runs */
				changed = 1;
			}
		}
	}
	pid_t *pids = malloc((n ? n : 1) * sizeof *pids);
	if (!pids) {
		note_err(ENOMEM, "cannot list the program's processes");
		free(all);
		return -1;
	}
	int count = 0;
	for (size_t i = 0; i < n; i++)
		if (all[i].in_tree == 1 && all[i].state != 'Z' && all[i].state != 'X')
			pids[count++] = all[i].pid;
	free(all);
	*out = pids;
	return count;
}

/* Lists the live (non-zombie) processes of the tree into *out (malloc'd).
 * Returns the count, or -1 if /proc cannot be read. */
static int list_tree(pid_t **out)
{
	int n = list_tree_by_children(out);
	if (n != 0 || *out)
		return n;
	return list_tree_by_walk(out);
}

/* No child at all means no descendant at all, because every orphan of the
 * tree becomes our child: then /proc need not be read (the common case on
 * the crash-to-restart path). */
static int no_children(void)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

int tree_any(void)
{
	if (no_children())
		return 0;
	pid_t *pids;
	int n = list_tree(&pids);
	if (n < 0)
		return 1; /* cannot tell: assume something is left rather than end early */
	free(pids);
	return n > 0;
}

/* ESRCH is normal (it ended meanwhile); anything else is worth a line. */
static void send_sig(pid_t pid, int sig)
{
	if (kill(pid, sig) < 0 && errno != ESRCH)
		note_err(errno, "cannot send signal %d to pid %d", sig, (int)pid);
}

static int contains(const pid_t *v, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (v[i] == pid)
			return 1;
	return 0;
}

int tree_signal(int sig)
{
	if (no_children())
		return 0;
	pid_t *pids;
	int n = list_tree(&pids);
	if (n <= 0)
		return 0;
	if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCONT) {
		/* A killed process cannot fork; orphans of the killed re-parent
		 * to us and the caller's next round (grace timer, SIGCHLD)
		 * catches them. */
		for (int i = 0; i < n; i++)
			send_sig(pids[i], sig);
		free(pids);
		return n;
	}
	/* Freeze first, rescanning until no new process shows up, so a handler
	 * that forks cannot put a child out of reach; then signal and thaw. */
	for (int i = 0; i < n; i++)
		send_sig(pids[i], SIGSTOP);
	for (int round = 0; round < 20; round++) {
		pid_t *again;
		int m = list_tree(&again);
		if (m < 0)
			break;
		int added = 0;
		for (int i = 0; i < m; i++) {
			if (contains(pids, n, again[i]))
				continue;
			pid_t *grown = realloc(pids, (size_t)(n + 1) * sizeof *pids);
			if (!grown)
				break;
			pids = grown;
			pids[n++] = again[i];
			send_sig(again[i], SIGSTOP);
			added = 1;
		}
		free(again);
		if (!added)
			break;
	}
	for (int i = 0; i < n; i++)
		send_sig(pids[i], sig);
	for (int i = 0; i < n; i++)
		send_sig(pids[i], SIGCONT);
	free(pids);
	return n;
}
