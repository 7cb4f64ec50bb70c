/* See img-read.h. Log prefix "image". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "img-read.h"

#define MAX_SMALL_PAYLOAD (64u << 20)

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int crc_range(int fd, uint64_t off, uint64_t len, uint32_t *crc)
{
	static char buf[1 << 20];
	uint32_t c = 0;
	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		int rc = read_at(fd, buf, n, off);
		if (rc)
			return rc;
		c = crc32c(c, buf, n);
		off += n;
		len -= n;
	}
	*crc = c;
	return 0;
}

static char *dupmem(const void *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static void *grow(void *arr, size_t n, size_t each)
{
	if (n & (n - 1)) /* grow at powers of two */
		return arr;
	return realloc(arr, (n ? n * 2 : 1) * each);
}

#define WHERE "%s: record #%zu (%s) at offset %llu: "
#define AT path, idx, img_rec_name(r.type), (unsigned long long)off

static int load(const char *path, struct loaded_image *li, char *err, size_t errsz, char **payloadp)
{
	struct img_file_head fh;
	struct stat st;
	uint64_t off;
	uint32_t file_crc;
	size_t idx = 0;
	int rc;

#define payload (*payloadp)
	memset(li, 0, sizeof(*li));
	li->path = path;
	li->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (li->fd < 0)
		return fail(err, errsz, "%s: cannot open image: %s", path, strerror(errno));
	if (fstat(li->fd, &st))
		return fail(err, errsz, "%s: fstat: %s", path, strerror(errno));
	li->file_size = (uint64_t)st.st_size;
	if ((rc = read_at(li->fd, &fh, sizeof(fh), 0)))
		return fail(err, errsz, "%s: file head (offset 0): too short or unreadable: %s", path,
			    rc == -EIO ? "truncated" : strerror(-rc));
	if (memcmp(fh.magic, IMG_MAGIC, 8))
		return fail(err, errsz, "%s: file head (offset 0): bad magic, not a durun image", path);
	if (fh.version < IMG_VERSION_MIN || fh.version > IMG_VERSION)
		return fail(err, errsz, "%s: file head (offset 0): image version %u, this build reads versions %u to %u",
			    path, fh.version, IMG_VERSION_MIN, IMG_VERSION);
	li->version = fh.version;
	file_crc = crc32c(0, &fh, sizeof(fh));
	off = sizeof(fh);

	for (;; idx++) {
		struct img_rec r, chk;
		uint64_t poff;
		uint32_t crc;

		memset(&r, 0, sizeof(r));
		if (off + sizeof(r) > li->file_size)
			return fail(err, errsz, "%s: record #%zu at offset %llu: file ends before the END record (truncated image)",
				    path, idx, (unsigned long long)off);
		if ((rc = read_at(li->fd, &r, sizeof(r), off)))
			return fail(err, errsz, "%s: record #%zu at offset %llu: read: %s", path, idx,
				    (unsigned long long)off, strerror(-rc));
		chk = r;
		chk.hdr_crc = 0;
		if (r.magic != REC_MAGIC || crc32c(0, &chk, sizeof(chk)) != r.hdr_crc)
			return fail(err, errsz, "%s: record #%zu at offset %llu: record header checksum mismatch (corrupted header)",
				    path, idx, (unsigned long long)off);
		poff = off + sizeof(r);
		if (r.len > li->file_size - poff)
			return fail(err, errsz, WHERE "payload of %llu bytes runs past the end of the file (truncated image)",
				    AT, (unsigned long long)r.len);
		if (idx == 0 && r.type != REC_HEADER)
			return fail(err, errsz, WHERE "first record must be HEADER", AT);
		if (r.type == REC_END) {
			if (r.len != sizeof(li->end) || read_at(li->fd, &li->end, sizeof(li->end), poff) ||
			    crc32c(0, &li->end, sizeof(li->end)) != r.data_crc)
				return fail(err, errsz, WHERE "END payload checksum mismatch", AT);
			if (li->end.file_crc != file_crc || li->end.nrecords != idx || li->end.file_bytes != off)
				return fail(err, errsz, WHERE "whole-file checksum mismatch (stored 0x%08x, computed 0x%08x; %u records stored, %zu read)",
					    AT, li->end.file_crc, file_crc, li->end.nrecords, idx);
			if (poff + r.len != li->file_size)
				return fail(err, errsz, WHERE "%llu bytes of garbage after END", AT,
					    (unsigned long long)(li->file_size - poff - r.len));
			li->recs = grow(li->recs, li->nrec, sizeof(*li->recs));
			li->recs[li->nrec++] = (struct li_rec){ r.type, off, r.len, r.data_crc };
			return 0;
		}
		file_crc = crc32c(file_crc, &r, sizeof(r));

		if (r.type == REC_PAGES) {
			struct li_vma *v = li->nvma ? &li->vmas[li->nvma - 1] : NULL;
			if (!v || v->pages_off || r.len != v->v.data_pages * IMG_PAGE)
				return fail(err, errsz, WHERE "PAGES record does not match the VMA before it", AT);
			if (!li_defer_page_crc) {
				if ((rc = crc_range(li->fd, poff, r.len, &crc)))
					return fail(err, errsz, WHERE "read: %s", AT, strerror(-rc));
				if (crc != r.data_crc)
					return li_pages_crc_error(li, idx, off, r.data_crc, crc, err, errsz);
			}
			v->pages_off = poff;
		} else {
			if (r.len > MAX_SMALL_PAYLOAD)
				return fail(err, errsz, WHERE "implausible payload size %llu", AT, (unsigned long long)r.len);
			free(payload);
			payload = malloc(r.len + 1);
			if (!payload)
				return fail(err, errsz, WHERE "out of memory", AT);
			if ((rc = read_at(li->fd, payload, r.len, poff)))
				return fail(err, errsz, WHERE "read: %s", AT, strerror(-rc));
			if (crc32c(0, payload, r.len) != r.data_crc)
				return fail(err, errsz, WHERE "payload checksum mismatch (stored 0x%08x, computed 0x%08x)",
					    AT, r.data_crc, crc32c(0, payload, r.len));
			switch (r.type) {
			case REC_HEADER:
				if (idx != 0 || r.len < sizeof(li->h))
					return fail(err, errsz, WHERE "misplaced or short HEADER", AT);
				memcpy(&li->h, payload, sizeof(li->h));
				if (sizeof(li->h) + (uint64_t)li->h.exe_len + li->h.parent_len != r.len)
					return fail(err, errsz, WHERE "HEADER string lengths do not add up", AT);
				li->exe = dupmem(payload + sizeof(li->h), li->h.exe_len);
				li->parent = dupmem(payload + sizeof(li->h) + li->h.exe_len, li->h.parent_len);
				break;
			case REC_MM:
				if (r.len < sizeof(li->mm))
					return fail(err, errsz, WHERE "short MM", AT);
				memcpy(&li->mm, payload, sizeof(li->mm));
				if (sizeof(li->mm) + li->mm.auxv_len != r.len)
					return fail(err, errsz, WHERE "MM auxv length does not add up", AT);
				li->auxv = (unsigned char *)dupmem(payload + sizeof(li->mm), li->mm.auxv_len);
				li->have_mm = 1;
				break;
			case REC_VMA: {
				struct li_vma *v;
				struct img_vma iv;
				if (r.len < sizeof(iv))
					return fail(err, errsz, WHERE "short VMA", AT);
				memcpy(&iv, payload, sizeof(iv));
				if (sizeof(iv) + (uint64_t)iv.nruns * sizeof(struct img_run) + iv.path_len != r.len ||
				    iv.start >= iv.end || (iv.start | iv.end) % IMG_PAGE)
					return fail(err, errsz, WHERE "VMA fields inconsistent", AT);
				li->vmas = grow(li->vmas, li->nvma, sizeof(*li->vmas));
				v = &li->vmas[li->nvma++];
				memset(v, 0, sizeof(*v));
				v->v = iv;
				v->runs = malloc(iv.nruns * sizeof(struct img_run) + 1);
				memcpy(v->runs, payload + sizeof(iv), iv.nruns * sizeof(struct img_run));
				v->path = dupmem(payload + sizeof(iv) + iv.nruns * sizeof(struct img_run), iv.path_len);
				{
					uint64_t np = (iv.end - iv.start) / IMG_PAGE, data = 0;
					for (uint32_t k = 0; k < iv.nruns; k++) {
						if (v->runs[k].first + v->runs[k].npages > np)
							return fail(err, errsz, WHERE "page run outside its VMA", AT);
						if (v->runs[k].kind == RUN_DATA)
							data += v->runs[k].npages;
					}
					if (data != iv.data_pages)
						return fail(err, errsz, WHERE "VMA data page count does not match its runs", AT);
				}
				break;
			}
			case REC_THREAD:
				if (r.len != sizeof(struct img_thread))
					return fail(err, errsz, WHERE "THREAD size %llu, expected %zu", AT,
						    (unsigned long long)r.len, sizeof(struct img_thread));
				li->thr = grow(li->thr, li->nthr, sizeof(*li->thr));
				memcpy(&li->thr[li->nthr++], payload, sizeof(struct img_thread));
				break;
			case REC_SIGACTS:
				if (r.len != sizeof(li->sig))
					return fail(err, errsz, WHERE "SIGACTS size mismatch", AT);
				memcpy(li->sig, payload, sizeof(li->sig));
				li->have_sig = 1;
				break;
			case REC_FD: {
				struct li_fd *f;
				if (r.len < sizeof(struct img_fd))
					return fail(err, errsz, WHERE "short FD", AT);
				li->fds = grow(li->fds, li->nfd, sizeof(*li->fds));
				f = &li->fds[li->nfd++];
				memcpy(&f->f, payload, sizeof(f->f));
				if (sizeof(f->f) + f->f.path_len != r.len)
					return fail(err, errsz, WHERE "FD path length does not add up", AT);
				f->path = dupmem(payload + sizeof(f->f), f->f.path_len);
				break;
			}
			case REC_PIPE: {
				struct li_pipe *pp;
				if (li->version < 2 || r.len < sizeof(struct img_pipe))
					return fail(err, errsz, WHERE "PIPE record in a version %u image or short", AT, li->version);
				li->pipes = grow(li->pipes, li->npipe, sizeof(*li->pipes));
				pp = &li->pipes[li->npipe++];
				memcpy(&pp->p, payload, sizeof(pp->p));
				if (sizeof(pp->p) + (uint64_t)pp->p.len != r.len || pp->p.len > pp->p.pipe_size)
					return fail(err, errsz, WHERE "PIPE length does not add up", AT);
				pp->data = dupmem(payload + sizeof(pp->p), pp->p.len);
				break;
			}
			case REC_UNIX: {
				struct li_unix *ux;
				if (li->version < 2 || r.len < sizeof(struct img_unix))
					return fail(err, errsz, WHERE "UNIX record in a version %u image or short", AT, li->version);
				li->unixes = grow(li->unixes, li->nunix, sizeof(*li->unixes));
				ux = &li->unixes[li->nunix++];
				memcpy(&ux->u, payload, sizeof(ux->u));
				ux->data = NULL;
				if (sizeof(ux->u) + (uint64_t)ux->u.len != r.len)
					return fail(err, errsz, WHERE "UNIX length does not add up", AT);
				ux->data = dupmem(payload + sizeof(ux->u), ux->u.len);
				break;
			}
			case REC_KOBJ: {
				struct li_kobj *ko;
				if (li->version < 3 || r.len < sizeof(struct img_kobj))
					return fail(err, errsz, WHERE "KOBJ record in a version %u image or short", AT, li->version);
				li->kobjs = grow(li->kobjs, li->nkobj, sizeof(*li->kobjs));
				ko = &li->kobjs[li->nkobj++];
				memcpy(&ko->k, payload, sizeof(ko->k));
				ko->data = NULL;
				if (sizeof(ko->k) + (uint64_t)ko->k.len != r.len)
					return fail(err, errsz, WHERE "KOBJ length does not add up", AT);
				ko->data = (unsigned char *)dupmem(payload + sizeof(ko->k), ko->k.len);
				break;
			}
			case REC_PROC:
				if (r.len < sizeof(li->proc))
					return fail(err, errsz, WHERE "short PROC", AT);
				memcpy(&li->proc, payload, sizeof(li->proc));
				if (sizeof(li->proc) + li->proc.cwd_len != r.len)
					return fail(err, errsz, WHERE "PROC cwd length does not add up", AT);
				li->cwd = dupmem(payload + sizeof(li->proc), li->proc.cwd_len);
				li->have_proc = 1;
				break;
			default:
				return fail(err, errsz, WHERE "unknown record type %u", AT, r.type);
			}
		}
		li->recs = grow(li->recs, li->nrec, sizeof(*li->recs));
		li->recs[li->nrec++] = (struct li_rec){ r.type, off, r.len, r.data_crc };
		off = poff + r.len;
	}
}

