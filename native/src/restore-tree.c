/* durun-restore --tree IMAGE...: a process tree from one image per process.
 * Log prefix "tree". The shape (see native/README.md):
 *
 *   durun-restore (outer: collects pids, releases, waits, exits with the root's status)
 *     └─ init, pid 1 of the new namespace
 *          ├─ stand-in, pid = old ppid of a root (one per outside parent)
 *          │    └─ root process, old pid ── its children, forked by it, old pids ...
 *          └─ ...
 *
 * Each process to be restored is forked (clone3 set_tid) by the process that
 * will become its parent, forks its own children first, then restores its
 * files and enters the restorer blob, which maps everything and waits on the
 * shared release page (tree.h). When every process is ready the outer one
 * releases them all at once; on any failure it kills the namespace. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "restore.h"
#include "lazy.h"

#define READY_TIMEOUT_MS 120000
#define COORD_LEN 4096ull

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int index_of(const struct tree_ctx *t, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->li[i].h.pid == pid)
			return (int)i;
	return -1;
}

/* parents, root, sanity: unique pids, no cycles, no pid 1 */
static int plan(struct tree_ctx *t)
{
	t->parent = calloc(t->n, sizeof(*t->parent));
	if (!t->parent)
		return -1;
	t->root = -1;
	for (size_t i = 0; i < t->n; i++) {
		const struct img_header *h = &t->li[i].h;
		if (index_of(t, h->pid) != (int)i) {
			RERR("tree", 0, "%s and %s both hold pid %d", t->li[index_of(t, h->pid)].path, t->li[i].path, h->pid);
			return -1;
		}
		if (h->pid <= 1) {
			RERR("tree", 0, "%s: pid %d cannot be restored in a tree (it is the namespace's init)", t->li[i].path, h->pid);
			return -1;
		}
		t->parent[i] = h->ppid == h->pid ? -1 : index_of(t, h->ppid);
	}
	for (size_t i = 0; i < t->n; i++) {
		size_t depth = 0;
		for (int k = (int)i; t->parent[k] >= 0; k = t->parent[k])
			if (++depth > t->n) {
				RERR("tree", 0, "%s: the parent links form a cycle", t->li[i].path);
				return -1;
			}
		if (t->parent[i] < 0 && (t->root < 0 || t->li[i].h.pid < t->li[t->root].h.pid))
			t->root = (int)i;
	}
	return 0;
}

static int overlaps_any(const struct tree_ctx *t, uint64_t s, uint64_t e)
{
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->li[i].nvma; k++)
			if (t->li[i].vmas[k].v.start < e && s < t->li[i].vmas[k].v.end)
				return 1;
	return 0;
}

/* the release page: shared, at an address no image uses */
static int map_coord(struct tree_ctx *t)
{
	for (uint64_t cand = 0x2c0000000000ull; cand < 0x7e0000000000ull; cand += 0x10000000000ull) {
		void *p;
		if (overlaps_any(t, cand, cand + COORD_LEN))
			continue;
		p = mmap((void *)cand, COORD_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != MAP_FAILED) {
			t->coord = p;
			return 0;
		}
	}
	RERR("tree", errno, "no free address for the release page");
	return -1;
}

static void __attribute__((noreturn)) become(struct tree_ctx *t, size_t i);

static pid_t spawn(struct tree_ctx *t, size_t i)
{
	pid_t p = fork_as(t->li[i].h.pid);
	if (p < 0) {
		RERR("tree", errno, "clone3(set_tid=%d) for %s", t->li[i].h.pid, t->li[i].path);
		tree_fail(t->coord, getpid(), 0, errno);
		return -1;
	}
	if (p == 0)
		become(t, i);
	return p;
}

/* session and process group as far as they lie inside the set (best effort) */
static void set_session(const struct tree_ctx *t, size_t i)
{
	const struct img_header *h = &t->li[i].h;
	if (h->sid == h->pid) {
		if (setsid() < 0)
			RINFO("pid %d: setsid: %s", h->pid, strerror(errno));
	} else if (h->pgid == h->pid) {
		if (setpgid(0, 0))
			RINFO("pid %d: setpgid: %s", h->pid, strerror(errno));
	} else if (index_of(t, h->pgid) >= 0 && getpgid(0) != h->pgid) {
		if (setpgid(0, h->pgid))
			RINFO("pid %d: setpgid %d: %s", h->pid, h->pgid, strerror(errno));
	}
}

