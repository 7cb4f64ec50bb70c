/* durun_ckpt_dump(): stop the other threads, write the image (tmp + fsync +
 * rename), release them. Log prefix "dump". Runs in a signal handler: every
 * buffer comes from mmap, every call is async-signal-safe. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "dump.h"

#define WRITE_BUF (1u << 20)

struct dump_state durun_g = { .uffd = -1 };

extern char **environ;

int dump_fault(struct dump_ctx *d, const char *point)
{
	const char *v = NULL;
	for (char **e = environ; e && *e; e++) /* getenv without locale or locks */
		if (d_startswith(*e, "DURUN_FAULT=ckpt:"))
			v = *e + 17;
	if (!v || !d_startswith(v, point))
		return 0;
	v += d_strlen(point);
	if (*v == '@') {
		v++;
		if ((int)d_parse_dec(&v) != durun_g.ndumps)
			return 0;
	} else if (*v)
		return 0;
	ERR(&d->err, "dump", "fault injected at", point, EIO);
	return 1;
}

static int restored(struct durun_ckpt_result *res)
{
	struct dump_state *g = &durun_g;
	/* The image was taken mid-dump: nothing of that dump is in progress here,
	 * and the userfaultfd did not survive, so the next image must be full. */
	g->arrived = g->departed = g->nslots = 0;
	g->uffd = -1;
	g->tracking = 0;
	g->ntracked = 0;
	g->last_image_id = 0;
	__atomic_store_n(&g->active, 0, __ATOMIC_RELEASE);
	memset(res, 0, sizeof(*res));
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

static int write_image(struct dump_ctx *d, const char *tmp, uint64_t id)
{
	struct dump_state *g = &durun_g;
	const char *parent = d->incremental ? g->last_image : NULL;
	char *buf;

	buf = dump_alloc(d, WRITE_BUF, "write buffer");
	if (!buf)
		return -1;
	d->exclude[d->nexclude++] = (struct range){ (uint64_t)(uintptr_t)buf, (uint64_t)(uintptr_t)buf + WRITE_BUF };
	d->img_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (d->img_fd < 0) {
		ERR(&d->err, "dump", "create", tmp, errno);
		goto err;
	}
	if (iw_init(&d->w, d->img_fd, buf, WRITE_BUF, &d->err) ||
	    dump_header(d, id, d->incremental ? g->last_image_id : 0, parent) || dump_fault(d, "header") ||
	    dump_mm(d) || dump_proc(d) || dump_sigacts(d) || dump_fds(d) ||
	    dump_thread_records(d) || dump_memory(d) || iw_finish(&d->w))
		goto err;
	if (fsync(d->img_fd)) {
		ERR(&d->err, "dump", "fsync", tmp, errno);
		goto err;
	}
	d->res->bytes = d->w.off;
	close(d->img_fd);
	d->img_fd = -1;
	dump_free(buf, WRITE_BUF);
	d->nexclude--;
	return 0;
err:
	if (d->img_fd >= 0)
		close(d->img_fd);
	d->img_fd = -1;
	unlink(tmp);
	dump_free(buf, WRITE_BUF);
	d->nexclude--;
	return -1;
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
	if (write_image(d, tmp, id))
		return DURUN_CKPT_ERROR;
	if (dump_fault(d, "rename")) {
		unlink(tmp);
		return DURUN_CKPT_ERROR;
	}
	if (rename(tmp, req->image_path)) {
		ERR(&d->err, "dump", "rename to", req->image_path, errno);
		unlink(tmp);
		return DURUN_CKPT_ERROR;
	}
	if (sync_dir_of(d, req->image_path))
		return DURUN_CKPT_ERROR;
	res->write_ns = d_now_ns(CLOCK_MONOTONIC) - tw;
	res->kind = d->incremental ? DURUN_CKPT_KIND_INCR : DURUN_CKPT_KIND_FULL;
	res->image_id = id;
	res->nthreads = (unsigned)g->nslots;
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
	return DURUN_CKPT_DUMPED;
}

static __attribute__((noinline)) int capture_and_write(struct dump_ctx *d, const char *tmp, uint64_t t0)
{
	if (durun_capture(&durun_g.slots[0].ctx))
		return DURUN_CKPT_RESTORED;
	return dump_after_capture(d, tmp, t0);
}

int durun_ckpt_dump(const struct durun_ckpt_req *req, struct durun_ckpt_result *res)
{
	struct dump_state *g = &durun_g;
	struct dump_ctx *d = NULL;
	char *tmp = NULL;
	uint64_t t0;
	int rc = DURUN_CKPT_ERROR, stopped = 0;
	struct sb s;
	struct derr early;

	memset(res, 0, sizeof(*res));
	early.buf = res->error;
	early.size = sizeof(res->error);
	if (!req || !req->image_path || !req->image_path[0] || req->thread_signal <= 0 || req->thread_signal > 64) {
		ERR(&early, "dump", "bad request (image_path and thread_signal are required)", "", EINVAL);
		return DURUN_CKPT_ERROR;
	}
	if (__atomic_exchange_n(&g->active, 1, __ATOMIC_ACQ_REL)) {
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

	g->thread_signal = req->thread_signal;
	/* only slots the last dump used are dirty: touching all 256 would put
	 * ~45 pages into every incremental image */
	for (int i = 0; i < g->nslots && i < DUMP_MAX_THREADS; i++)
		g->slots[i].ready = 0;
	g->arrived = g->departed = 0;
	g->nslots = 1;
	stopped = 1;
	if (dump_stop_threads(d))
		goto out;

	dump_fill_thread(&g->slots[0]);
	rc = capture_and_write(d, tmp, t0);
	if (rc == DURUN_CKPT_RESTORED)
		return restored(res);
out:
	if (rc != DURUN_CKPT_DUMPED)
		g->tracking = 0; /* scans may have re-protected pages: next image is full */
	if (d && d->pagemap_fd >= 0)
		close(d->pagemap_fd);
	if (stopped)
		dump_release_threads(d);
	res->stall_ns = d_now_ns(CLOCK_MONOTONIC) - t0;
	dump_free(d, sizeof(*d) + 4096 + 64);
	__atomic_store_n(&g->active, 0, __ATOMIC_RELEASE);
	return rc;
}
