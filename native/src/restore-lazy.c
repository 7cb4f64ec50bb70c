/* Lazy memory restore: the filler side (outer durun-restore) and the pieces
 * the restored processes use. See lazy.h. Log prefix "lazy".
 *
 * State per mm (the restored process, and every fork child it makes before
 * the fill ends): the pages still owed, as segments {address in that mm,
 * length, image, file offset}. A fault inside a segment gets image data
 * (read-around up to READAROUND bytes within the segment); a fault outside
 * any segment (a hole, a range dropped with MADV_DONTNEED) gets a zero page.
 * Events: FORK copies the parent's segments to the child's new userfaultfd,
 * REMAP moves segments, REMOVE and UNMAP drop them. While one of those is in
 * flight the kernel refuses UFFDIO_COPY with EAGAIN (mmap_changing), so a
 * refused copy reads the events first and tries again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "lazy.h"

#define PG 4096ull
#define CHUNK (2u << 20)
#define READAROUND (64 * PG)
#define MAX_SRC 72
#define MAX_DEFER 256
#define NEED_FEATURES (UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP)

struct seg {
	uint64_t addr, len, off;
	int src;
};

struct segs {
	struct seg *v;
	size_t n, cap;
};

struct lz_mm {
	int uffd;                   /* -1: gone (exited, exec'd) or done */
	struct segs s;
	uint64_t defer[MAX_DEFER];  /* faults refused with EAGAIN, served after the events */
	size_t ndefer;
};

struct lz_src {
	const struct loaded_image *li;
	int fd;
};

struct lz_rec {                     /* a PAGES record some segment takes pages from */
	int src;
	size_t idx;
	uint64_t off, len;          /* payload */
	uint32_t crc;
};

struct lazy {
	size_t nproc;
	struct segs *plan;          /* per process, until its userfaultfd arrives */
	struct lz_src src[MAX_SRC];
	int nsrc;
	struct lz_rec *rec;
	size_t nrec, reccap;
	struct lz_mm **mm;
	size_t nmm, mmcap;
	struct pollfd *pf;
	uint64_t t0, planned, copied, faults, zeros, forks;
	char *buf, *fbuf;
};

static int devfd = -1;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- segments ---- */

static int segs_insert(struct segs *s, size_t at, struct seg g)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct seg *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			RERR("lazy", ENOMEM, "page segments");
			return -1;
		}
		s->v = v;
		s->cap = cap;
	}
	memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof(*s->v));
	s->v[at] = g;
	s->n++;
	return 0;
}

/* no segment straddles x afterwards */
static int segs_split(struct segs *s, uint64_t x)
{
	for (size_t i = 0; i < s->n; i++) {
		struct seg g = s->v[i];
		if (g.addr < x && x < g.addr + g.len) {
			struct seg r = { x, g.addr + g.len - x, g.off + (x - g.addr), g.src };
			s->v[i].len = x - g.addr;
			return segs_insert(s, i + 1, r);
		}
	}
	return 0;
}

static int segs_drop(struct segs *s, uint64_t a, uint64_t b)
{
	size_t k = 0;
	if (segs_split(s, a) || segs_split(s, b))
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (!(s->v[i].addr >= a && s->v[i].addr + s->v[i].len <= b))
			s->v[k++] = s->v[i];
	s->n = k;
	return 0;
}

static int segs_move(struct segs *s, uint64_t a, uint64_t b, uint64_t to)
{
	if (segs_split(s, a) || segs_split(s, b))
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].addr >= a && s->v[i].addr + s->v[i].len <= b)
			s->v[i].addr = to + (s->v[i].addr - a);
	return 0;
}

static const struct seg *segs_find(const struct segs *s, uint64_t addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].addr <= addr && addr < s->v[i].addr + s->v[i].len)
			return &s->v[i];
	return NULL;
}

static int segs_copy(struct segs *to, const struct segs *from)
{
	to->n = to->cap = 0;
	to->v = NULL;
	for (size_t i = 0; i < from->n; i++)
		if (segs_insert(to, to->n, from->v[i]))
			return -1;
	return 0;
}