/* In the new process that must become image i. */
static void __attribute__((noreturn)) become(struct tree_ctx *t, size_t i)
{
	struct loaded_image *li = &t->li[i];
	char msg[32];
	int n = snprintf(msg, sizeof(msg), "PID %d", li->h.pid), keep[2], uffd = -1;

	/* our pid outside rides along as SCM_CREDENTIALS */
	if (send(t->sock, msg, (size_t)n, 0) != n) {
		RERR("tree", errno, "pid %d: report to durun-restore", li->h.pid);
		goto fail;
	}
	set_session(t, i);
	for (size_t j = 0; j < t->n; j++)
		if (t->parent[j] == (int)i && spawn(t, j) < 0)
			_exit(1);
	if (t->lazy) {
		snprintf(msg, sizeof(msg), "UFFD %d", li->h.pid);
		if ((uffd = lazy_child_uffd(t->sock, msg, li, 1)) == -2)
			goto fail;
	}
	close(t->sock);
	t->sock = -1;
	keep[0] = li->fd;
	keep[1] = uffd;
	if (restore_proc(li) || restore_files(li, keep, uffd >= 0 ? 2 : 1, t))
		goto fail;
	li->fd = keep[0];
	restore_enter(li, -1, t, NULL, uffd >= 0 ? keep[1] : -1);
fail:
	tree_fail(t->coord, li->h.pid, 0, errno);
	_exit(1);
}

/* A stand-in for the outside parent `ppid`: forks the roots it parents. */
static void __attribute__((noreturn)) stand_in(struct tree_ctx *t, pid_t ppid)
{
	pid_t rootp = -1;
	prctl(PR_SET_NAME, "durun-parent");
	for (size_t k = 0; k < t->n; k++)
		if (t->parent[k] < 0 && t->li[k].h.ppid == ppid) {
			pid_t p = spawn(t, k);
			if (p < 0)
				_exit(1);
			if ((int)k == t->root)
				rootp = p;
		}
	syscall(SYS_close_range, 3, ~0u, 0);
	if (rootp > 0)
		wait_and_exit(rootp);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	_exit(0);
}

/* pid 1 of the namespace */
static void __attribute__((noreturn)) ns_init(struct tree_ctx *t)
{
	pid_t holder = -1;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "durun-nsinit");
	for (size_t i = 0; i < t->n; i++) {
		pid_t ppid = t->li[i].h.ppid, p;
		int first = 1, holds_root = 0;
		if (t->parent[i] >= 0)
			continue;
		if (ppid <= 1) {
			p = spawn(t, i);
			if (p < 0)
				_exit(1);
			if ((int)i == t->root)
				holder = p;
			continue;
		}
		for (size_t k = 0; k < t->n; k++)
			if (t->parent[k] < 0 && t->li[k].h.ppid == ppid) {
				first &= k >= i;
				holds_root |= (int)k == t->root;
			}
		if (!first)
			continue;
		p = fork_as(ppid);
		if (p < 0) {
			RERR("tree", errno, "clone3(set_tid=%d) for the parent stand-in", ppid);
			tree_fail(t->coord, 1, 0, errno);
			_exit(1);
		}
		if (p == 0)
			stand_in(t, ppid);
		if (holds_root)
			holder = p;
	}
	syscall(SYS_close_range, 3, ~0u, 0);
	if (holder < 0)
		_exit(1);
	wait_and_exit(holder);
}

