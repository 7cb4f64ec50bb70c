/* What the processes of a restored tree share, made once by the outer
 * durun-restore before any of them exists. Log prefix "tree".
 *   pipes   a pipe inode with a read end and a write end somewhere in the set
 *           is one new pipe, sized as before and refilled with the bytes that
 *           were in flight (the PIPE record of the first image, in command-
 *           line order, that has one); every holder gets it (restore-files.c)
 *   memory  a shared mapping with no file behind it (MAP_SHARED|MAP_ANONYMOUS,
 *           memfd, SysV shm, deleted file) is identified by its inode: one
 *           memfd per inode, filled with the pages of every image that
 *           carries them, mapped MAP_SHARED by each user (restore-plan.c);
 *           a memfd some process holds as an fd is that same object, made
 *           from its KOBJ record (restore-memfd.c) with its name and seals
 *   sockets a unix socket whose peer is also in the set (a socketpair, or a
 *           connection between two members) is one new socketpair; each end
 *           gets back its receive queue (UNIX records), sent from the other. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "restore.h"

#define COPY_BUF (1u << 20)

void tree_fail(struct tree_coord *c, int pid, int step, int err)
{
	int32_t none = 0;
	if (__atomic_compare_exchange_n(&c->failed, &none, pid ? pid : -1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		c->fail_step = step;
		c->fail_err = err;
	}
	syscall(SYS_futex, &c->ready, 1 /* FUTEX_WAKE */, 0x7fffffff, NULL, NULL, 0);
}

const struct tree_pipe *tree_find_pipe(const struct tree_ctx *t, uint64_t ino)
{
	for (size_t i = 0; i < t->npipe; i++)
		if (t->pipes[i].ino == ino)
			return &t->pipes[i];
	return NULL;
}

const struct tree_sock *tree_find_sock(const struct tree_ctx *t, uint64_t ino)
{
	for (size_t i = 0; i < t->nsock; i++)
		if (t->socks[i].ino == ino)
			return &t->socks[i];
	return NULL;
}

static const struct li_unix *unix_record(const struct tree_ctx *t, uint64_t ino)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->li[i].nunix; k++)
			if (t->li[i].unixes[k].u.ino == ino)
				return &t->li[i].unixes[k];
	return NULL;
}

/* queue of `to` (what it had received), sent from the other end `from` */
static int refill_queue(const struct li_unix *to, int from)
{
	const char *p = to->data;
	uint32_t left = to->u.len;
	if (to->u.type == SOCK_STREAM) {
		while (left) {
			ssize_t n = send(from, p, left, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n <= 0)
				return -1;
			p += n;
			left -= (uint32_t)n;
		}
		return 0;
	}
	for (uint32_t m = 0; m < to->u.nmsgs; m++) {
		uint32_t len;
		if (left < 4)
			return errno = EINVAL, -1;
		memcpy(&len, p, 4);
		if (len > left - 4 || send(from, p + 4, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
			return errno = errno ? errno : EINVAL, -1;
		p += 4 + len;
		left -= 4 + len;
	}
	return 0;
}

static int setup_socks(struct tree_ctx *t)
{
	size_t cap = 0;
	for (size_t i = 0; i < t->n; i++)
		cap += t->li[i].nunix;
	t->socks = calloc(2 * cap + 1, sizeof(*t->socks));
	if (!t->socks)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->li[i].nunix; k++) {
			const struct li_unix *a = &t->li[i].unixes[k], *b;
			int sv[2];
			if (!a->u.peer_ino || tree_find_sock(t, a->u.ino) || !(b = unix_record(t, a->u.peer_ino)))
				continue; /* not connected, done, or the peer is outside the set */
			if (socketpair(AF_UNIX, (int)a->u.type | SOCK_CLOEXEC, 0, sv)) {
				RERR("tree", errno, "socketpair for socket:[%llu] and socket:[%llu]", (unsigned long long)a->u.ino,
				     (unsigned long long)b->u.ino);
				return -1;
			}
			t->socks[t->nsock++] = (struct tree_sock){ a->u.ino, sv[0] };
			t->socks[t->nsock++] = (struct tree_sock){ b->u.ino, sv[1] };
			errno = 0;
			if (refill_queue(a, sv[1]) || refill_queue(b, sv[0])) {
				RERR("tree", errno, "refill the queues of socket:[%llu] and socket:[%llu]",
				     (unsigned long long)a->u.ino, (unsigned long long)b->u.ino);
				return -1;
			}
			RINFO("socketpair socket:[%llu]/[%llu]: %u + %u bytes queued restored", (unsigned long long)a->u.ino,
			      (unsigned long long)b->u.ino, a->u.len, b->u.len);
		}
	return 0;
}

const struct tree_shm *tree_find_shm(const struct tree_ctx *t, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < t->nshm; i++)
		if (t->shms[i].dev == dev && t->shms[i].ino == ino)
			return &t->shms[i];
	return NULL;
}

