/* See img-write.h. Log prefix "image". */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>
#include "img-write.h"

static int flush(struct img_writer *w)
{
	int rc;
	if (!w->used)
		return 0;
	rc = d_write_all(w->fd, w->buf, w->used);
	if (rc < 0) {
		ERR(w->err, "image", "write", "", -rc);
		return -1;
	}
	w->used = 0;
	return 0;
}

static int put(struct img_writer *w, const void *p, size_t len)
{
	if (w->used + len > w->cap) {
		if (flush(w))
			return -1;
		if (len > w->cap) {
			int rc = d_write_all(w->fd, p, len);
			if (rc < 0) {
				ERR(w->err, "image", "write", "", -rc);
				return -1;
			}
			w->off += len;
			return 0;
		}
	}
	memcpy(w->buf + w->used, p, len);
	w->used += len;
	w->off += len;
	return 0;
}

static void seal(struct img_writer *w, struct img_rec *r, unsigned type, uint32_t data_crc, uint64_t len)
{
	memset(r, 0, sizeof(*r));
	r->magic = REC_MAGIC;
	r->type = (uint16_t)type;
	r->data_crc = data_crc;
	r->len = len;
	r->hdr_crc = crc32c(0, r, sizeof(*r));
	w->file_crc = crc32c(w->file_crc, r, sizeof(*r));
	w->nrecords++;
}

int iw_init(struct img_writer *w, int fd, char *buf, size_t cap, struct derr *err)
{
	struct img_file_head h;
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = buf;
	w->cap = cap;
	w->err = err;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IMG_MAGIC, 8);
	h.version = IMG_VERSION;
	w->file_crc = crc32c(0, &h, sizeof(h));
	return put(w, &h, sizeof(h));
}

int iw_record(struct img_writer *w, unsigned type, const void *a, size_t alen,
	      const void *b, size_t blen, const void *c, size_t clen)
{
	struct img_rec r;
	uint32_t crc = 0;
	if (alen) crc = crc32c(crc, a, alen);
	if (blen) crc = crc32c(crc, b, blen);
	if (clen) crc = crc32c(crc, c, clen);
	seal(w, &r, type, crc, alen + blen + clen);
	if (put(w, &r, sizeof(r)))
		return -1;
	if ((alen && put(w, a, alen)) || (blen && put(w, b, blen)) || (clen && put(w, c, clen)))
		return -1;
	return 0;
}

int iw_stream_begin(struct img_writer *w, unsigned type, uint64_t len)
{
	struct img_rec r;
	if (flush(w))
		return -1;
	memset(&r, 0, sizeof(r)); /* placeholder, patched by iw_stream_end */
	w->s_off = w->off;
	w->s_len = len;
	w->s_done = 0;
	w->s_crc = 0;
	w->s_type = (uint16_t)type;
	w->s_open = 1;
	if (put(w, &r, sizeof(r)) || flush(w))
		return -1;
	return 0;
}

/* Pages are copied through the buffer first: the checksum and the bytes
 * written must be the same snapshot, and some pages (the dumping thread's own
 * stack) change while we write. */
int iw_stream_data(struct img_writer *w, const void *p, size_t len)
{
	const char *src = p;
	if (w->s_done + len > w->s_len) {
		ERR(w->err, "image", "stream overrun in", img_rec_name(w->s_type), 0);
		return -1;
	}
	while (len) {
		size_t n = len < w->cap ? len : w->cap;
		int rc;
		memcpy(w->buf, src, n);
		w->s_crc = crc32c(w->s_crc, w->buf, n);
		rc = d_write_all(w->fd, w->buf, n);
		if (rc < 0) {
			ERR(w->err, "image", "write page data", "", -rc);
			return -1;
		}
		src += n;
		len -= n;
		w->s_done += n;
		w->off += n;
	}
	return 0;
}

int iw_stream_end(struct img_writer *w)
{
	struct img_rec r;
	ssize_t n;
	if (w->s_done != w->s_len) {
		ERR(w->err, "image", "short streamed record", img_rec_name(w->s_type), 0);
		return -1;
	}
	seal(w, &r, w->s_type, w->s_crc, w->s_len);
	n = pwrite(w->fd, &r, sizeof(r), (off_t)w->s_off);
	if (n != (ssize_t)sizeof(r)) {
		ERR(w->err, "image", "pwrite record header", "", n < 0 ? errno : EIO);
		return -1;
	}
	w->s_open = 0;
	return 0;
}

int iw_finish(struct img_writer *w)
{
	struct img_end e;
	memset(&e, 0, sizeof(e));
	e.nrecords = w->nrecords;
	e.file_crc = w->file_crc;
	e.file_bytes = w->off;
	if (iw_record(w, REC_END, &e, sizeof(e), NULL, 0, NULL, 0))
		return -1;
	return flush(w);
}
