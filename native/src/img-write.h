/* Image writer: sequential, async-signal-safe (caller supplies the buffer).
 * Small records go through the buffer; page data is streamed straight from
 * memory and its record header patched in afterwards with pwrite. */
#ifndef DURUN_IMG_WRITE_H
#define DURUN_IMG_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "image.h"
#include "util.h"

struct img_writer {
	int fd;
	char *buf;
	size_t cap, used;
	uint64_t off;          /* file offset of buf[0] + used */
	uint32_t file_crc;     /* over the file head and record headers */
	uint32_t nrecords;
	struct derr *err;
	/* open streamed record */
	uint64_t s_off, s_len, s_done;
	uint32_t s_crc;
	uint16_t s_type;
	int s_open;
};

int iw_init(struct img_writer *w, int fd, char *buf, size_t cap, struct derr *err);
/* One record whose payload is up to three parts (any may be NULL/0). */
int iw_record(struct img_writer *w, unsigned type, const void *a, size_t alen,
	      const void *b, size_t blen, const void *c, size_t clen);
int iw_stream_begin(struct img_writer *w, unsigned type, uint64_t len);
int iw_stream_data(struct img_writer *w, const void *p, size_t len);
int iw_stream_end(struct img_writer *w);
/* Writes END and flushes. */
int iw_finish(struct img_writer *w);

#endif
