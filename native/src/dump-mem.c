/* Memory: one VMA record per mapping of /proc/self/maps (minus the dumper's
 * own buffers), each followed by a PAGES record with the pages that must be
 * carried. Log prefix "mem".
 *   private anon        resident pages (pagemap present|swapped)
 *   private file        pages that were copied-on-write (resident, not file pages);
 *                       the rest is reloaded from the file by reference
 *   shared file         nothing (the file holds it)
 *   shared anon/deleted resident pages
 *   [vdso]/[vvar]*      nothing: recorded so restore can move its own there
 * Incremental (tracking armed, mapping still registered and not moved): pages
 * written since the last dump are DATA, other resident ones PARENT.
 *
 * Two passes, so that a snapshot dump (dump.c) can split them across a fork:
 * mem_plan() reads the maps and does all dirty-tracking work (it must run in
 * the process whose userfaultfd and page tables are tracked), mem_write()
 * reads page contents and writes the records (it may run in a fork child
 * holding a copy-on-write snapshot of the same memory). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "dump.h"
#include "track.h"

#define PM_CHUNK 8192 /* pagemap entries per read */

void *dump_alloc(struct dump_ctx *d, size_t len, const char *what)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ERR(&d->err, "mem", "mmap scratch for", what, errno);
		return NULL;
	}
	return p;
}

void dump_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

static const char *parse_line(const char *p, struct mline *m)
{
	memset(m, 0, sizeof(*m));
	m->start = d_parse_hex(&p);
	p++; /* - */
	m->end = d_parse_hex(&p);
	p++;
	m->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) | (p[2] == 'x' ? PROT_EXEC : 0);
	m->shared = p[3] == 's';
	p += 5;
	m->pgoff = d_parse_hex(&p);
	p++;
	m->maj = (unsigned)d_parse_hex(&p);
	p++;
	m->min = (unsigned)d_parse_hex(&p);
	p++;
	m->ino = d_parse_dec(&p);
	while (*p == ' ')
		p++;
	m->path = p;
	while (*p && *p != '\n')
		p++;
	m->path_len = (size_t)(p - m->path);
	return *p ? p + 1 : p;
}

static int ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = d_strlen(suf);
	return n >= k && memcmp(s + n - k, suf, k) == 0;
}

static uint32_t classify(const struct mline *m)
{
	const char *p = m->path;
	size_t n = m->path_len;
	uint32_t f = m->shared ? VMA_SHARED : 0;
	if (n == 0 || (p[0] == '[' && !d_startswith(p, "[vdso]") && !d_startswith(p, "[vvar") &&
		       !d_startswith(p, "[vsyscall]"))) {
		f |= VMA_ANON;
		if (d_startswith(p, "[stack"))
			f |= VMA_STACK;
		if (d_startswith(p, "[heap]"))
			f |= VMA_HEAP;
		return f;
	}
	if (d_startswith(p, "[vsyscall]"))
		return f | VMA_VSYSCALL;
	if (p[0] == '[')
		return f | VMA_SPECIAL;
	if (ends_with(p, n, " (deleted)") || !m->ino)
		return f | VMA_DELETED;
	return f | VMA_FILE;
}

/* need[i] = 1 if page i holds data the image must carry. */
static int scan_resident(struct dump_ctx *d, uint64_t start, uint64_t end, uint32_t vf,
			 uint8_t *need, uint64_t *pm)
{
	uint64_t np = (end - start) / IMG_PAGE;
	for (uint64_t i = 0; i < np; i += PM_CHUNK) {
		uint64_t cnt = np - i < PM_CHUNK ? np - i : PM_CHUNK;
		off_t off = (off_t)((start / IMG_PAGE + i) * 8);
		ssize_t got = pread(d->pagemap_fd, pm, cnt * 8, off);
		if (got != (ssize_t)(cnt * 8)) {
			ERR(&d->err, "mem", "pread", "/proc/self/pagemap", got < 0 ? errno : EIO);
			return -1;
		}
		for (uint64_t k = 0; k < cnt; k++) {
			uint64_t e = pm[k];
			int res = (e & (PM_PRESENT | PM_SWAPPED)) != 0;
			if ((vf & VMA_FILE) && !(vf & VMA_SHARED))
				res = res && ((e & PM_SWAPPED) || !(e & PM_FILE)); /* COW copy */
			else if ((vf & VMA_FILE) && (vf & VMA_SHARED))
				res = 0;
			need[i + k] = (uint8_t)res;
		}
	}
	return 0;
}

static int write_pages(struct dump_ctx *d, uint64_t start, uint32_t prot, const struct img_run *runs,
		       uint32_t nruns, uint64_t data_pages)
{
	int unreadable = !(prot & PROT_READ);
	if (!data_pages)
		return 0;
	if (iw_stream_begin(&d->w, REC_PAGES, data_pages * IMG_PAGE))
		return -1;
	for (uint32_t k = 0; k < nruns; k++) {
		uint64_t a = start + runs[k].first * IMG_PAGE, len = (uint64_t)runs[k].npages * IMG_PAGE;
		if (runs[k].kind != RUN_DATA)
			continue;
		if (unreadable && mprotect((void *)a, len, (int)(prot | PROT_READ))) {
			ERR(&d->err, "mem", "mprotect +read", "", errno);
			return -1;
		}
		int rc = iw_stream_data(&d->w, (const void *)a, len);
		if (unreadable)
			mprotect((void *)a, len, (int)prot);
		if (rc)
			return -1;
	}
	return iw_stream_end(&d->w);
}

