/* A memfd behind an fd: name, size, mode, seals and contents in one KOBJ
 * record (image.h, struct kobj_memfd). Log prefix "kobj". The contents are
 * read with pread through a copy opened read-only (the program's fd may be
 * write-only, and its offset must not move); pread of a hole reads zeros
 * without allocating the page, which a mapping's read fault would. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dump.h"

#define MEMFD_CHUNK (1u << 20)
#define MEMFD_PREFIX "/memfd:"
#define DELETED_SUFFIX " (deleted)"

int kobj_is_memfd(const char *link)
{
	return d_startswith(link, MEMFD_PREFIX);
}

/* "/memfd:NAME (deleted)" -> NAME */
static void memfd_name(const char *link, struct kobj_memfd *m)
{
	const char *name = link + sizeof(MEMFD_PREFIX) - 1;
	size_t n = d_strlen(name), cut = sizeof(DELETED_SUFFIX) - 1;
	if (n >= cut && d_streq(name + n - cut, DELETED_SUFFIX))
		n -= cut;
	if (n > sizeof(m->name))
		n = sizeof(m->name);
	memcpy(m->name, name, n);
	m->name_len = (uint32_t)n;
}

static int stream_contents(struct dump_ctx *d, int fd, uint64_t size, const char *proc)
{
	char *buf = dump_alloc(d, MEMFD_CHUNK, "memfd copy buffer");
	int rc = 0;
	if (!buf)
		return -1;
	for (uint64_t off = 0; off < size && rc == 0;) {
		size_t want = size - off < MEMFD_CHUNK ? (size_t)(size - off) : MEMFD_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n <= 0) {
			/* shrunk meanwhile: only our thread runs, so this is an error, not a race */
			ERR(&d->err, "kobj", "read memfd contents", proc, n < 0 ? errno : EIO);
			rc = -1;
			break;
		}
		rc = iw_stream_data(&d->w, buf, (size_t)n);
		off += (uint64_t)n;
	}
	dump_free(buf, MEMFD_CHUNK);
	return rc;
}

int dump_memfd(struct dump_ctx *d, int fd)
{
	struct img_kobj k = { fd, KOBJ_MEMFD, 0, 0 };
	struct kobj_memfd m;
	struct stat st;
	char proc[64], link[512];
	struct sb s;
	ssize_t n;
	int seals, rd, rc;

	memset(&m, 0, sizeof(m));
	sb_init(&s, proc, sizeof(proc));
	sb_str(&s, "/proc/self/fd/");
	sb_u64(&s, (uint64_t)fd);
	n = readlink(proc, link, sizeof(link) - 1);
	if (n < 0) {
		ERR(&d->err, "kobj", "readlink", proc, errno);
		return -1;
	}
	link[n] = 0;
	memfd_name(link, &m);
	if (fstat(fd, &st) || (seals = fcntl(fd, F_GET_SEALS)) < 0) {
		ERR(&d->err, "kobj", "fstat/F_GET_SEALS of memfd", proc, errno);
		return -1;
	}
	m.size = (uint64_t)st.st_size;
	m.mode = st.st_mode & 07777;
	m.seals = (uint32_t)seals;
	if (m.size > UINT32_MAX - sizeof(m)) {
		ERR(&d->err, "kobj", "a memfd of 4 GiB or more is not carried:", link, EFBIG);
		return -1;
	}
	k.len = (uint32_t)(sizeof(m) + m.size);
	rd = open(proc, O_RDONLY | O_CLOEXEC);
	if (rd < 0) {
		ERR(&d->err, "kobj", "open a read-only copy of memfd", proc, errno);
		return -1;
	}
	/* the record's checksum covers header + payload: stream them as one */
	rc = iw_stream_begin(&d->w, REC_KOBJ, sizeof(k) + k.len) || iw_stream_data(&d->w, &k, sizeof(k)) ||
		     iw_stream_data(&d->w, &m, sizeof(m)) || stream_contents(d, rd, m.size, proc) || iw_stream_end(&d->w)
		     ? -1 : 0;
	close(rd);
	return rc;
}
