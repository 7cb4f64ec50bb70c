/* An inotify instance: its watches, in watch-descriptor order, each with the
 * path it watches. Log prefix "kobj". /proc/self/fdinfo tells every watch's
 * wd, mask and inode ("inotify wd:1 ino:3f7e8 sdev:fe00000 mask:100 ...")
 * but no path, only a file handle; the path comes from the caller
 * (req->inotify_path: the interceptor records it when the program adds the
 * watch), else, for a watch it did not see (a raw system call), from the
 * handle, which only a process with CAP_DAC_READ_SEARCH may open. Events
 * queued but not yet read are not carried. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "dump.h"

#define WATCH_PATH_MAX 4096
#define MOUNTINFO_MAX (1u << 20)
#define HANDLE_MAX 128 /* MAX_HANDLE_SZ */

/* fdinfo's sdev is the kernel's internal dev_t (major << 20 | minor) */
static uint64_t user_dev(uint64_t sdev)
{
	return makedev((unsigned)(sdev >> 20), (unsigned)(sdev & 0xfffff));
}

static int hexfield(const char *line, const char *key, uint64_t *out)
{
	const char *p = strstr(line, key);
	const char *nl = strchr(line, '\n');
	if (!p || (nl && p > nl))
		return -1;
	p += strlen(key);
	*out = d_parse_hex(&p);
	return 0;
}

/* Copies a mountinfo field (octal escapes such as \040 decoded) up to the next space into out. */
static const char *field_copy(const char *p, char *out, size_t size)
{
	size_t n = 0;
	for (; *p && *p != ' ' && *p != '\n'; p++) {
		char c = *p;
		if (c == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			c = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		}
		if (n + 1 < size)
			out[n++] = c;
	}
	out[n] = 0;
	return p;
}

/* A mount point of device maj:min (one that mounts its root if any), or -1. */
static int mount_of(struct dump_ctx *d, unsigned maj, unsigned min, char *out, size_t size)
{
	char *buf = dump_alloc(d, MOUNTINFO_MAX, "/proc/self/mountinfo");
	int found = -1;
	if (!buf)
		return -1;
	long n = d_read_file("/proc/self/mountinfo", buf, MOUNTINFO_MAX - 1);
	buf[n > 0 ? n : 0] = 0;
	/* "36 35 98:0 /root /mount/point options ..." */
	for (const char *p = buf; *p && found != 1;) {
		const char *q = p;
		char root[8];
		for (int f = 0; f < 2 && *q; f++) {
			while (*q && *q != ' ' && *q != '\n')
				q++;
			while (*q == ' ')
				q++;
		}
		unsigned ma = (unsigned)d_parse_dec(&q), mi = 0;
		if (*q == ':') {
			q++;
			mi = (unsigned)d_parse_dec(&q);
		}
		if (ma == maj && mi == min && *q == ' ') {
			q = field_copy(q + 1, root, sizeof(root));
			if (found < 0 || d_streq(root, "/")) {
				field_copy(q + (*q == ' '), out, size);
				found = d_streq(root, "/") ? 1 : 0;
			}
		}
		while (*p && *p != '\n')
			p++;
		if (*p)
			p++;
	}
	dump_free(buf, MOUNTINFO_MAX);
	return found >= 0 ? 0 : -1;
}

static int hexdigit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The path of the watch on `line` from its file handle ("fhandle-bytes:8
 * fhandle-type:1 f_handle:e8f7030000000000"): open_by_handle_at, which
 * needs CAP_DAC_READ_SEARCH, on a mount of its device; -1 if not. */
static long path_by_handle(struct dump_ctx *d, const char *line, uint64_t sdev, char *path, size_t size)
{
	unsigned char store[sizeof(struct file_handle) + HANDLE_MAX] __attribute__((aligned(8)));
	struct file_handle *fh = (void *)store;
	uint64_t nbytes, type;
	char mnt[WATCH_PATH_MAX], link[64];
	const char *x = strstr(line, "f_handle:");
	const char *nl = strchr(line, '\n');
	if (hexfield(line, "fhandle-bytes:", &nbytes) || hexfield(line, "fhandle-type:", &type) || !x || (nl && x > nl) || nbytes > HANDLE_MAX)
		return -1;
	x += 9;
	for (uint64_t i = 0; i < nbytes; i++, x += 2) {
		int hi = hexdigit(x[0]), lo = hi < 0 ? -1 : hexdigit(x[1]);
		if (lo < 0)
			return -1;
		store[sizeof(*fh) + i] = (unsigned char)(hi * 16 + lo);
	}
	fh->handle_bytes = (unsigned)nbytes;
	fh->handle_type = (int)type;
	if (mount_of(d, (unsigned)(sdev >> 20), (unsigned)(sdev & 0xfffff), mnt, sizeof(mnt)))
		return -1;
	int mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = mfd < 0 ? -1 : open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	if (mfd >= 0)
		close(mfd);
	if (fd < 0)
		return -1;
	struct sb s;
	sb_init(&s, link, sizeof(link));
	sb_str(&s, "/proc/self/fd/");
	sb_u64(&s, (uint64_t)fd);
	ssize_t n = readlink(link, path, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	path[n] = 0;
	if (n > 10 && d_streq(path + n - 10, " (deleted)"))
		return -1; /* no path names it any more */
	return (long)n;
}

/* The KOBJ payload for inotify fd `fd` whose fdinfo is `text`, built in out
 * (room bytes); its length, or -1 (reported). */
long inotify_watches(struct dump_ctx *d, int fd, const char *text, char *out, size_t room)
{
	size_t used = 0;
	for (const char *p = strstr(text, "inotify wd:"); p; p = strstr(p + 1, "inotify wd:")) {
		uint64_t wd, ino, sdev, mask;
		struct kobj_inotify_watch w;
		char num[24];
		struct sb s;
		uint32_t flags = 0;
		if (hexfield(p, "wd:", &wd) || hexfield(p, "ino:", &ino) || hexfield(p, "sdev:", &sdev) || hexfield(p, "mask:", &mask)) {
			ERR(&d->err, "kobj", "cannot parse an inotify watch in fdinfo", "", 0);
			return -1;
		}
		sb_init(&s, num, sizeof(num));
		sb_u64(&s, wd);
		if (room - used < sizeof(w) + WATCH_PATH_MAX) {
			ERR(&d->err, "kobj", "too many inotify watches to carry; at wd", num, E2BIG);
			return -1;
		}
		char *path = out + used + sizeof(w);
		long n = d->req->inotify_path ? d->req->inotify_path(fd, (int)wd, ino, user_dev(sdev), path, WATCH_PATH_MAX, &flags) : -1;
		if (n < 0)
			n = path_by_handle(d, p, sdev, path, WATCH_PATH_MAX);
		if (n < 0) {
			/* added by a raw system call (a static binary) or before the interceptor loaded, without CAP_DAC_READ_SEARCH */
			ERR(&d->err, "kobj",
			    "an inotify watch whose path is unknown (not added through libc's inotify_add_watch, and its file handle "
			    "needs CAP_DAC_READ_SEARCH to open), so it cannot be carried; wd",
			    num, 0);
			return -1;
		}
		memset(&w, 0, sizeof(w));
		w.wd = (int32_t)wd;
		w.mask = (uint32_t)mask | flags;
		w.ino = ino;
		w.dev = user_dev(sdev);
		w.path_len = (uint32_t)n;
		memcpy(out + used, &w, sizeof(w));
		used += (sizeof(w) + (size_t)n + 7) & ~(size_t)7;
	}
	return (long)used;
}
