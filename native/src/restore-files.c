/* fds, cwd, umask, limits, personality, signal dispositions. Log prefix "files".
 * fd policy (see ARCHITECTURE.md): regular files and directories are reopened
 * by path at their offset; /dev/null reopened; pipes between fds of the
 * process recreated empty (contents are not saved); fds 0-2 that were a tty,
 * pipe or socket keep what durun-restore was given, so the program talks to
 * its new supervisor; sockets, epoll, eventfd, timerfd and signalfd are
 * rebuilt from their KOBJ records (restore-kobj.c), inotify and memfd too
 * (restore-inotify.c, restore-memfd.c); other ttys and objects
 * become /dev/null (reported). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "restore.h"

int restore_proc(const struct loaded_image *li)
{
	const struct img_proc *p = &li->proc;
	sigset_t all;

	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL)) { /* until each thread's sigreturn */
		RERR("files", errno, "block signals");
		return -1;
	}
	if (chdir(li->cwd)) {
		RERR("files", errno, "chdir %s (the program's working directory)", li->cwd);
		return -1;
	}
	umask(p->umask);
	if (personality(p->personality) < 0)
		RERR("files", errno, "personality %#x (continuing)", p->personality);
	for (int r = 0; r < 16; r++) {
		struct rlimit rl = { p->rlim[r][0], p->rlim[r][1] };
		if (setrlimit(r, &rl))
			RINFO("setrlimit %d: %s (kept current limit)", r, strerror(errno));
	}
	for (int s = 1; s <= 64; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, s, &li->sig[s - 1], NULL, 8) < 0) {
			RERR("files", errno, "rt_sigaction %d", s);
			return -1;
		}
	}
	return 0;
}

static int max_fd(const struct loaded_image *li)
{
	int m = 2;
	for (size_t i = 0; i < li->nfd; i++)
		if (li->fds[i].f.fd > m)
			m = li->fds[i].f.fd;
	return m;
}

static int place(int src, int dst, uint32_t fdflags)
{
	if (src != dst) {
		if (dup2(src, dst) < 0)
			return -1;
		close(src);
	}
	return fcntl(dst, F_SETFD, (int)fdflags);
}