int tree_vma_shared(const struct li_vma *v)
{
	return (v->v.vflags & VMA_SHARED) && (v->v.vflags & (VMA_DELETED | VMA_ANON)) && !(v->v.vflags & VMA_FILE) &&
	       v->v.ino != 0;
}

static const struct li_pipe *saved_contents(const struct tree_ctx *t, uint64_t ino)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->li[i].npipe; k++)
			if (t->li[i].pipes[k].p.ino == ino)
				return &t->li[i].pipes[k];
	return NULL;
}

static int make_pipe(struct tree_pipe *tp, uint64_t ino, const struct li_pipe *data)
{
	int pp[2];
	tp->ino = ino;
	if (pipe2(pp, O_CLOEXEC | O_NONBLOCK)) {
		RERR("tree", errno, "pipe for pipe:[%llu]", (unsigned long long)ino);
		return -1;
	}
	tp->rd = pp[0];
	tp->wr = pp[1];
	if (!data) {
		fprintf(stderr, "durun-restore: pipe:[%llu]: no image saved its contents; restored empty\n",
			(unsigned long long)ino);
		return 0;
	}
	if ((int)data->p.pipe_size > 0 && fcntl(pp[1], F_SETPIPE_SZ, (int)data->p.pipe_size) < (int)data->p.len) {
		RERR("tree", errno, "F_SETPIPE_SZ %u for pipe:[%llu]", data->p.pipe_size, (unsigned long long)ino);
		return -1;
	}
	if (data->p.len && write(pp[1], data->data, data->p.len) != (ssize_t)data->p.len) {
		RERR("tree", errno, "refill pipe:[%llu] with %u bytes", (unsigned long long)ino, data->p.len);
		return -1;
	}
	/* back to blocking: the holders' flags are set per fd, O_NONBLOCK is per open file */
	if (fcntl(pp[0], F_SETFL, 0) || fcntl(pp[1], F_SETFL, 0)) {
		RERR("tree", errno, "flags of pipe:[%llu]", (unsigned long long)ino);
		return -1;
	}
	RINFO("pipe:[%llu]: %u bytes in flight restored", (unsigned long long)ino, data->p.len);
	return 0;
}

static int setup_pipes(struct tree_ctx *t)
{
	size_t cap = 0;
	for (size_t i = 0; i < t->n; i++)
		cap += t->li[i].nfd;
	t->pipes = calloc(cap + 1, sizeof(*t->pipes));
	if (!t->pipes)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->li[i].nfd; k++) {
			const struct img_fd *f = &t->li[i].fds[k].f;
			int rd = 0, wr = 0;
			if (f->kind != FD_PIPE || tree_find_pipe(t, f->ino))
				continue;
			for (size_t j = 0; j < t->n; j++)
				for (size_t m = 0; m < t->li[j].nfd; m++) {
					const struct img_fd *g = &t->li[j].fds[m].f;
					if (g->kind != FD_PIPE || g->ino != f->ino)
						continue;
					rd |= (g->oflags & O_ACCMODE) != O_WRONLY;
					wr |= (g->oflags & O_ACCMODE) != O_RDONLY;
				}
			if (!rd || !wr)
				continue; /* the other end is outside: fds 0-2 keep ours, others get a new pipe */
			if (make_pipe(&t->pipes[t->npipe], f->ino, saved_contents(t, f->ino)))
				return -1;
			t->npipe++;
		}
	return 0;
}