#undef payload

int li_defer_page_crc;

int li_pages_crc_error(const struct loaded_image *li, size_t idx, uint64_t off, uint32_t stored, uint32_t computed,
		       char *err, size_t errsz)
{
	return fail(err, errsz, "%s: record #%zu (%s) at offset %llu: page data checksum mismatch (stored 0x%08x, computed 0x%08x)",
		    li->path, idx, img_rec_name(REC_PAGES), (unsigned long long)off, stored, computed);
}

int li_verify_pages(const struct loaded_image *li, char *err, size_t errsz)
{
	for (size_t i = 0; i < li->nrec; i++) {
		const struct li_rec *r = &li->recs[i];
		uint32_t crc;
		int rc;
		if (r->type != REC_PAGES)
			continue;
		if ((rc = crc_range(li->fd, r->off + sizeof(struct img_rec), r->len, &crc)))
			return fail(err, errsz, "%s: record #%zu (%s) at offset %llu: read: %s", li->path, i,
				    img_rec_name(r->type), (unsigned long long)r->off, strerror(-rc));
		if (crc != r->data_crc)
			return li_pages_crc_error(li, i, r->off, r->data_crc, crc, err, errsz);
	}
	return 0;
}

int li_load(const char *path, struct loaded_image *li, char *err, size_t errsz)
{
	char *payload = NULL;
	int rc = load(path, li, err, errsz, &payload);
	free(payload);
	return rc;
}

