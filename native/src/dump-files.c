/* File descriptors: one FD record per open fd. Log prefix "files".
 * Regular files and directories are reopened by path at restore, pipes by
 * their inode (pipe:[N]) with their contents (dump-pipes.c), ttys and sockets are recorded for the restorer to
 * substitute (see ARCHITECTURE.md). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "dump.h"

static int skipped(struct dump_ctx *d, int fd, int dirfd)
{
	if (fd == dirfd || fd == d->img_fd || fd == d->pagemap_fd || fd == durun_g.uffd)
		return 1;
	for (int i = 0; i < d->req->nskip_fds && i < DURUN_CKPT_MAX_SKIP_FDS; i++)
		if (d->req->skip_fds[i] == fd)
			return 1;
	return 0;
}

#define MAX_PIPE_FDS 256
#define MAX_KOBJ_FDS 4096

/* pipes and sockets, saved after the fd walk (their probes open fds) */
struct pipe_list {
	int n, nsock, nkobj;
	int fd[MAX_PIPE_FDS];
	int readable[MAX_PIPE_FDS];
	uint64_t ino[MAX_PIPE_FDS];
	int sock_fd[MAX_PIPE_FDS];
	uint64_t sock_ino[MAX_PIPE_FDS];
	int kobj_fd[MAX_KOBJ_FDS];       /* rebuilt at restore (dump-kobj.c) */
	uint32_t kobj_kind[MAX_KOBJ_FDS];
	uint64_t kobj_ino[MAX_KOBJ_FDS];
};

static int dump_one(struct dump_ctx *d, int fd, struct pipe_list *pl)
{
	struct img_fd f;
	struct stat st;
	char link[64], path[4096];
	struct sb s;
	ssize_t n;
	int fl, fdfl;

	memset(&f, 0, sizeof(f));
	sb_init(&s, link, sizeof(link));
	sb_str(&s, "/proc/self/fd/");
	sb_u64(&s, (uint64_t)fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0) {
		if (errno == ENOENT)
			return 0; /* closed meanwhile (only our own thread runs, so: never) */
		ERR(&d->err, "files", "readlink", link, errno);
		return -1;
	}
	path[n] = 0;
	if (fstat(fd, &st) || (fl = fcntl(fd, F_GETFL)) < 0 || (fdfl = fcntl(fd, F_GETFD)) < 0) {
		ERR(&d->err, "files", "fstat/fcntl", link, errno);
		return -1;
	}
	f.fd = fd;
	f.oflags = (uint32_t)fl;
	f.fdflags = (uint32_t)fdfl;
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	f.mode = st.st_mode;
	f.offset = -1;
	if (S_ISREG(st.st_mode))
		f.kind = FD_REG;
	else if (S_ISDIR(st.st_mode))
		f.kind = FD_DIR;
	else if (S_ISFIFO(st.st_mode))
		f.kind = FD_PIPE;
	else if (S_ISSOCK(st.st_mode))
		f.kind = FD_SOCKET;
	else if (S_ISCHR(st.st_mode) && d_streq(path, "/dev/null"))
		f.kind = FD_DEVNULL;
	else if (S_ISCHR(st.st_mode) && (major(st.st_rdev) == 4 || major(st.st_rdev) == 5 ||
					 (major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143)))
		f.kind = FD_TTY;
	else
		f.kind = FD_OTHER;
	if (f.kind == FD_PIPE && pl->n < MAX_PIPE_FDS) {
		pl->fd[pl->n] = fd;
		pl->readable[pl->n] = (fl & O_ACCMODE) != O_WRONLY;
		pl->ino[pl->n++] = st.st_ino;
	}
	if (f.kind == FD_SOCKET && pl->nsock < MAX_PIPE_FDS) {
		pl->sock_fd[pl->nsock] = fd;
		pl->sock_ino[pl->nsock++] = st.st_ino;
	}
	uint32_t kk = kobj_kind_of(f.kind, path);
	if (kk) {
		if (pl->nkobj >= MAX_KOBJ_FDS) {
			ERR(&d->err, "files", "more sockets and event objects than the image carries (4096)", "", 0);
			return -1;
		}
		pl->kobj_fd[pl->nkobj] = fd;
		pl->kobj_kind[pl->nkobj] = kk;
		pl->kobj_ino[pl->nkobj++] = st.st_ino;
	}
	if (f.kind == FD_REG || f.kind == FD_DIR) {
		off_t o = lseek(fd, 0, SEEK_CUR);
		f.offset = o;
	}
	f.path_len = (uint32_t)n;
	return iw_record(&d->w, REC_FD, &f, sizeof(f), path, (size_t)n, NULL, 0);
}

int dump_fds(struct dump_ctx *d)
{
	char buf[4096];
	static struct pipe_list pl; /* 80 KiB: not on a signal handler's stack */
	int dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		ERR(&d->err, "files", "open", "/proc/self/fd", errno);
		return -1;
	}
	pl.n = pl.nsock = pl.nkobj = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf));
		if (n < 0) {
			ERR(&d->err, "files", "getdents64", "/proc/self/fd", errno);
			goto err;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			const char *p = de->d_name;
			int fd;
			off += de->d_reclen;
			if (*p < '0' || *p > '9')
				continue;
			fd = (int)d_parse_dec(&p);
			if (skipped(d, fd, dirfd))
				continue;
			if (dump_one(d, fd, &pl))
				goto err;
		}
	}
	close(dirfd);
	if (dump_pipes(d, pl.fd, pl.readable, pl.ino, pl.n))
		return -1;
	if (dump_unix(d, pl.sock_fd, pl.sock_ino, pl.nsock))
		return -1;
	return dump_kobjs(d, pl.kobj_fd, pl.kobj_kind, pl.kobj_ino, pl.nkobj);
err:
	close(dirfd);
	return -1;
}
