/* An inotify instance: its watches, in watch-descriptor order, each with the
 * path it watches. Log prefix "kobj". /proc/self/fdinfo tells every watch's
 * wd, mask and inode ("inotify wd:1 ino:3f7e8 sdev:fe00000 mask:100 ...")
 * but no path (only a file handle, which needs CAP_DAC_READ_SEARCH to open);
 * the path comes from the caller (req->inotify_path: the interceptor records
 * it when the program adds the watch). Events queued but not yet read are
 * not carried. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/sysmacros.h>
#include "dump.h"

#define WATCH_PATH_MAX 4096

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
		if (n < 0) {
			/* added by a raw system call (a static binary) or before the interceptor loaded */
			ERR(&d->err, "kobj",
			    "an inotify watch whose path is unknown (not added through libc's inotify_add_watch), so it cannot be carried; wd",
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