/* ---- probe and setup ---- */

static int uffd_api(int fd)
{
	struct uffdio_api api = { .api = UFFD_API, .features = NEED_FEATURES };
	if (ioctl(fd, UFFDIO_API, &api))
		return -1;
	if ((api.features & NEED_FEATURES) != NEED_FEATURES) {
		errno = ENOTSUP;
		return -1;
	}
	return 0;
}

int lazy_uffd_new(void)
{
	int fd = devfd >= 0 ? ioctl(devfd, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK)
			    : (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (uffd_api(fd)) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* one page registered, filled with UFFDIO_COPY and read back; closes fd
 * before unmapping (with EVENT_UNMAP, munmap would wait for us to read it) */
static int probe_copy(int fd, char *why, size_t whysz)
{
	static char src[4096] = "durun";
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = { .range = { (uintptr_t)p, PG }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_copy c = { .dst = (uintptr_t)p, .src = (uintptr_t)src, .len = PG };
	int ok;
	if (p == MAP_FAILED) {
		snprintf(why, whysz, "probe mapping: %s", strerror(errno));
		close(fd);
		return -1;
	}
	ok = !ioctl(fd, UFFDIO_REGISTER, &reg) && !ioctl(fd, UFFDIO_COPY, &c) && !memcmp(p, "durun", 6);
	if (!ok)
		snprintf(why, whysz, "userfaultfd register/copy probe failed: %s", strerror(errno));
	close(fd);
	munmap(p, PG);
	return ok ? 0 : -1;
}

int lazy_probe(char *why, size_t whysz)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), rc;
	if (fd < 0) {
		int e1 = errno, dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev < 0) {
			snprintf(why, whysz, "no full userfaultfd (userfaultfd(): %s; /dev/userfaultfd: %s)", strerror(e1),
				 strerror(errno));
			return -1;
		}
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			snprintf(why, whysz, "no full userfaultfd (USERFAULTFD_IOC_NEW: %s)", strerror(errno));
			close(dev);
			return -1;
		}
		devfd = dev;
	}
	if (uffd_api(fd)) {
		snprintf(why, whysz, "userfaultfd lacks the fork/remap/remove/unmap events: %s", strerror(errno));
		close(fd);
		rc = -1;
	} else
		rc = probe_copy(fd, why, whysz);
	if (rc && devfd >= 0) {
		close(devfd);
		devfd = -1;
	}
	return rc;
}

int lazy_wanted(const struct ropts *o)
{
	const char *e = getenv("DURUN_RESTORE_EAGER");
	char why[256];
	if (e && *e && strcmp(e, "0")) {
		RINFO("eager restore: DURUN_RESTORE_EAGER=%s", e);
		return 0;
	}
	if (o->no_pidns) {
		RINFO("eager restore: --no-pidns leaves no outer process to serve page faults");
		return 0;
	}
	if (lazy_probe(why, sizeof(why))) {
		RINFO("eager restore: %s", why);
		return 0;
	}
	return 1;
}

struct lazy *lazy_new(size_t nproc, uint64_t t0_ns)
{
	struct lazy *lz = calloc(1, sizeof(*lz));
	if (!lz || !(lz->plan = calloc(nproc, sizeof(*lz->plan))) || !(lz->buf = malloc(CHUNK)) ||
	    !(lz->fbuf = malloc(READAROUND))) {
		RERR("lazy", ENOMEM, "filler buffers");
		return NULL;
	}
	lz->nproc = nproc;
	lz->t0 = t0_ns;
	return lz;
}

struct plan_ctx {
	struct lazy *lz;
	struct segs *s;
	int err;
};

static int src_of(struct lazy *lz, int fd)
{
	for (int i = 0; i < lz->nsrc; i++)
		if (lz->src[i].fd == fd)
			return i;
	return -1;
}