static int copy_pages(int from, uint64_t off, int to, uint64_t to_off, uint64_t len, char *buf)
{
	while (len) {
		size_t n = len < COPY_BUF ? (size_t)len : COPY_BUF;
		ssize_t r = pread(from, buf, n, (off_t)off);
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		if (pwrite(to, buf, (size_t)r, (off_t)to_off) != r)
			return -errno;
		off += (uint64_t)r;
		to_off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* every image's carried pages of this object, written at their file offset */
static int fill_shm(struct tree_ctx *t, const struct tree_shm *s, char *buf)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->li[i].nvma; k++) {
			const struct li_vma *v = &t->li[i].vmas[k];
			uint64_t data = 0;
			if (!tree_vma_shared(v) || v->v.dev != s->dev || v->v.ino != s->ino)
				continue;
			for (uint32_t r = 0; r < v->v.nruns; r++) {
				uint64_t len = (uint64_t)v->runs[r].npages * IMG_PAGE;
				int rc = copy_pages(t->li[i].fd, v->pages_off + data * IMG_PAGE, s->fd,
						    v->v.pgoff + v->runs[r].first * IMG_PAGE, len, buf);
				if (rc) {
					RERR("tree", -rc, "%s: copy shared pages of %s into its memfd", t->li[i].path, v->path);
					return -1;
				}
				data += v->runs[r].npages;
			}
		}
	return 0;
}

/* memfds held as fds (KOBJ_MEMFD), by the inode of their FD record: one
 * object each, the same one as the mappings of that inode. */
static int add_memfds(struct tree_ctx *t)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->li[i].nkobj; k++) {
			const struct li_kobj *ko = &t->li[i].kobjs[k];
			const struct li_fd *f = NULL;
			if (ko->k.kind != KOBJ_MEMFD)
				continue;
			for (size_t j = 0; j < t->li[i].nfd && !f; j++)
				if (t->li[i].fds[j].f.fd == ko->k.fd)
					f = &t->li[i].fds[j];
			if (!f || !memfd_record(ko)) {
				RERR("tree", 0, "%s: memfd record of fd %d without its fd", t->li[i].path, ko->k.fd);
				return -1;
			}
			struct tree_shm *s = (struct tree_shm *)tree_find_shm(t, f->f.dev, f->f.ino);
			if (!s) {
				s = &t->shms[t->nshm++];
				s->dev = f->f.dev;
				s->ino = f->f.ino;
				s->fd = -1;
			}
			if (!s->memfd)
				s->memfd = ko;
		}
	return 0;
}

static int setup_shms(struct tree_ctx *t)
{
	size_t cap = 0;
	char *buf;
	for (size_t i = 0; i < t->n; i++)
		cap += t->li[i].nvma + t->li[i].nkobj;
	t->shms = calloc(cap + 1, sizeof(*t->shms));
	if (!t->shms)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->li[i].nvma; k++) {
			const struct li_vma *v = &t->li[i].vmas[k];
			struct tree_shm *s;
			uint64_t end = v->v.pgoff + (v->v.end - v->v.start);
			if (!tree_vma_shared(v))
				continue;
			s = (struct tree_shm *)tree_find_shm(t, v->v.dev, v->v.ino);
			if (!s) {
				s = &t->shms[t->nshm++];
				s->dev = v->v.dev;
				s->ino = v->v.ino;
				s->fd = -1;
			}
			if (end > s->size)
				s->size = end;
		}
	if (add_memfds(t))
		return -1;
	if (!t->nshm)
		return 0;
	buf = malloc(COPY_BUF);
	if (!buf)
		return -1;
	for (size_t i = 0; i < t->nshm; i++) {
		struct tree_shm *s = &t->shms[i];
		if (s->memfd)
			s->fd = memfd_create_filled(s->memfd); /* its name, size, mode and contents */
		else if ((s->fd = memfd_create("durun-shared", MFD_CLOEXEC)) >= 0 && ftruncate(s->fd, (off_t)s->size)) {
			close(s->fd);
			s->fd = -1;
		}
		if (s->fd < 0) {
			RERR("tree", errno, "memfd of %llu bytes for shared memory inode %llu", (unsigned long long)s->size,
			     (unsigned long long)s->ino);
			free(buf);
			return -1;
		}
		if (fill_shm(t, s, buf) || (s->memfd && memfd_seal(s->fd, s->memfd))) {
			free(buf);
			return -1;
		}
		RINFO("shared memory inode %llu: one memfd of %llu bytes", (unsigned long long)s->ino,
		      (unsigned long long)s->size);
	}
	free(buf);
	return 0;
}

int tree_shared_setup(struct tree_ctx *t)
{
	return setup_pipes(t) || setup_socks(t) || setup_shms(t) ? -1 : 0;
}
