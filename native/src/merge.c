/* Merging an incremental chain into one full image. Log prefix "merge".
 * An incremental image lists, per mapping, pages it carries (DATA) and pages
 * that are resident but unchanged since its parent (PARENT). The merge walks
 * each PARENT page up the chain (newest first) to the nearest image that
 * carries it. Everything else (threads, fds, ...) comes from the newest image. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "img-read.h"
#include "img-write.h"
#include "merge.h"

#define MAX_CHAIN 64

static int load_parent(const struct loaded_image *child, struct loaded_image *out, char *err, size_t errsz)
{
	char alt[4200], tmp[4200];
	char e1[1024];
	if (li_load(child->parent, out, e1, sizeof(e1)) == 0)
		goto check;
	li_free(out);
	/* images may have moved together: look next to the child */
	snprintf(tmp, sizeof(tmp), "%s", child->path);
	snprintf(alt, sizeof(alt), "%s/", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", child->parent);
	strncat(alt, basename(tmp), sizeof(alt) - strlen(alt) - 1);
	if (li_load(alt, out, err, errsz)) {
		snprintf(err + strlen(err), errsz - strlen(err), " (parent of %s; also tried %s: %s)", child->path,
			 child->parent, e1);
		return -1;
	}
check:
	if (out->h.image_id != child->h.parent_id) {
		snprintf(err, errsz, "%s: parent image %s has id %016llx, expected %016llx (overwritten since?)", child->path,
			 out->path, (unsigned long long)out->h.image_id, (unsigned long long)child->h.parent_id);
		return -1;
	}
	return 0;
}

#define SPAN_PAGES 256u

uint64_t chain_locate(struct loaded_image *chain, int n, int first, uint64_t addr, uint64_t npages, int *src,
		      uint64_t *span)
{
	uint64_t off = 0;
	*span = npages;
	*src = -1;
	for (int step = 0; step < n; step++) {
		int i = step == 0 ? first : step, resident;
		uint64_t avail;
		off = li_page_span(&chain[i], addr, &resident, &avail);
		if (avail < *span)
			*span = avail;
		if (off) {
			*src = i;
			return off;
		}
		if (!resident)
			break; /* not resident there: the page was zero */
	}
	return 0;
}

/* Copies npages starting at addr into the output, each page from the newest
 * image of the chain that carries it (chain[n] = the child with its original
 * run kinds, then chain[1..n-1] = its ancestors), in spans as long as the
 * runs allow. A page no image carries was a zero page. */
static int copy_pages(struct loaded_image *chain, int n, struct img_writer *w, uint64_t addr, uint64_t npages,
		      char *err, size_t errsz)
{
	static char buf[SPAN_PAGES * IMG_PAGE];
	while (npages) {
		uint64_t span;
		int srci;
		uint64_t off = chain_locate(chain, n, n, addr, npages < SPAN_PAGES ? npages : SPAN_PAGES, &srci, &span);
		struct loaded_image *src = srci >= 0 ? &chain[srci] : NULL;
		if (src) {
			if (pread(src->fd, buf, span * IMG_PAGE, (off_t)off) != (ssize_t)(span * IMG_PAGE)) {
				snprintf(err, errsz, "%s: read pages at %#llx: %s", src->path, (unsigned long long)addr,
					 strerror(errno));
				return -1;
			}
		} else
			memset(buf, 0, span * IMG_PAGE);
		if (iw_stream_data(w, buf, span * IMG_PAGE)) {
			snprintf(err, errsz, "writing merged image: %s", w->err->buf);
			return -1;
		}
		addr += span * IMG_PAGE;
		npages -= span;
	}
	return 0;
}