static int note_tracked(struct dump_ctx *d, uint64_t s, uint64_t e)
{
	if (d->ntracked_new >= DUMP_MAX_TRACKED)
		return -1;
	d->tracked_new[d->ntracked_new].start = s;
	d->tracked_new[d->ntracked_new].end = e;
	d->ntracked_new++;
	return 0;
}

static int was_tracked(uint64_t s, uint64_t e)
{
	for (int i = 0; i < durun_g.ntracked; i++)
		if (s >= durun_g.tracked[i].start && e <= durun_g.tracked[i].end)
			return 1;
	return 0;
}

/* Pass 1 for one piece: arm it for tracking, or (incremental) collect which
 * of its pages were written since the last dump into its bits. */
static int plan_tracking(struct dump_ctx *d, struct piece_plan *pp)
{
	uint32_t vf = classify(&pp->m);
	int arm = !(vf & VMA_SHARED) && !(vf & (VMA_SPECIAL | VMA_VSYSCALL)) && durun_g.uffd >= 0 &&
		  ((d->req->flags & DURUN_CKPT_TRACK) || d->incremental);
	/* Dirty tracking covers private mappings only (shared ones are carried whole). */
	if (!arm)
		return 0;
	if (d->incremental && was_tracked(pp->s, pp->e) && track_is_armed(d, pp->s, pp->e)) {
		if (track_scan_written(d, pp->s, pp->e, d->plan.bits + pp->bits))
			return -1;
		pp->tracked = 1;
	} else if (track_arm(d, pp->s, pp->e) == 0) {
		pp->armed = 1; /* armed before its pages are written out: later writes are seen */
	} else {
		return 0;
	}
	note_tracked(d, pp->s, pp->e);
	return 0;
}

/* Pass 2 for one piece: its VMA record and PAGES record. */
static int dump_piece(struct dump_ctx *d, const struct piece_plan *pp, uint64_t *pm)
{
	const struct mline *m = &pp->m;
	uint64_t s = pp->s, e = pp->e;
	struct img_vma v;
	uint64_t np = (e - s) / IMG_PAGE;
	size_t scratch_len = 0;
	uint8_t *need = NULL;
	const uint8_t *written = pp->tracked ? d->plan.bits + pp->bits : NULL;
	struct img_run *runs = NULL;
	uint32_t nruns = 0;
	int rc = -1;
	const char *path = m->path;
	size_t path_len = m->path_len;

	memset(&v, 0, sizeof(v));
	v.start = s;
	v.end = e;
	v.pgoff = m->pgoff + (s - m->start);
	v.prot = m->prot;
	v.vflags = classify(m);
	v.dev = makedev(m->maj, m->min);
	v.ino = m->ino;
	if (v.vflags & VMA_FILE) {
		struct stat st;
		char p[4096];
		memcpy(p, path, path_len < sizeof(p) - 1 ? path_len : sizeof(p) - 1);
		p[path_len < sizeof(p) - 1 ? path_len : sizeof(p) - 1] = 0;
		if (stat(p, &st) == 0 && st.st_ino == m->ino) {
			v.fsize = (uint64_t)st.st_size;
			v.fmtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
		} else
			v.vflags = (v.vflags & ~VMA_FILE) | VMA_DELETED; /* replaced on disk: carry contents */
	}
	v.path_len = (uint32_t)path_len;
	if (v.vflags & (VMA_SPECIAL | VMA_VSYSCALL))
		return iw_record(&d->w, REC_VMA, &v, sizeof(v), NULL, 0, path, path_len);

	scratch_len = (np + 4095) & ~4095ull;
	scratch_len += ((np + 1) * sizeof(struct img_run) + 4095) & ~4095ull;
	need = dump_alloc(d, scratch_len, "page map");
	if (!need)
		return -1;
	runs = (struct img_run *)(void *)(need + ((np + 4095) & ~4095ull));

	if (scan_resident(d, s, e, v.vflags, need, pm))
		goto out;
	for (uint64_t i = 0; i < np;) {
		uint32_t kind;
		uint64_t j = i;
		if (!need[i]) {
			i++;
			continue;
		}
		kind = (!written || written[i]) ? RUN_DATA : RUN_PARENT;
		while (j < np && need[j] && ((!written || written[j]) ? RUN_DATA : RUN_PARENT) == kind &&
		       j - i < 0xffffffffu)
			j++;
		runs[nruns].first = i;
		runs[nruns].npages = (uint32_t)(j - i);
		runs[nruns].kind = kind;
		nruns++;
		d->res->pages_resident += j - i;
		if (kind == RUN_DATA)
			v.data_pages += j - i;
		i = j;
	}
	if (pp->tracked)
		v.vflags |= VMA_TRACKED;
	v.nruns = nruns;
	if (iw_record(&d->w, REC_VMA, &v, sizeof(v), runs, nruns * sizeof(struct img_run), path, path_len))
		goto out;
	if (write_pages(d, s, v.prot, runs, nruns, v.data_pages))
		goto out;
	d->res->pages_written += v.data_pages;
	rc = 0;
out:
	dump_free(need, scratch_len);
	return rc;
}

