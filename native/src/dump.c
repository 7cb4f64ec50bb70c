/* durun_ckpt_dump(): stop the other threads, write the image (tmp + fsync +
 * rename), release them. Log prefix "dump". Runs in a signal handler: every
 * buffer comes from mmap, every call is async-signal-safe. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "dump.h"

#define WRITE_BUF (1u << 20)

/* Zero-filled (bss), not initialized data: libdurun.so links this engine,
 * and 400 KiB of .data would put the library's bss on a page of its own,
 * one more page fault in every process started under durun. The fields
 * that must not start at zero are set by the first checkpoint. */
struct dump_state durun_g;

static void state_init_once(struct dump_state *g)
{
	if (g->initialized)
		return;
	g->uffd = -1;
	g->initialized = 1;
}

extern char **environ;

/* What follows "ckpt:POINT" in DURUN_FAULT, or NULL when the fault names
 * another point (getenv without locale or locks). */
static const char *fault_at(const char *point)
{
	const char *v = NULL;
	for (char **e = environ; e && *e; e++)
		if (d_startswith(*e, "DURUN_FAULT=ckpt:"))
			v = *e + 17;
	if (!v || !d_startswith(v, point))
		return NULL;
	return v + d_strlen(point);
}

int dump_fault(struct dump_ctx *d, const char *point)
{
	const char *v = fault_at(point);
	if (!v)
		return 0;
	if (*v == '@') {
		v++;
		if ((int)d_parse_dec(&v) != durun_g.ndumps)
			return 0;
	} else if (*v)
		return 0;
	ERR(&d->err, "dump", "fault injected at", point, EIO);
	return 1;
}

/* DURUN_FAULT=ckpt:POINT=MS: sleeps MS at POINT (tests hold a snapshot's
 * writer at work this way). */
