/* An inotify instance from its KOBJ record (dump-inotify.c). Log prefix
 * "kobj". The program knows its watches by their watch descriptors, so each
 * must come back with the same wd. A new instance hands wds out in
 * sequence from 1 and does not reuse a freed one soon (idr_alloc_cyclic),
 * so the watches are added in wd order and each hole is taken by a watch on
 * an unwatched directory removed at once; the IN_IGNORED events those
 * removals queue are read off before the program gets the fd. Events the
 * old instance had queued and the program had not read yet are lost. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "restore.h"

struct watch {
	const struct kobj_inotify_watch *w;
	char path[4097];
};

static int by_wd(const void *a, const void *b)
{
	const struct watch *x = a, *y = b;
	return (x->w->wd > y->w->wd) - (x->w->wd < y->w->wd);
}

/* The watches of the record, sorted by wd; their count, or -1 (reported). */
static long parse(const struct li_kobj *ko, struct watch **out)
{
	size_t cap = ko->k.len / sizeof(struct kobj_inotify_watch) + 1, n = 0;
	struct watch *ws = calloc(cap, sizeof(*ws));
	if (!ws)
		return -1;
	for (size_t off = 0; off < ko->k.len; n++) {
		const struct kobj_inotify_watch *w = (const void *)(ko->data + off);
		if (ko->k.len - off < sizeof(*w) || w->path_len >= sizeof(ws->path) || ko->k.len - off - sizeof(*w) < w->path_len || n >= cap) {
			RERR("kobj", 0, "fd %d: inotify record of %u bytes does not add up", ko->k.fd, ko->k.len);
			free(ws);
			return -1;
		}
		ws[n].w = w;
		memcpy(ws[n].path, w + 1, w->path_len);
		ws[n].path[w->path_len] = 0;
		off += (sizeof(*w) + w->path_len + 7) & ~(size_t)7;
	}
	qsort(ws, n, sizeof(*ws), by_wd);
	*out = ws;
	return (long)n;
}

/* A directory none of the watches is on: a watch on it only holds a wd. */
static const char *spare_dir(const struct watch *ws, long n)
{
	static const char *const dirs[] = { "/", "/proc", "/dev", "/tmp", "/usr" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat st;
		int used = stat(dirs[i], &st) != 0;
		for (long k = 0; k < n && !used; k++)
			used = ws[k].w->ino == st.st_ino && ws[k].w->dev == st.st_dev;
		if (!used)
			return dirs[i];
	}
	return NULL;
}

/* Takes the next wd with a watch removed at once; the wd it took, or -1. */
static int skip_wd(int fd, const char *spare)
{
	int wd = inotify_add_watch(fd, spare, IN_ATTRIB);
	if (wd >= 0 && inotify_rm_watch(fd, wd))
		return -1;
	return wd;
}

static int add_watches(int fd, const struct li_kobj *ko, const struct watch *ws, long n)
{
	const char *spare = spare_dir(ws, n);
	int next = 1;
	for (long i = 0; i < n; i++) {
		const struct kobj_inotify_watch *w = ws[i].w;
		const char *path = ws[i].path;
		int got;
		while (next < w->wd) {
			if (!spare || (next = skip_wd(fd, spare)) < 0) {
				RERR("kobj", errno, "inotify fd %d: take wd %d to bring back wd %d", ko->k.fd, next, w->wd);
				return -1;
			}
			next++;
		}
		got = inotify_add_watch(fd, path, w->mask);
		if (got < 0) {
			/* the file is gone or closed to us: the wd stays the program's, silent */
			fprintf(stderr, "durun-restore: inotify fd %d: watch %d on %s cannot be added again (%s); the program gets no events from it\n",
				ko->k.fd, w->wd, path, strerror(errno));
			got = spare ? skip_wd(fd, spare) : -1;
		} else {
			struct stat st;
			if (stat(path, &st) == 0 && (st.st_ino != w->ino || st.st_dev != w->dev))
				fprintf(stderr, "durun-restore: inotify fd %d: %s is another file than when checkpointed; watch %d is on the new one\n",
					ko->k.fd, path, w->wd);
		}
		if (got != w->wd) {
			RERR("kobj", got < 0 ? errno : 0, "inotify fd %d: %s came back as wd %d, the program knows it as wd %d", ko->k.fd, path, got, w->wd);
			return -1;
		}
		next = got + 1;
	}
	return 0;
}

/* Reads off the IN_IGNORED events of the wds taken and given back. */
static void drain(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int inotify_rebuild(const struct li_kobj *ko)
{
	struct watch *ws = NULL;
	long n = parse(ko, &ws);
	if (n < 0)
		return -1;
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK); /* its own flags are set once placed */
	if (fd < 0) {
		RERR("kobj", errno, "inotify_init1 for fd %d", ko->k.fd);
		free(ws);
		return -1;
	}
	if (add_watches(fd, ko, ws, n)) {
		close(fd);
		free(ws);
		return -1;
	}
	free(ws);
	drain(fd);
	return fd;
}