static int write_merged(struct loaded_image *chain, int n, int fd, char *err, size_t errsz)
{
	struct loaded_image *c = &chain[0];
	struct img_writer w;
	char derrbuf[512] = "";
	struct derr de = { derrbuf, sizeof(derrbuf) };
	static char wbuf[1 << 20];
	struct img_header h = c->h;

	h.kind = IMG_KIND_FULL;
	h.parent_id = 0;
	h.parent_len = 0;
	if (iw_init(&w, fd, wbuf, sizeof(wbuf), &de) ||
	    iw_record(&w, REC_HEADER, &h, sizeof(h), c->exe, h.exe_len, NULL, 0))
		goto werr;
	if (c->have_mm && iw_record(&w, REC_MM, &c->mm, sizeof(c->mm), c->auxv, c->mm.auxv_len, NULL, 0))
		goto werr;
	if (iw_record(&w, REC_PROC, &c->proc, sizeof(c->proc), c->cwd, c->proc.cwd_len, NULL, 0) ||
	    iw_record(&w, REC_SIGACTS, c->sig, sizeof(c->sig), NULL, 0, NULL, 0))
		goto werr;
	for (size_t i = 0; i < c->nfd; i++)
		if (iw_record(&w, REC_FD, &c->fds[i].f, sizeof(c->fds[i].f), c->fds[i].path, c->fds[i].f.path_len, NULL, 0))
			goto werr;
	for (size_t i = 0; i < c->npipe; i++)
		if (iw_record(&w, REC_PIPE, &c->pipes[i].p, sizeof(c->pipes[i].p), c->pipes[i].data, c->pipes[i].p.len, NULL, 0))
			goto werr;
	for (size_t i = 0; i < c->nunix; i++)
		if (iw_record(&w, REC_UNIX, &c->unixes[i].u, sizeof(c->unixes[i].u), c->unixes[i].data, c->unixes[i].u.len, NULL, 0))
			goto werr;
	for (size_t i = 0; i < c->nkobj; i++)
		if (iw_record(&w, REC_KOBJ, &c->kobjs[i].k, sizeof(c->kobjs[i].k), c->kobjs[i].data, c->kobjs[i].k.len, NULL, 0))
			goto werr;
	for (size_t i = 0; i < c->nthr; i++)
		if (iw_record(&w, REC_THREAD, &c->thr[i], sizeof(c->thr[i]), NULL, 0, NULL, 0))
			goto werr;
	for (size_t i = 0; i < c->nvma; i++) {
		struct li_vma *v = &c->vmas[i];
		struct img_vma iv = v->v;
		uint64_t total = 0;
		for (uint32_t k = 0; k < iv.nruns; k++) {
			total += v->runs[k].npages;
			v->runs[k].kind = RUN_DATA;
		}
		/* runs are rewritten as DATA here; chain[n] keeps the original kinds */
		iv.data_pages = total;
		iv.vflags &= ~VMA_TRACKED;
		if (iw_record(&w, REC_VMA, &iv, sizeof(iv), v->runs, iv.nruns * sizeof(struct img_run), v->path, iv.path_len))
			goto werr;
		if (!total)
			continue;
		if (iw_stream_begin(&w, REC_PAGES, total * IMG_PAGE))
			goto werr;
		for (uint32_t k = 0; k < iv.nruns; k++)
			if (copy_pages(chain, n, &w, iv.start + v->runs[k].first * IMG_PAGE, v->runs[k].npages, err, errsz))
				return -1;
		if (iw_stream_end(&w))
			goto werr;
	}
	if (iw_finish(&w))
		goto werr;
	return 0;
werr:
	snprintf(err, errsz, "writing merged image: %s", derrbuf);
	return -1;
}

int chain_load(const char *child, struct loaded_image *chain, int max, int *n, char *err, size_t errsz)
{
	*n = 0;
	if (li_load(child, &chain[0], err, errsz)) {
		*n = 1; /* partly filled: the caller frees it */
		return -1;
	}
	*n = 1;
	while (chain[*n - 1].h.kind == IMG_KIND_INCR) {
		if (*n == max) {
			snprintf(err, errsz, "%s: incremental chain longer than %d images", child, max);
			return -1;
		}
		if (load_parent(&chain[*n - 1], &chain[*n], err, errsz)) {
			(*n)++;
			return -1;
		}
		(*n)++;
	}
	return 0;
}

int merge_chain(const char *child, const char *out, char *err, size_t errsz)
{
	/* chain[0..n-1]: newest .. full; chain[n]: the child loaded again with its
	 * original run kinds (chain[0]'s runs are rewritten while writing). */
	struct loaded_image chain[MAX_CHAIN + 1];
	char tmp[4200];
	int n = 0, fd = -1, rc = -1;

	memset(chain, 0, sizeof(chain));
	if (chain_load(child, chain, MAX_CHAIN, &n, err, errsz))
		goto out;
	if (li_load(child, &chain[n], err, errsz)) {
		n++;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errsz, "create %s: %s", tmp, strerror(errno));
		n++;
		goto out;
	}
	if (write_merged(chain, n, fd, err, errsz) || fsync(fd)) {
		unlink(tmp);
		n++;
		goto out;
	}
	if (rename(tmp, out)) {
		snprintf(err, errsz, "rename %s: %s", out, strerror(errno));
		unlink(tmp);
		n++;
		goto out;
	}
	n++;
	rc = 0;
out:
	for (int i = 0; i < n; i++)
		li_free(&chain[i]);
	if (fd >= 0)
		close(fd);
	return rc;
}