static void dump_fault_delay(const char *point)
{
	const char *v = fault_at(point);
	if (!v || *v++ != '=')
		return;
	uint64_t ms = d_parse_dec(&v);
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int restored(struct durun_ckpt_result *res)
{
	struct dump_state *g = &durun_g;
	/* The image was taken mid-dump: nothing of that dump is in progress here,
	 * and the userfaultfd did not survive, so the next image must be full. */
	g->arrived = g->departed = g->nslots = 0;
	g->held = 0;
	g->is_writer = 0;
	g->writer_mid = 0;
	g->pending_ctx = NULL;
	g->nrepaired = 0; /* the old sockets; ours are new and live */
	g->uffd = -1;
	g->tracking = 0;
	g->ntracked = 0;
	g->last_image_id = 0;
	__atomic_store_n(&g->active, 0, __ATOMIC_RELEASE);
	memset(res, 0, sizeof(*res));
	/* before any other thread runs on: the timer ids are the program's */
	timers_recreate();
	signals_give_back();
	__atomic_store_n(&g->resumed, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &g->resumed, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
	return DURUN_CKPT_RESTORED;
}

static void set_reason(struct durun_ckpt_result *res, const char *a, const char *b)
{
	struct sb s;
	if (res->reason[0])
		return;
	sb_init(&s, res->reason, sizeof(res->reason));
	sb_str(&s, a);
	sb_str(&s, b);
}

static int sync_dir_of(struct dump_ctx *d, const char *path)
{
	char dir[4096];
	size_t n = d_strlen(path), cut = 0;
	int fd;
	for (size_t i = 0; i < n; i++)
		if (path[i] == '/')
			cut = i + 1;
	if (cut >= sizeof(dir))
		cut = 0;
	if (cut) {
		memcpy(dir, path, cut);
		dir[cut] = 0;
	} else {
		dir[0] = '.';
		dir[1] = 0;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd)) {
		ERR(&d->err, "dump", "fsync directory", dir, errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void image_abandon(struct dump_ctx *d, const char *tmp)
{
	if (d->img_fd >= 0) {
		close(d->img_fd);
		unlink(tmp);
	}
	d->img_fd = -1;
	if (d->wbuf) {
		dump_free(d->wbuf, WRITE_BUF);
		d->wbuf = NULL;
		d->nexclude--;
	}
	mem_plan_free(d);
}

/* Everything that needs the process as it is at the barrier: the records
 * other than memory, and the memory plan (dirty tracking). */
static int image_begin(struct dump_ctx *d, const char *tmp, uint64_t id)
{
	struct dump_state *g = &durun_g;
	const char *parent = d->incremental ? g->last_image : NULL;

	d->wbuf = dump_alloc(d, WRITE_BUF, "write buffer");
	if (!d->wbuf)
		return -1;
	d->exclude[d->nexclude++] = (struct range){ (uint64_t)(uintptr_t)d->wbuf, (uint64_t)(uintptr_t)d->wbuf + WRITE_BUF };
	d->img_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (d->img_fd < 0) {
		ERR(&d->err, "dump", "create", tmp, errno);
		return -1;
	}
	return iw_init(&d->w, d->img_fd, d->wbuf, WRITE_BUF, &d->err) ||
	       dump_header(d, id, d->incremental ? g->last_image_id : 0, parent) || dump_fault(d, "header") ||
	       dump_mm(d) || dump_proc(d) || dump_sigacts(d) || dump_fds(d) || dump_thread_records(d) ||
	       signals_check(d) || timers_take(d) || mem_plan(d) ? -1 : 0;
}

/* Page contents, then the file made durable under its final name. Reads only
 * memory, so a snapshot's writer can run it on its copy-on-write copy. */
static int image_end(struct dump_ctx *d, const char *tmp)
{
	const char *path = d->req->image_path;
	if (mem_write(d) || iw_finish(&d->w))
		return -1;
	if (fsync(d->img_fd)) {
		ERR(&d->err, "dump", "fsync", tmp, errno);
		return -1;
	}
	d->res->bytes = d->w.off;
	close(d->img_fd);
	d->img_fd = -1;
	if (dump_fault(d, "rename")) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path)) {
		ERR(&d->err, "dump", "rename to", path, errno);
		unlink(tmp);
		return -1;
	}
	return sync_dir_of(d, path);
}

/* The writer must see exactly the memory the plan describes: a mapping a
 * fork does not pass on (MADV_DONTFORK) or passes on zeroed
 * (MADV_WIPEONFORK) would be written wrong. Checked in the writer, off the
 * programs' stall; the caller falls back to writing in place. */
static int writer_memory_is_inherited(struct dump_ctx *d)
{
	size_t cap = 1 << 20;
	char *buf;
	long n;
	int ok = 1;
	for (;; cap *= 4) {
		buf = dump_alloc(d, cap, "/proc/self/smaps");
		if (!buf)
			return 0;
		n = d_read_file("/proc/self/smaps", buf, cap);
		if (n >= 0)
			break;
		dump_free(buf, cap);
		if (n != -EFBIG) {
			ERR(&d->err, "snapshot", "read", "/proc/self/smaps", (int)-n);
			return 0;
		}
	}
	for (const char *p = buf; *p && ok;) {
		if (d_startswith(p, "VmFlags:")) {
			const char *e = p;
			while (*e && *e != '\n')
				e++;
			for (const char *f = p; f + 3 <= e; f++)
				if (f[0] == ' ' && f[1] == 'w' && f[2] == 'f' && (f + 3 == e || f[3] == ' '))
					ok = 0;
		}
		while (*p && *p != '\n')
			p++;
		if (*p)
			p++;
	}
	if (!ok)
		ERR(&d->err, "snapshot", "a mapping is MADV_WIPEONFORK, so a fork child cannot write it", "", ENOTSUP);
	for (int i = 0; ok && i < d->plan.npieces; i++) {
		const struct piece_plan *pp = &d->plan.pieces[i];
		int found = 0;
		for (const char *p = buf; *p && !found;) {
			const char *q = p;
			if ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')) {
				uint64_t s = d_parse_hex(&q), e;
				if (*q == '-') {
					q++;
					e = d_parse_hex(&q);
					found = *q == ' ' && s <= pp->s && pp->e <= e;
				}
			}
			while (*p && *p != '\n')
				p++;
			if (*p)
				p++;
		}
		if (!found) {
			ERR(&d->err, "snapshot", "a mapping is MADV_DONTFORK, so a fork child cannot write it", "", ENOTSUP);
			ok = 0;
		}
	}
	dump_free(buf, cap);
	return ok;
}

/* A snapshot: a fork child holds a copy-on-write copy of this process's
 * memory as it is now, and writes the pages while the program runs on. It is
 * a grandchild: the middle process only forks it and exits, and is reaped by
 * durun_ckpt_release() (raw wait4 with __WCLONE: its exit signal is 0, so
 * neither SIGCHLD nor the program's own wait() ever sees it); nothing here
 * waits for it, as waking another process costs this VM milliseconds. The
 * writer, orphaned, is reaped by the subreaper above the program (durun's
 * runner). Every signal is blocked in both, so no handler of the program
 * ever runs there. Returns 1 here, 0 in the writer, -1 when it could not fork. */
static int snapshot_fork(struct dump_ctx *d)
{
	uint64_t all = ~0ull, old = 0;
	long mid;

	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
	mid = syscall(SYS_clone, 0, NULL, NULL, NULL, 0);
	if (mid == 0) {
		long w = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
		if (w == 0)
			return 0;
		syscall(SYS_exit_group, w > 0 ? 0 : 1);
	}
	int err = errno;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	if (mid < 0) {
		ERR(&d->err, "snapshot", "clone", "", err);
		return -1;
	}
	durun_g.writer_mid = (int)mid;
	return 1;
}

/* The writer: nothing of the program's but memory and the image file. It
 * writes from right here, deeper on the stack than the resume point: the
 * frames above it are in the image and must stay as they were at the fork
 * until their pages are written (so it cannot return to the caller first). */
static int write_as_writer(struct dump_ctx *d, const char *tmp)
{
	struct durun_ckpt_result *res = d->res;
	uint64_t tw = d_now_ns(CLOCK_MONOTONIC);
	int rc = DURUN_CKPT_ERROR;

	durun_g.is_writer = 1;
	res->in_writer = 1;
	prctl(PR_SET_NAME, "durun-writer", 0, 0, 0);
	/* The program's pipes and sockets must not stay open here: a peer would
	 * miss an EOF for as long as the write takes. */
	if (d->img_fd > 0)
		syscall(SYS_close_range, 0, (unsigned)d->img_fd - 1, 0);
	syscall(SYS_close_range, (unsigned)d->img_fd + 1, ~0u, 0);
	if (d->req->writer_start)
		d->req->writer_start(d->req->writer_arg);
	d->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (d->pagemap_fd < 0)
		ERR(&d->err, "snapshot", "open", "/proc/self/pagemap", errno);
	else if (dump_fault_delay("writer-delay"), !writer_memory_is_inherited(d))
		res->retry_in_place = 1;
	else if (image_end(d, tmp) == 0)
		rc = DURUN_CKPT_DUMPED;
	res->write_ns = d_now_ns(CLOCK_MONOTONIC) - tw;
	image_abandon(d, tmp);
	if (d->pagemap_fd >= 0)
		close(d->pagemap_fd);
	d->pagemap_fd = -1;
	return rc;
}

/* Everything after the leader's resume point. Kept out of durun_ckpt_dump so
 * that no local of the frame holding durun_capture() changes after it. */
static __attribute__((noinline)) int dump_after_capture(struct dump_ctx *d, const char *tmp, uint64_t t0)
{
	struct dump_state *g = &durun_g;
	const struct durun_ckpt_req *req = d->req;
	struct durun_ckpt_result *res = d->res;
	struct derr early = d->err;
	uint64_t tw, id = 0;
	struct sb s;

	/* full or incremental? A fork child inherits the fd but not the
	 * registrations, and the context still belongs to the parent's memory. */
	if (g->uffd >= 0 && g->uffd_pid != getpid()) {
		close(g->uffd);
		g->uffd = -1;
		g->tracking = 0;
		set_reason(res, "forked since the last dump: dirty tracking restarts with a full image", "");
	}
	if (req->flags & DURUN_CKPT_FORCE_FULL)
		set_reason(res, "full image requested", "");
	else if (!g->tracking || g->uffd < 0 || !g->last_image_id)
		set_reason(res, "dirty tracking was not armed by a previous dump (use DURUN_CKPT_TRACK)", "");
	else
		d->incremental = 1;
	if ((req->flags & DURUN_CKPT_TRACK) || d->incremental) {
		char why[200];
		struct derr te = { why, sizeof(why) };
		why[0] = 0;
		d->err = te;
		if (track_open(d)) {
			set_reason(res, "dirty tracking unavailable: ", why);
			d->incremental = 0;
		}
		d->err = early;
	}
	d->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (d->pagemap_fd < 0) {
		ERR(&d->err, "dump", "open", "/proc/self/pagemap", errno);
		return DURUN_CKPT_ERROR;
	}
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = t0 ^ ((uint64_t)getpid() << 32);
	tw = d_now_ns(CLOCK_MONOTONIC);
	if (image_begin(d, tmp, id)) {
		image_abandon(d, tmp);
		return DURUN_CKPT_ERROR;
	}
	res->kind = d->incremental ? DURUN_CKPT_KIND_INCR : DURUN_CKPT_KIND_FULL;
	res->image_id = id;
	res->nthreads = (unsigned)g->nslots;
	int snapshot = 0;
	if (req->flags & DURUN_CKPT_SNAPSHOT_WRITER) {
		snapshot = snapshot_fork(d);
		if (snapshot == 0)
			return write_as_writer(d, tmp);
		if (snapshot > 0) {
			/* The writer has its own copies of the file and the scratch;
			 * ours are freed by durun_ckpt_release(), off the stall. */
			close(d->img_fd);
			d->img_fd = -1;
			durun_g.pending_ctx = d;
		} else {
			set_reason(res, "no snapshot writer (", "fork failed): the image was written in place");
		}
	}
	if (snapshot <= 0) {
		if (image_end(d, tmp)) {
			image_abandon(d, tmp);
			return DURUN_CKPT_ERROR;
		}
		res->write_ns = d_now_ns(CLOCK_MONOTONIC) - tw;
		image_abandon(d, tmp);
	}
	/* what the next dump compares against */
	if (g->uffd >= 0 && ((req->flags & DURUN_CKPT_TRACK) || d->incremental)) {
		g->tracking = 1;
		g->last_image_id = id;
		sb_init(&s, g->last_image, sizeof(g->last_image));
		sb_str(&s, req->image_path);
		g->ntracked = d->ntracked_new;
		memcpy(g->tracked, d->tracked_new, (size_t)d->ntracked_new * sizeof(struct range));
	} else {
		g->tracking = 0;
		if (g->uffd >= 0)
			close(g->uffd); /* unregisters everything */
		g->uffd = -1;
	}
	return snapshot > 0 ? DURUN_CKPT_SNAPSHOT : DURUN_CKPT_DUMPED;
}

static __attribute__((noinline)) int capture_and_write(struct dump_ctx *d, const char *tmp, uint64_t t0)
{
	if (durun_capture(&durun_g.slots[0].ctx))
		return DURUN_CKPT_RESTORED;
	return dump_after_capture(d, tmp, t0);
}

static int bad_request(const struct durun_ckpt_req *req, struct derr *e)
{
	if (!req || !req->image_path || !req->image_path[0] || req->thread_signal <= 0 || req->thread_signal > 64) {
		ERR(e, "dump", "bad request (image_path and thread_signal are required)", "", EINVAL);
		return 1;
	}
	return 0;
}

/* Parks every other thread (dump-threads.c); active must be held. */
static int stop_others(struct dump_ctx *d)
{
	struct dump_state *g = &durun_g;
	g->thread_signal = d->req->thread_signal;
	/* only slots the last dump used are dirty: touching all 256 would put
	 * ~45 pages into every incremental image */
	for (int i = 0; i < g->nslots && i < DUMP_MAX_THREADS; i++)
		g->slots[i].ready = 0;
	g->arrived = g->departed = 0;
	g->nslots = 1;
	if (g->resumed)
		g->resumed = 0;
	signals_reset();
	return dump_stop_threads(d);
}

int durun_ckpt_stop(const struct durun_ckpt_req *req, struct durun_ckpt_result *res)
{
	struct dump_state *g = &durun_g;
	struct dump_ctx *d;
	int rc = DURUN_CKPT_ERROR;

	state_init_once(g);
	memset(res, 0, sizeof(*res));
	struct derr early = { res->error, sizeof(res->error) };
	if (bad_request(req, &early))
		return DURUN_CKPT_ERROR;
	if (__atomic_exchange_n(&g->active, 1, __ATOMIC_ACQ_REL)) {
		ERR(&early, "dump", "a checkpoint is already in progress", "", EBUSY);
		return DURUN_CKPT_ERROR;
	}
	d = mmap(NULL, sizeof(*d), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d == MAP_FAILED) {
		ERR(&early, "dump", "mmap dump context", "", errno);
		__atomic_store_n(&g->active, 0, __ATOMIC_RELEASE);
		return DURUN_CKPT_ERROR;
	}
	d->req = req;
	d->res = res;
	d->err = early;
	if (stop_others(d) == 0) {
		g->held = 1;
		rc = DURUN_CKPT_DUMPED;
	} else {
		dump_release_threads(d); /* those that did park */
		__atomic_store_n(&g->active, 0, __ATOMIC_RELEASE);
	}
	dump_free(d, sizeof(*d));
	return rc;
}

int durun_ckpt_release(struct durun_ckpt_result *res)
{
	struct dump_state *g = &durun_g;
	struct dump_ctx *d = g->pending_ctx;
	int rc = 0;
	if (g->is_writer)
		return 0;
	/* Runs on after a move was abandoned: its connections talk again. */
	if (g->nrepaired && dump_tcp_unrepair() != 0) {
		struct derr e = { res->error, sizeof(res->error) };
		ERR(&e, "tcp", "a live TCP connection could not leave repair mode (it stays frozen)", "", errno);
		rc = -1;
	}
	if (g->held) {
		g->held = 0;
		dump_release_threads(NULL);
		__atomic_store_n(&g->active, 0, __ATOMIC_RELEASE);
	}
	if (d) {
		g->pending_ctx = NULL;
		image_abandon(d, (char *)(d + 1));
		dump_free(d, sizeof(*d) + 4096 + 64);
	}
	if (g->writer_mid > 0) {
		int st = 0;
		long r;
		while ((r = syscall(SYS_wait4, g->writer_mid, &st, __WCLONE, NULL)) < 0 && errno == EINTR)
			;
		g->writer_mid = 0;
		if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			struct derr e = { res->error, sizeof(res->error) };
			ERR(&e, "snapshot", "the image writer could not be started (clone failed)", "", r < 0 ? errno : EAGAIN);
			rc = -1;
		}
	}
	return rc;
}