static int use_record(struct lazy *lz, int src, uint64_t off)
{
	const struct loaded_image *li = lz->src[src].li;
	for (size_t i = 0; i < lz->nrec; i++)
		if (lz->rec[i].src == src && lz->rec[i].off <= off && off < lz->rec[i].off + lz->rec[i].len)
			return 0;
	for (size_t i = 0; i < li->nrec; i++) {
		const struct li_rec *r = &li->recs[i];
		uint64_t poff = r->off + sizeof(struct img_rec);
		if (r->type != REC_PAGES || off < poff || off >= poff + r->len)
			continue;
		if (lz->nrec == lz->reccap) {
			size_t cap = lz->reccap ? lz->reccap * 2 : 32;
			struct lz_rec *v = realloc(lz->rec, cap * sizeof(*v));
			if (!v)
				return -1;
			lz->rec = v;
			lz->reccap = cap;
		}
		lz->rec[lz->nrec++] = (struct lz_rec){ src, i, poff, r->len, r->data_crc };
		return 0;
	}
	RERR("lazy", 0, "%s: offset %llu is in no PAGES record", li->path, (unsigned long long)off);
	return -1;
}

static void plan_emit(void *ctx, uint64_t addr, uint64_t len, int fd, uint64_t off)
{
	struct plan_ctx *pc = ctx;
	int src = src_of(pc->lz, fd);
	if (pc->err)
		return;
	if (src < 0 || segs_insert(pc->s, pc->s->n, (struct seg){ addr, len, off, src }) || use_record(pc->lz, src, off)) {
		pc->err = 1;
		return;
	}
	pc->lz->planned += len;
}

