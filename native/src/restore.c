/* durun-restore IMAGE: recreate a process from a durun image. Log prefix
 * "restore". Order: verify the whole image (every checksum) before touching
 * anything; check that the program and mapped files did not change; enter
 * the pid namespace (so getpid()/getppid() keep their values); restore fds,
 * cwd, limits, signal dispositions; hand over to the restorer blob.
 * Exit codes: 1 refused or failed before the switch (nothing restored),
 * 2 usage; otherwise the restored program's own status (128+N for signal N). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "restore.h"
#include "merge.h"

int rverbose;

void rlog_err(const char *file, int line, const char *subsys, int err, const char *fmt, ...)
{
	va_list ap;
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	fprintf(stderr, "durun-restore: %s:%d %s: ", base, line, subsys);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

static int same_file(const char *path, uint64_t size, uint64_t mtime_ns, uint64_t ino, const char *what)
{
	struct stat st;
	if (stat(path, &st)) {
		RERR("restore", errno, "%s %s is gone; refusing to restore", what, path);
		return -1;
	}
	uint64_t mt = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	if ((uint64_t)st.st_size != size || mt != mtime_ns || st.st_ino != ino) {
		RERR("restore", 0, "%s %s changed since the checkpoint (size/mtime/inode differ); refusing to restore", what, path);
		return -1;
	}
	return 0;
}

static int check_files(const struct loaded_image *li)
{
	if (same_file(li->exe, li->h.exe_size, li->h.exe_mtime_ns, li->h.exe_ino, "program"))
		return -1;
	for (size_t i = 0; i < li->nvma; i++) {
		const struct li_vma *v = &li->vmas[i];
		if ((v->v.vflags & VMA_FILE) && same_file(v->path, v->v.fsize, v->v.fmtime_ns, v->v.ino, "mapped file"))
			return -1;
		for (uint32_t k = 0; k < v->v.nruns; k++)
			if (v->runs[k].kind != RUN_DATA) {
				RERR("restore", 0, "%s: VMA %#llx has PARENT pages after merging", li->path,
				     (unsigned long long)v->v.start);
				return -1;
			}
	}
	if (!li->nthr || !li->have_proc || !li->have_sig) {
		RERR("restore", 0, "%s: image lacks THREAD, PROC or SIGACTS records", li->path);
		return -1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: durun-restore [--pidfile FILE] [--no-pidns] [-v] IMAGE\n"
		"  Recreates the process saved in IMAGE (an incremental image is merged\n"
		"  with its parents first). The restored process keeps its pid inside a\n"
		"  new pid namespace; --pidfile receives its pid as seen from outside.\n");
}

int main(int argc, char **argv)
{
	struct ropts o;
	struct loaded_image li;
	char err[1024], merged[4200];
	int status_fd = -1;

	memset(&o, 0, sizeof(o));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pidfile") && i + 1 < argc)
			o.pidfile = argv[++i];
		else if (!strcmp(argv[i], "--no-pidns"))
			o.no_pidns = 1;
		else if (!strcmp(argv[i], "-v"))
			o.verbose = 1;
		else if (argv[i][0] == '-' || o.image) {
			usage();
			return 2;
		} else
			o.image = argv[i];
	}
	if (!o.image) {
		usage();
		return 2;
	}
	rverbose = o.verbose;
	if (li_load(o.image, &li, err, sizeof(err))) {
		fprintf(stderr, "durun-restore: refusing to restore: %s\n", err);
		return 1;
	}
	if (li.h.kind == IMG_KIND_INCR) {
		snprintf(merged, sizeof(merged), "%s.merged", o.image);
		if (merge_chain(o.image, merged, err, sizeof(err))) {
			fprintf(stderr, "durun-restore: refusing to restore: %s\n", err);
			return 1;
		}
		li_free(&li);
		if (li_load(merged, &li, err, sizeof(err))) {
			fprintf(stderr, "durun-restore: refusing to restore: merged image: %s\n", err);
			return 1;
		}
		unlink(merged); /* li keeps it open */
		RINFO("merged incremental chain into one image");
	}
	if (check_files(&li))
		return 1;
	if (ns_enter(&li, &o, &status_fd))
		return 1;
	{
		int keep[2] = { status_fd, li.fd };
		if (restore_proc(&li) || restore_files(&li, keep, 2))
			_exit(1);
		status_fd = keep[0];
		li.fd = keep[1];
	}
	restore_enter(&li, status_fd);
	_exit(1); /* restore_enter returns only on failure, already reported */
}