static int drain_reports(struct tree_ctx *t, int sock, pid_t *outer, size_t *got)
{
	for (;;) {
		char msg[64];
		union {
			char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cm;
		struct iovec iov = { msg, sizeof(msg) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int idx, fd;
		if (n <= 0)
			return 0;
		msg[n] = 0;
		fd = lazy_cmsg_fd(&mh);
		if (fd >= 0) { /* "UFFD PID": that process's userfaultfd (lazy restore) */
			idx = strncmp(msg, "UFFD ", 5) ? -1 : index_of(t, atoi(msg + 5));
			if (idx < 0 || !t->lazy)
				close(fd);
			else if (lazy_attach(t->lazy, (size_t)idx, fd))
				return -1;
			continue;
		}
		idx = strncmp(msg, "PID ", 4) ? -1 : index_of(t, atoi(msg + 4));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c && idx >= 0; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && !outer[idx]) {
				struct ucred uc;
				memcpy(&uc, CMSG_DATA(c), sizeof(uc));
				outer[idx] = uc.pid;
				(*got)++;
			}
	}
}

static void __attribute__((noreturn)) give_up(struct tree_ctx *t, pid_t init, const char *why)
{
	struct tree_coord *c = t->coord;
	__atomic_store_n(&c->release, TREE_ABORT, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &c->release, 1 /* FUTEX_WAKE */, 0x7fffffff, NULL, NULL, 0);
	kill(init, SIGKILL);
	waitpid(init, NULL, 0);
	if (c->failed)
		RERR("tree", c->fail_err, "process %d failed %s%s%s; the whole tree was killed", c->failed,
		     c->fail_step ? "in the restorer at step \"" : "before its restorer", c->fail_step ? rst_step_name(c->fail_step) : "",
		     c->fail_step ? "\"" : "");
	else
		RERR("tree", 0, "%s; the whole tree was killed", why);
	exit(1);
}

static void write_pids(const struct tree_ctx *t, const struct ropts *o, const pid_t *outer)
{
	FILE *f;
	if (o->pidfile) {
		f = fopen(o->pidfile, "w");
		if (!f || fprintf(f, "%d\n", outer[t->root]) < 0 || fclose(f))
			RERR("tree", errno, "write pidfile %s", o->pidfile);
	}
	if (o->pidsfile) {
		f = fopen(o->pidsfile, "w");
		for (size_t i = 0; f && i < t->n; i++)
			fprintf(f, "%d %d\n", t->li[i].h.pid, outer[i]);
		if (!f || fclose(f))
			RERR("tree", errno, "write pids file %s", o->pidsfile);
	}
}

static void __attribute__((noreturn)) outer_side(struct tree_ctx *t, const struct ropts *o, int sock, pid_t init,
						 uint64_t t0)
{
	struct tree_coord *c = t->coord;
	pid_t *outer = calloc(t->n, sizeof(*outer));
	size_t got = 0;
	int st;

	if (!outer)
		give_up(t, init, "out of memory");
	for (;;) {
		int32_t ready = __atomic_load_n(&c->ready, __ATOMIC_SEQ_CST);
		struct timespec ts = { 0, 50 * 1000000 };
		if (drain_reports(t, sock, outer, &got))
			give_up(t, init, "lazy restore setup failed");
		if (c->failed)
			give_up(t, init, "");
		if (ready == (int32_t)t->n && got == t->n)
			break;
		if (waitpid(init, &st, WNOHANG) == init) {
			if (c->failed)
				give_up(t, init, "");
			RERR("tree", 0, "the namespace's init exited (status %d) before every process was ready", exit_code(st));
			exit(1);
		}
		if (now_ms() - t0 > READY_TIMEOUT_MS)
			give_up(t, init, "timed out waiting for every process to be ready");
		syscall(SYS_futex, &c->ready, 0 /* FUTEX_WAIT */, ready, &ts, NULL, 0);
	}
	close(sock);
	write_pids(t, o, outer);
	/* every process has its fds: the connections of a move may receive again */
	if (o->net_unlock && tcp_net_unlock(o->net_unlock))
		give_up(t, init, "the network lock could not be lifted");
	__atomic_store_n(&c->release, TREE_GO, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &c->release, 1 /* FUTEX_WAKE */, 0x7fffffff, NULL, NULL, 0);
	fprintf(stderr, "durun-restore: restored tree of %zu processes in %llu ms, root pid %d (pid %d outside its namespace)\n",
		t->n, (unsigned long long)(now_ms() - t0), t->li[t->root].h.pid, outer[t->root]);
	if (t->lazy) {
		forward_to(outer[t->root]);
		if (lazy_fill(t->lazy))
			kill_and_exit(init);
	}
	forward_and_wait(outer[t->root], init);
}

int restore_tree(const struct ropts *o, char **images, int nimages)
{
	struct tree_ctx t;
	char merged[4200];
	int sv[2], one = 1;
	uint64_t t0 = now_ms();
	pid_t init;

	memset(&t, 0, sizeof(t));
	t.n = (size_t)nimages;
	t.li = calloc(t.n, sizeof(*t.li));
	if (!t.li)
		return -1;
	for (size_t i = 0; i < t.n; i++)
		if (load_image(images[i], &t.li[i], merged, sizeof(merged)) || check_files(&t.li[i], 0))
			return -1;
	if (plan(&t) || ns_unshare() || map_coord(&t) || tree_shared_setup(&t))
		return -1;
	if (o->lazy) {
		if (!(t.lazy = lazy_new(t.n, o->t0_ns)))
			return -1;
		for (size_t i = 0; i < t.n; i++)
			if (lazy_plan(t.lazy, i, &t.li[i], NULL, &t))
				return -1;
		RINFO("lazy restore: %.1f MiB of private memory will come through userfaultfd", lazy_planned_bytes(t.lazy) / 1048576.0);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ||
	    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one))) {
		RERR("tree", errno, "socketpair for pid reports");
		return -1;
	}
	t.sock = sv[1];
	RINFO("tree: %zu processes, root pid %d, %zu shared pipes, %zu socketpair ends, %zu shared memory objects, set up in %llu ms",
	      t.n, t.li[t.root].h.pid, t.npipe, t.nsock, t.nshm, (unsigned long long)(now_ms() - t0));
	fflush(NULL);
	init = fork();
	if (init < 0) {
		RERR("tree", errno, "fork namespace init");
		return -1;
	}
	if (init == 0) {
		close(sv[0]);
		ns_init(&t);
	}
	close(sv[1]);
	for (size_t i = 0; i < t.npipe; i++) {
		close(t.pipes[i].rd);
		close(t.pipes[i].wr);
	}
	for (size_t i = 0; i < t.nshm; i++)
		close(t.shms[i].fd);
	for (size_t i = 0; i < t.nsock; i++)
		close(t.socks[i].fd);
	for (size_t i = 0; i < t.n && !t.lazy; i++)
		close(t.li[i].fd); /* lazy: the filler reads pages from them */
	outer_side(&t, o, sv[0], init, t0);
}