static int add_src(struct lazy *lz, const struct loaded_image *li)
{
	if (src_of(lz, li->fd) >= 0)
		return 0;
	if (lz->nsrc == MAX_SRC) {
		RERR("lazy", 0, "more than %d images to serve pages from", MAX_SRC);
		return -1;
	}
	lz->src[lz->nsrc].li = li;
	lz->src[lz->nsrc++].fd = li->fd;
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct lz_rec *x = a, *y = b;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

int lazy_plan(struct lazy *lz, size_t proc, const struct loaded_image *li, const struct rchain *ch,
	      const struct tree_ctx *t)
{
	struct plan_ctx pc = { lz, &lz->plan[proc], 0 };
	if (add_src(lz, li))
		return -1;
	for (int i = 1; ch && i < ch->n; i++)
		if (add_src(lz, &ch->img[i]))
			return -1;
	for (size_t i = 0; i < li->nvma; i++)
		if (lazy_vma(&li->vmas[i], t) && (plan_runs(li, &li->vmas[i], ch, plan_emit, &pc) < 0 || pc.err))
			return -1;
	qsort(lz->rec, lz->nrec, sizeof(*lz->rec), rec_cmp);
	return 0;
}

uint64_t lazy_planned_bytes(const struct lazy *lz)
{
	return lz->planned;
}

static int add_mm(struct lazy *lz, int uffd, struct segs *s)
{
	struct lz_mm *m = calloc(1, sizeof(*m));
	if (!m || (lz->nmm == lz->mmcap && !(lz->mm = realloc(lz->mm, (lz->mmcap = lz->mmcap * 2 + 4) * sizeof(*lz->mm))))) {
		RERR("lazy", ENOMEM, "userfaultfd state");
		free(m);
		return -1;
	}
	m->uffd = uffd;
	m->s = *s;
	lz->mm[lz->nmm++] = m;
	return 0;
}

int lazy_attach(struct lazy *lz, size_t proc, int uffd)
{
	struct segs s = lz->plan[proc];
	memset(&lz->plan[proc], 0, sizeof(lz->plan[proc]));
	return add_mm(lz, uffd, &s);
}

/* ---- serving ---- */

static void mm_gone(struct lz_mm *m)
{
	if (m->uffd >= 0)
		close(m->uffd);
	m->uffd = -1;
	free(m->s.v);
	memset(&m->s, 0, sizeof(m->s));
	m->ndefer = 0;
}

static int read_src(struct lazy *lz, int src, char *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;
	while (done < len) {
		ssize_t n = pread(lz->src[src].fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			RERR("lazy", n < 0 ? errno : EIO, "%s: read pages at offset %llu", lz->src[src].li->path,
			     (unsigned long long)(off + done));
			return -1;
		}
		done += (uint64_t)n;
	}
	return 0;
}

/* Copies [dst, dst+len) from p into m and drops it from m's segments.
 * 0 done; EAGAIN an event is pending (partly done); ESRCH the mm is gone;
 * another errno: failed. */
static int put_range(struct lazy *lz, struct lz_mm *m, uint64_t dst, const char *p, uint64_t len)
{
	while (len) {
		struct uffdio_copy c = { .dst = dst, .src = (uintptr_t)p, .len = len, .mode = 0 };
		uint64_t done;
		int e = ioctl(m->uffd, UFFDIO_COPY, &c) ? errno : 0;
		done = e ? (c.copy > 0 ? (uint64_t)c.copy : 0) : len;
		if (e == EEXIST || e == ENOENT) /* already there / no longer a registered mapping */
			done = PG;
		else if (e && !done)
			return e == EINTR ? EAGAIN : e;
		if (e != EEXIST && e != ENOENT)
			lz->copied += done;
		if (segs_drop(&m->s, dst, dst + done))
			return ENOMEM;
		dst += done;
		p += done;
		len -= done;
	}
	return 0;
}

static void wake(struct lz_mm *m, uint64_t addr)
{
	struct uffdio_range r = { addr, PG };
	if (ioctl(m->uffd, UFFDIO_WAKE, &r) && errno != ESRCH && errno != ENOENT)
		RINFO("lazy: wake %#llx: %s", (unsigned long long)addr, strerror(errno));
}

static int serve_fault(struct lazy *lz, struct lz_mm *m, uint64_t addr)
{
	const struct seg *g = segs_find(&m->s, addr);
	int e;
	if (g) {
		uint64_t len = g->addr + g->len - addr, off = g->off + (addr - g->addr);
		int src = g->src;
		if (len > READAROUND)
			len = READAROUND;
		if (read_src(lz, src, lz->fbuf, len, off))
			return -1;
		e = put_range(lz, m, addr, lz->fbuf, len);
	} else {
		struct uffdio_zeropage z = { .range = { addr, PG }, .mode = 0 };
		e = ioctl(m->uffd, UFFDIO_ZEROPAGE, &z) ? errno : 0;
		if (e == EINTR)
			e = EAGAIN;
		if (!e)
			lz->zeros++;
		else if (e != EAGAIN && e != ESRCH) { /* there already, or unmapped: let it retry */
			wake(m, addr);
			e = 0;
		}
	}
	lz->faults++;
	if (e == EAGAIN) {
		if (m->ndefer < MAX_DEFER)
			m->defer[m->ndefer++] = addr;
		else
			wake(m, addr); /* it faults again and is asked again */
		return 0;
	}
	if (e == ESRCH) {
		mm_gone(m);
		return 0;
	}
	if (e) {
		RERR("lazy", e, "serving a page fault at %#llx", (unsigned long long)addr);
		return -1;
	}
	return 0;
}

/* Reads and handles what m's userfaultfd has: faults, fork, remap, remove, unmap. */
static int handle_msgs(struct lazy *lz, size_t mi)
{
	struct uffd_msg msg[32];
	for (;;) {
		struct lz_mm *m = lz->mm[mi];
		ssize_t n;
		if (m->uffd < 0)
			return 0;
		n = read(m->uffd, msg, sizeof(msg));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			RERR("lazy", n < 0 ? errno : EIO, "read userfaultfd");
			return -1;
		}
		for (size_t k = 0; k < (size_t)n / sizeof(msg[0]); k++) {
			struct uffd_msg *u = &msg[k];
			int rc = 0;
			m = lz->mm[mi];
			switch (u->event) {
			case UFFD_EVENT_PAGEFAULT:
				if (m->uffd >= 0)
					rc = serve_fault(lz, m, u->arg.pagefault.address & ~(PG - 1));
				break;
			case UFFD_EVENT_FORK: {
				struct segs s;
				rc = segs_copy(&s, &m->s) || add_mm(lz, (int)u->arg.fork.ufd, &s) ? -1 : 0;
				lz->forks++;
				break;
			}
			case UFFD_EVENT_REMAP:
				rc = segs_move(&m->s, u->arg.remap.from, u->arg.remap.from + u->arg.remap.len, u->arg.remap.to);
				break;
			case UFFD_EVENT_REMOVE:
			case UFFD_EVENT_UNMAP:
				rc = segs_drop(&m->s, u->arg.remove.start, u->arg.remove.end);
				break;
			default:
				RINFO("lazy: unexpected userfaultfd event %u", u->event);
			}
			if (rc)
				return -1;
		}
	}
	/* faults refused while an event was in flight */
	{
		struct lz_mm *m = lz->mm[mi];
		size_t nd = m->ndefer;
		uint64_t again[MAX_DEFER];
		memcpy(again, m->defer, nd * sizeof(again[0]));
		m->ndefer = 0;
		for (size_t k = 0; k < nd && m->uffd >= 0; k++)
			if (serve_fault(lz, m, again[k]))
				return -1;
	}
	return 0;
}