/* Adds the pieces of mapping m that are not the dumper's own scratch. */
static int add_pieces(struct dump_ctx *d, const struct mline *m, uint64_t *bits_used)
{
	struct mem_plan *pl = &d->plan;
	uint64_t s = m->start;
	while (s < m->end) {
		uint64_t e = m->end;
		int skip = 0;
		for (int i = 0; i < d->nexclude; i++) {
			const struct range *x = &d->exclude[i];
			if (x->end <= s || x->start >= e)
				continue;
			if (x->start <= s) {
				s = x->end < m->end ? x->end : m->end;
				skip = 1;
				break;
			}
			e = x->start;
		}
		if (skip)
			continue;
		if (pl->npieces >= pl->cap) {
			ERR(&d->err, "mem", "more mappings than /proc/self/maps had lines", "", EOVERFLOW);
			return -1;
		}
		struct piece_plan *pp = &pl->pieces[pl->npieces++];
		memset(pp, 0, sizeof(*pp));
		pp->m = *m;
		pp->s = s;
		pp->e = e;
		pp->bits = *bits_used;
		*bits_used += (e - s) / IMG_PAGE;
		s = e;
	}
	return 0;
}

int mem_plan(struct dump_ctx *d)
{
	struct mem_plan *pl = &d->plan;
	uint64_t pages = 0, bits_used = 0;
	size_t lines = 0;
	const char *p;

	for (pl->maps_cap = 1 << 20;; pl->maps_cap *= 4) {
		long n;
		pl->maps = dump_alloc(d, pl->maps_cap, "/proc/self/maps");
		if (!pl->maps)
			return -1;
		n = d_read_file("/proc/self/maps", pl->maps, pl->maps_cap);
		if (n >= 0)
			break;
		dump_free(pl->maps, pl->maps_cap);
		pl->maps = NULL;
		if (n != -EFBIG) {
			ERR(&d->err, "mem", "read", "/proc/self/maps", (int)-n);
			return -1;
		}
	}
	/* our own scratch must not end up in the image; what is mapped after
	 * this read is not in the text, so it needs no exclusion */
	d->exclude[d->nexclude++] = (struct range){ (uint64_t)(uintptr_t)pl->maps, (uint64_t)(uintptr_t)pl->maps + pl->maps_cap };
	for (p = pl->maps; *p;) {
		struct mline m;
		p = parse_line(p, &m);
		lines++;
		if (m.end > m.start)
			pages += (m.end - m.start) / IMG_PAGE;
	}
	/* each exclusion splits at most one mapping in two */
	pl->cap = (int)lines + DUMP_MAX_EXCLUDE;
	pl->pieces_len = ((size_t)pl->cap * sizeof(struct piece_plan) + 4095) & ~(size_t)4095;
	pl->pieces = dump_alloc(d, pl->pieces_len, "mapping plan");
	if (!pl->pieces)
		return -1;
	/* one byte per page, used only by incremental pieces: untouched pages of
	 * an anonymous mapping cost nothing */
	pl->bits_len = pages ? (size_t)((pages + 4095) & ~4095ull) : 4096;
	pl->bits = dump_alloc(d, pl->bits_len, "written-page bits");
	if (!pl->bits)
		return -1;
	for (p = pl->maps; *p;) {
		struct mline m;
		p = parse_line(p, &m);
		if (m.end > m.start && add_pieces(d, &m, &bits_used))
			return -1;
	}
	for (int i = 0; i < pl->npieces; i++)
		if (plan_tracking(d, &pl->pieces[i]))
			return -1;
	return 0;
}

int mem_write(struct dump_ctx *d)
{
	uint64_t *pm = dump_alloc(d, PM_CHUNK * 8, "pagemap chunk");
	int rc = 0;
	if (!pm)
		return -1;
	for (int i = 0; i < d->plan.npieces && rc == 0; i++)
		rc = dump_piece(d, &d->plan.pieces[i], pm) || dump_fault(d, "memory") ? -1 : 0;
	dump_free(pm, PM_CHUNK * 8);
	return rc;
}

void mem_plan_free(struct dump_ctx *d)
{
	struct mem_plan *pl = &d->plan;
	if (pl->maps)
		d->nexclude--;
	dump_free(pl->maps, pl->maps_cap);
	dump_free(pl->pieces, pl->pieces_len);
	dump_free(pl->bits, pl->bits_len);
	memset(pl, 0, sizeof(*pl));
}