static int open_one(const struct li_fd *f)
{
	int fl = (int)(f->f.oflags & ~(uint32_t)(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY)) | O_NOCTTY;
	int fd;
	switch (f->f.kind) {
	case FD_REG:
		fd = open(f->path, fl);
		if (fd < 0) {
			RERR("files", errno, "reopen fd %d: %s", f->f.fd, f->path);
			return -1;
		}
		if (f->f.offset >= 0 && lseek(fd, f->f.offset, SEEK_SET) != f->f.offset) {
			RERR("files", errno, "seek fd %d (%s) to %lld", f->f.fd, f->path, (long long)f->f.offset);
			close(fd);
			return -1;
		}
		return fd;
	case FD_DIR:
		fd = open(f->path, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			RERR("files", errno, "reopen directory fd %d: %s", f->f.fd, f->path);
		else if (f->f.offset > 0)
			lseek(fd, f->f.offset, SEEK_SET);
		return fd;
	default:
		if (f->f.kind != FD_DEVNULL)
			fprintf(stderr, "durun-restore: fd %d (%s) cannot be restored; it is /dev/null now\n", f->f.fd, f->path);
		fd = open("/dev/null", (int)(f->f.oflags & O_ACCMODE));
		if (fd < 0)
			RERR("files", errno, "open /dev/null for fd %d", f->f.fd);
		return fd;
	}
}

/* A pipe or socket shared inside a restored tree (made by restore-shared.c):
 * every holder gets the same one, whatever its fd number. */
static int place_shared(const struct li_fd *f, int from, const char *what, uint64_t ino)
{
	int src = dup(from);
	if (src < 0 || place(src, f->f.fd, f->f.fdflags) < 0) {
		RERR("files", errno, "place shared %s:[%llu] on fd %d", what, (unsigned long long)ino, f->f.fd);
		return -1;
	}
	if (fcntl(f->f.fd, F_SETFL, (int)f->f.oflags) < 0) {
		RERR("files", errno, "flags of shared %s fd %d", what, f->f.fd);
		return -1;
	}
	return 0;
}

static int place_tree_pipe(const struct li_fd *f, const struct tree_pipe *tp)
{
	return place_shared(f, (f->f.oflags & O_ACCMODE) == O_RDONLY ? tp->rd : tp->wr, "pipe", tp->ino);
}

/* Moves fd to the lowest number that the image does not use (saved[],
 * `top` entries) and that nothing holds: within the program's own fd
 * limit, which restore_proc has already set (moving our fds above its
 * highest fd needed more than it had). Returns the new fd, or -1. */
static int park(int fd, const char *saved, int top)
{
	for (int n = 3;; n++) {
		if ((n < top && saved[n]) || fcntl(n, F_GETFD) >= 0)
			continue;
		if (errno != EBADF)
			return -1;
		if (dup3(fd, n, O_CLOEXEC) < 0)
			return -1;
		close(fd);
		return n;
	}
}

/* A named FIFO reopened by path. Without O_NONBLOCK, opening a FIFO waits
 * for the other side; with it, a read end opens at once (a write end fails
 * with ENXIO while nobody reads: then the FIFO's reader is gone, reported). */
static int open_fifo(const struct li_fd *f, const char *saved, int top)
{
	int fd = open(f->path, (int)(f->f.oflags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		RERR("files", errno, "reopen FIFO fd %d: %s", f->f.fd, f->path);
		return -1;
	}
	if (fd != f->f.fd && fd < top && saved[fd])
		fd = park(fd, saved, top);
	if (fd < 0 || place(fd, f->f.fd, f->f.fdflags) < 0 || fcntl(f->f.fd, F_SETFL, (int)f->f.oflags) < 0) {
		RERR("files", errno, "place FIFO fd %d (%s)", f->f.fd, f->path);
		return -1;
	}
	return 0;
}

/* A memfd: one object per inode (restore-memfd.c). In a tree it was made
 * by restore-shared.c; alone, the first fd of the inode makes it. */
static int place_memfd(const struct loaded_image *li, const struct li_fd *f, const struct li_kobj *ko, const struct tree_ctx *t,
		       const char *saved, int top)
{
	const struct tree_shm *ts = t ? tree_find_shm(t, f->f.dev, f->f.ino) : NULL;
	int first = memfd_placed(li, f->f.dev, f->f.ino), fd;
	if (ts)
		fd = memfd_reopen(ts->fd, f);
	else if (first != f->f.fd)
		fd = memfd_reopen(first, f);
	else if ((fd = memfd_create_filled(ko)) >= 0 && memfd_seal(fd, ko)) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && !ts && first == f->f.fd) {
		/* memfd_create gave O_RDWR at offset 0: the program's own access mode and offset */
		int again = memfd_reopen(fd, f);
		close(fd);
		fd = again;
	}
	if (fd < 0)
		return -1;
	if (fd != f->f.fd && fd < top && saved[fd])
		fd = park(fd, saved, top);
	if (fd < 0 || place(fd, f->f.fd, f->f.fdflags) < 0 || fcntl(f->f.fd, F_SETFL, (int)f->f.oflags) < 0) {
		RERR("files", errno, "place memfd fd %d", f->f.fd);
		return -1;
	}
	return 0;
}

/* keep[]: our own fds; they are moved out of the way of every saved fd and updated.
 * t (tree mode): its pipe fds are kept the same way until placed, then closed. */
int restore_files(const struct loaded_image *li, int *keep, int nkeep, struct tree_ctx *t)
{
	int top = max_fd(li) + 1;
	char *saved;
	int **own;
	size_t nown;
	DIR *dir;
	struct dirent *de;

	nown = 0;
	own = calloc((size_t)nkeep + (t ? 2 * t->npipe + t->nshm + t->nsock : 0) + 1, sizeof(*own));
	saved = calloc((size_t)top, 1);
	if (!own || !saved) {
		free(own);
		free(saved);
		return -1;
	}
	for (size_t i = 0; i < li->nfd; i++)
		saved[li->fds[i].f.fd] = 1;
	for (int k = 0; k < nkeep; k++)
		own[nown++] = &keep[k];
	for (size_t k = 0; t && k < t->npipe; k++) {
		own[nown++] = &t->pipes[k].rd;
		own[nown++] = &t->pipes[k].wr;
	}
	for (size_t k = 0; t && k < t->nshm; k++)
		own[nown++] = &t->shms[k].fd;
	for (size_t k = 0; t && k < t->nsock; k++)
		own[nown++] = &t->socks[k].fd;
	for (size_t k = 0; k < nown; k++) {
		if (*own[k] < 0 || (*own[k] >= top || !saved[*own[k]]))
			continue; /* already out of the image's way */
		int nfd = park(*own[k], saved, top);
		if (nfd < 0) {
			RERR("files", errno, "move our fd %d out of the program's fd numbers", *own[k]);
			free(saved);
			free(own);
			return -1;
		}
		*own[k] = nfd;
	}
	/* close what the program did not have (inherited from whoever ran us) */
	dir = opendir("/proc/self/fd");
	if (!dir) {
		RERR("files", errno, "opendir /proc/self/fd");
		free(saved);
		free(own);
		return -1;
	}
	while ((de = readdir(dir))) {
		int fd = atoi(de->d_name);
		int ours = fd == dirfd(dir) || fd == li->fd;
		for (size_t k = 0; k < nown; k++)
			ours |= *own[k] == fd;
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || ours)
			continue;
		if (fd >= top || !saved[fd])
			close(fd);
	}
	closedir(dir);
	free(own);

	/* pipes: one new pipe per pipe inode */
	for (size_t i = 0; i < li->nfd; i++) {
		const struct li_fd *f = &li->fds[i];
		const struct tree_pipe *tp = t && f->f.kind == FD_PIPE && f->path[0] != '/' ? tree_find_pipe(t, f->f.ino) : NULL;
		const struct tree_sock *ts = t && f->f.kind == FD_SOCKET ? tree_find_sock(t, f->f.ino) : NULL;
		int fd;
		if (tp) {
			if (place_tree_pipe(f, tp))
				return -1;
			continue;
		}
		if (ts) {
			if (place_shared(f, ts->fd, "socket", ts->ino))
				return -1;
			continue;
		}
		if (f->f.kind == FD_PIPE && f->path[0] == '/') {
			/* a named FIFO (sqlite3 < fifo): the same FIFO by its path, whatever the fd */
			if (open_fifo(f, saved, top))
				return -1;
			continue;
		}
		if (f->f.fd <= 2 && (f->f.kind == FD_TTY || f->f.kind == FD_PIPE || f->f.kind == FD_SOCKET ||
				     f->f.kind == FD_OTHER))
			continue; /* keep ours */
		if (f->f.kind == FD_PIPE) {
			int done = 0;
			for (size_t j = 0; j < i; j++)
				done |= li->fds[j].f.kind == FD_PIPE && li->fds[j].f.ino == f->f.ino && li->fds[j].f.fd > 2;
			if (done)
				continue;
			int pp[2];
			if (pipe2(pp, O_CLOEXEC)) {
				RERR("files", errno, "pipe for fd %d", f->f.fd);
				return -1;
			}
			int rd = pp[0] < top && saved[pp[0]] ? park(pp[0], saved, top) : pp[0];
			int wr = pp[1] < top && saved[pp[1]] ? park(pp[1], saved, top) : pp[1];
			for (size_t j = i; j < li->nfd; j++) {
				const struct li_fd *g = &li->fds[j];
				if (g->f.kind != FD_PIPE || g->f.ino != f->f.ino || g->f.fd <= 2)
					continue;
				int src = dup((g->f.oflags & O_ACCMODE) == O_RDONLY ? rd : wr);
				if (src < 0 || place(src, g->f.fd, g->f.fdflags) < 0) {
					RERR("files", errno, "place pipe fd %d", g->f.fd);
					return -1;
				}
				fcntl(g->f.fd, F_SETFL, (int)g->f.oflags);
			}
			close(rd);
			close(wr);
			continue;
		}
		const struct li_kobj *ko = kobj_of(li, f->f.fd);
		const struct li_kobj *locks = ko && ko->k.kind == KOBJ_LOCKS ? ko : NULL;
		if (locks)
			ko = NULL; /* a regular file with locks: reopened by path, its locks taken back once placed */
		if (ko && ko->k.kind == KOBJ_MEMFD) {
			if (place_memfd(li, f, ko, t, saved, top))
				return -1;
			continue;
		}
		fd = ko ? kobj_rebuild(ko, f->f.oflags) : open_one(f);
		if (fd < 0)
			return -1;
		if (ko && fcntl(fd, F_SETFL, (int)f->f.oflags) < 0) {
			RERR("files", errno, "flags of fd %d", f->f.fd);
			return -1;
		}
		if (fd != f->f.fd && fd < top && saved[fd]) {
			/* opened onto a saved number not placed yet: move it out of the way first */
			fd = park(fd, saved, top);
		}
		if (fd < 0 || place(fd, f->f.fd, f->f.fdflags) < 0) {
			RERR("files", errno, "place fd %d", f->f.fd);
			return -1;
		}
		if (locks && kobj_take_locks(locks))
			return -1;
	}
	/* every fd is in place: the epolls can watch them now */
	for (size_t k = 0; k < li->nkobj; k++)
		if (li->kobjs[k].k.kind == KOBJ_EPOLL && kobj_fill_epoll(&li->kobjs[k]))
			return -1;
	free(saved);
	for (size_t k = 0; t && k < t->npipe; k++) {
		close(t->pipes[k].rd);
		close(t->pipes[k].wr);
		t->pipes[k].rd = t->pipes[k].wr = -1;
	}
	for (size_t k = 0; t && k < t->nsock; k++) {
		close(t->socks[k].fd);
		t->socks[k].fd = -1;
	}
	return 0;
}