int durun_ckpt_dump(const struct durun_ckpt_req *req, struct durun_ckpt_result *res)
{
	struct dump_state *g = &durun_g;
	struct dump_ctx *d = NULL;
	char *tmp = NULL;
	uint64_t t0;
	int rc = DURUN_CKPT_ERROR, stopped = 0, held = g->held;
	struct sb s;
	struct derr early;

	state_init_once(g);
	memset(res, 0, sizeof(*res));
	early.buf = res->error;
	early.size = sizeof(res->error);
	if (bad_request(req, &early))
		return DURUN_CKPT_ERROR;
	/* After durun_ckpt_stop() the other threads are parked already and stay
	 * so until durun_ckpt_release(). */
	if (!held && __atomic_exchange_n(&g->active, 1, __ATOMIC_ACQ_REL)) {
		ERR(&early, "dump", "a checkpoint is already in progress", "", EBUSY);
		return DURUN_CKPT_ERROR;
	}
	t0 = d_now_ns(CLOCK_MONOTONIC);
	g->ndumps++;
	d = mmap(NULL, sizeof(*d) + 4096 + 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d == MAP_FAILED) {
		d = NULL;
		ERR(&early, "dump", "mmap dump context", "", errno);
		goto out;
	}
	tmp = (char *)(d + 1);
	d->req = req;
	d->res = res;
	d->err = early;
	d->img_fd = d->pagemap_fd = -1;
	d->exclude[d->nexclude++] = (struct range){ (uint64_t)(uintptr_t)d,
						    (((uint64_t)(uintptr_t)d + sizeof(*d) + 4096 + 64) + 4095) & ~4095ull };
	sb_init(&s, tmp, 4096 + 64);
	sb_str(&s, req->image_path);
	sb_str(&s, ".tmp");

	if (!held) {
		stopped = 1;
		if (stop_others(d))
			goto out;
	}

	dump_fill_thread(&g->slots[0]);
	rc = capture_and_write(d, tmp, t0);
	if (rc == DURUN_CKPT_RESTORED)
		return restored(res);
out:
	if (rc == DURUN_CKPT_ERROR)
		g->tracking = 0; /* scans may have re-protected pages: next image is full */
	if (d && d->pagemap_fd >= 0)
		close(d->pagemap_fd);
	if (stopped && !g->is_writer)
		dump_release_threads(d);
	if (!g->is_writer)
		signals_give_back(); /* ours; each released thread gives back its own */
	res->stall_ns = d_now_ns(CLOCK_MONOTONIC) - t0;
	/* A snapshot's context lives on here until durun_ckpt_release(). */
	if (rc != DURUN_CKPT_SNAPSHOT)
		dump_free(d, sizeof(*d) + 4096 + 64);
	if (!held)
		__atomic_store_n(&g->active, 0, __ATOMIC_RELEASE);
	return rc;
}