/* One poll over every live userfaultfd (and fd if >= 0): serves what came.
 * Returns 1 if fd is readable, 0 if not, -1 on failure. */
static int poll_all(struct lazy *lz, int fd, int timeout_ms)
{
	size_t n = 0, defer = 0;
	int rc;
	lz->pf = realloc(lz->pf, (lz->nmm + 1) * sizeof(*lz->pf));
	if (!lz->pf) {
		RERR("lazy", ENOMEM, "poll set");
		return -1;
	}
	for (size_t i = 0; i < lz->nmm; i++) {
		lz->pf[i].fd = lz->mm[i]->uffd;
		lz->pf[i].events = POLLIN;
		lz->pf[i].revents = 0;
		defer += lz->mm[i]->ndefer;
	}
	n = lz->nmm;
	lz->pf[n].fd = fd;
	lz->pf[n].events = POLLIN;
	lz->pf[n].revents = 0;
	if (defer && (timeout_ms < 0 || timeout_ms > 1))
		timeout_ms = 1;
	rc = poll(lz->pf, n + 1, timeout_ms);
	if (rc < 0 && errno != EINTR) {
		RERR("lazy", errno, "poll userfaultfds");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (lz->mm[i]->uffd < 0)
			continue;
		if (lz->pf[i].revents & (POLLERR | POLLNVAL)) {
			mm_gone(lz->mm[i]);
			continue;
		}
		if (((lz->pf[i].revents & POLLIN) || lz->mm[i]->ndefer) && handle_msgs(lz, i))
			return -1;
	}
	return rc > 0 && fd >= 0 && (lz->pf[n].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

int lazy_wait_fd(struct lazy *lz, int fd, int timeout_ms)
{
	uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		uint64_t now = mono_ns();
		int r;
		if (now >= end)
			return 0;
		r = poll_all(lz, fd, (int)((end - now) / 1000000ull) + 1);
		if (r)
			return r;
	}
}

/* Copies the pages of chunk [o, o+n) of image src (in buf) into mm mi,
 * wherever its segments still want them. */
static int fill_chunk(struct lazy *lz, size_t mi, int src, uint64_t o, uint64_t n)
{
	for (;;) {
		struct lz_mm *m = lz->mm[mi];
		const struct seg *g = NULL;
		uint64_t a, b, dst;
		int e;
		if (m->uffd < 0)
			return 0;
		for (size_t i = 0; i < m->s.n && !g; i++)
			if (m->s.v[i].src == src && m->s.v[i].off < o + n && o < m->s.v[i].off + m->s.v[i].len)
				g = &m->s.v[i];
		if (!g)
			return 0;
		a = g->off > o ? g->off : o;
		b = g->off + g->len < o + n ? g->off + g->len : o + n;
		dst = g->addr + (a - g->off); /* g may move: put_range edits the segments */
		e = put_range(lz, m, dst, lz->buf + (a - o), b - a);
		if (e == EAGAIN) {
			if (handle_msgs(lz, mi))
				return -1;
			if (lz->mm[mi]->uffd >= 0 && poll_all(lz, -1, 1) < 0)
				return -1;
		} else if (e == ESRCH)
			mm_gone(m);
		else if (e) {
			RERR("lazy", e, "UFFDIO_COPY into %#llx", (unsigned long long)dst);
			return -1;
		}
	}
}

static size_t live(const struct lazy *lz)
{
	size_t k = 0;
	for (size_t i = 0; i < lz->nmm; i++)
		k += lz->mm[i]->uffd >= 0;
	return k;
}

int lazy_fill(struct lazy *lz)
{
	uint64_t left = 0;
	struct timespec wall;
	if (!live(lz))
		return 0; /* no process took the lazy path */
	for (size_t r = 0; r < lz->nrec && live(lz); r++) {
		const struct lz_rec *rec = &lz->rec[r];
		uint32_t crc = 0;
		for (uint64_t o = 0; o < rec->len && live(lz); o += CHUNK) {
			uint64_t n = rec->len - o < CHUNK ? rec->len - o : CHUNK;
			if (read_src(lz, rec->src, lz->buf, n, rec->off + o))
				return -1;
			crc = crc32c(crc, lz->buf, n);
			if (poll_all(lz, -1, 0) < 0) /* faults first */
				return -1;
			for (size_t mi = 0; mi < lz->nmm; mi++)
				if (fill_chunk(lz, mi, rec->src, rec->off + o, n))
					return -1;
			if (o + n == rec->len && crc != rec->crc) {
				char err[1024];
				li_pages_crc_error(lz->src[rec->src].li, rec->idx, rec->off - sizeof(struct img_rec), rec->crc, crc,
						   err, sizeof(err));
				RERR("lazy", 0, "%s; the restored processes were killed", err);
				return -1;
			}
		}
	}
	for (size_t i = 0; i < lz->nmm; i++) {
		for (size_t k = 0; k < lz->mm[i]->s.n; k++)
			left += lz->mm[i]->s.v[k].len;
		if (lz->mm[i]->uffd >= 0 && handle_msgs(lz, i))
			return -1;
	}
	if (left) {
		RERR("lazy", 0, "%llu bytes were still owed after streaming every record; the restored processes were killed",
		     (unsigned long long)left);
		return -1;
	}
	if (!live(lz)) {
		RINFO("lazy: the restored processes ended before all their memory was back");
		return 0;
	}
	for (size_t i = 0; i < lz->nmm; i++)
		mm_gone(lz->mm[i]); /* let go: the kernel unregisters and wakes any waiter */
	clock_gettime(CLOCK_REALTIME, &wall);
	fprintf(stderr,
		"durun-restore: all memory back %llu ms after start (lazy restore: %.1f MiB copied, %llu faults served, %llu zero pages, %llu forks followed; unix time %llu.%03llu)\n",
		(unsigned long long)((mono_ns() - lz->t0) / 1000000ull), (double)lz->copied / 1048576.0,
		(unsigned long long)lz->faults, (unsigned long long)lz->zeros, (unsigned long long)lz->forks,
		(unsigned long long)wall.tv_sec, (unsigned long long)(wall.tv_nsec / 1000000));
	return 0;
}

/* ---- fd passing ---- */

int lazy_send_fd(int sock, const char *msg, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)(uintptr_t)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		struct cmsghdr *c;
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

int lazy_cmsg_fd(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
			return fd;
		}
	return -1;
}