void li_free(struct loaded_image *li)
{
	for (size_t i = 0; i < li->nvma; i++) {
		free(li->vmas[i].runs);
		free(li->vmas[i].path);
	}
	for (size_t i = 0; i < li->nfd; i++)
		free(li->fds[i].path);
	for (size_t i = 0; i < li->npipe; i++)
		free(li->pipes[i].data);
	free(li->pipes);
	for (size_t i = 0; i < li->nunix; i++)
		free(li->unixes[i].data);
	free(li->unixes);
	for (size_t i = 0; i < li->nkobj; i++)
		free(li->kobjs[i].data);
	free(li->kobjs);
	free(li->vmas);
	free(li->fds);
	free(li->thr);
	free(li->recs);
	free(li->exe);
	free(li->parent);
	free(li->auxv);
	free(li->cwd);
	if (li->fd >= 0)
		close(li->fd);
	li->fd = -1;
}

uint64_t li_page_off(const struct loaded_image *li, uint64_t addr, int *resident)
{
	uint64_t avail;
	return li_page_span(li, addr, resident, &avail);
}

uint64_t li_page_span(const struct loaded_image *li, uint64_t addr, int *resident, uint64_t *avail)
{
	*resident = 0;
	*avail = 1;
	for (size_t i = 0; i < li->nvma; i++) {
		const struct li_vma *v = &li->vmas[i];
		uint64_t data = 0, pg;
		if (addr < v->v.start || addr >= v->v.end)
			continue;
		pg = (addr - v->v.start) / IMG_PAGE;
		for (uint32_t k = 0; k < v->v.nruns; k++) {
			const struct img_run *r = &v->runs[k];
			if (pg >= r->first && pg < r->first + r->npages) {
				*resident = 1;
				*avail = r->first + r->npages - pg;
				if (r->kind != RUN_DATA)
					return 0;
				return v->pages_off + (data + pg - r->first) * IMG_PAGE;
			}
			if (r->first > pg) {
				*avail = r->first - pg; /* not resident up to the next run */
				return 0;
			}
			if (r->kind == RUN_DATA)
				data += r->npages;
		}
		*avail = (v->v.end - addr) / IMG_PAGE;
		return 0;
	}
	return 0;
}
