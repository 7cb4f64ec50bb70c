/* durun-restore IMAGE: recreate a process from a durun image. Log prefix
 * "restore". Order: verify the whole image (every checksum) before touching
 * anything; check that the program and mapped files did not change; enter
 * the pid namespace (so getpid()/getppid() keep their values); restore fds,
 * cwd, limits, signal dispositions; hand over to the restorer blob.
 * Exit codes: 1 refused or failed before the switch (nothing restored),
 * 2 usage; otherwise the restored program's own status (128+N for signal N). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>
#include "restore.h"
#include "merge.h"
#include "lazy.h"

#define MAX_CHAIN 64

int rverbose;

void rlog_err(const char *file, int line, const char *subsys, int err, const char *fmt, ...)
{
	/* one write(): the processes of a tree share stderr and fail together */
	char msg[2048];
	size_t n;
	va_list ap;
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	snprintf(msg, sizeof(msg), "durun-restore: %s:%d %s: ", base, line, subsys);
	n = strlen(msg);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (err)
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(err));
	n = strlen(msg);
	if (n < sizeof(msg) - 1)
		msg[n++] = '\n';
	if (write(2, msg, n) < 0)
		return; /* nowhere left to report */
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

int check_files(const struct loaded_image *li, int allow_parent)
{
	if (same_file(li->exe, li->h.exe_size, li->h.exe_mtime_ns, li->h.exe_ino, "program"))
		return -1;
	for (size_t i = 0; i < li->nvma; i++) {
		const struct li_vma *v = &li->vmas[i];
		if ((v->v.vflags & VMA_FILE) && same_file(v->path, v->v.fsize, v->v.fmtime_ns, v->v.ino, "mapped file"))
			return -1;
		for (uint32_t k = 0; k < v->v.nruns; k++)
			if (v->runs[k].kind != RUN_DATA && !allow_parent) {
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
		"usage: durun-restore [--pidfile FILE] [--stdout FD|--log FILE] [--net-unlock TABLE] [--no-pidns] [-v] IMAGE\n"
		"       durun-restore [--pidfile FILE] [--pids FILE] [--stdout FD|--log FILE] [--net-unlock TABLE] [-v] --tree IMAGE...\n"
		"  Recreates the process saved in IMAGE (an incremental image is merged\n"
		"  with its parents first). The restored process keeps its pid inside a\n"
		"  new pid namespace; --pidfile receives its pid as seen from outside.\n"
		"  --tree: one image per process of a group dumped at one barrier; all\n"
		"  are restored in one namespace with their pids and parents, and\n"
		"  released together. --pids: \"OLDPID OUTERPID\" per process.\n"
		"  --log FILE: our stdout and stderr (and so the program's, where it\n"
		"  wrote to a pipe or terminal) go to FILE, appended; --stdout FD: to\n"
		"  the inherited fd FD instead.\n"
		"  --net-unlock TABLE: after a move (durun migrate), delete the nftables\n"
		"  table `inet TABLE` that froze the live TCP connections, once they are\n"
		"  rebuilt and before the program runs.\n");
}

/* Loads and verifies path; an incremental chain is merged into `merged`
 * first (unlinked at once, kept open). */
int load_image(const char *path, struct loaded_image *li, char *merged, size_t merged_sz)
{
	char err[1024];
	if (li_load(path, li, err, sizeof(err))) {
		fprintf(stderr, "durun-restore: refusing to restore: %s\n", err);
		return -1;
	}
	if (li->h.kind != IMG_KIND_INCR)
		return 0;
	snprintf(merged, merged_sz, "%s.merged", path);
	int defer = li_defer_page_crc;
	li_defer_page_crc = 0; /* the merge copies pages: they are checked on the way */
	int mrc = merge_chain(path, merged, err, sizeof(err));
	li_defer_page_crc = defer;
	if (mrc) {
		fprintf(stderr, "durun-restore: refusing to restore: %s\n", err);
		return -1;
	}
	li_free(li);
	if (li_load(merged, li, err, sizeof(err))) {
		fprintf(stderr, "durun-restore: refusing to restore: merged image: %s\n", err);
		return -1;
	}
	unlink(merged); /* li keeps it open */
	li->path = path;
	RINFO("%s: merged incremental chain into one image", path);
	return 0;
}

/* One process: an incremental chain is restored in place (the restorer reads
 * each page from the image of the chain that has it, nothing is written);
 * DURUN_RESTORE_MERGE=1 merges into a file first, as before. */
static int load_single(const char *path, struct rchain *ch, char *merged, size_t merged_sz)
{
	static struct loaded_image imgs[MAX_CHAIN];
	char err[1024];
	const char *m = getenv("DURUN_RESTORE_MERGE");
	ch->img = imgs;
	ch->n = 1;
	if (m && !strcmp(m, "1"))
		return load_image(path, &imgs[0], merged, merged_sz);
	if (chain_load(path, imgs, MAX_CHAIN, &ch->n, err, sizeof(err))) {
		fprintf(stderr, "durun-restore: refusing to restore: %s\n", err);
		return -1;
	}
	if (ch->n > 1)
		RINFO("restoring straight from an incremental chain of %d images", ch->n);
	return 0;
}

int verify_pages(const struct loaded_image *imgs, int n)
{
	char err[1024];
	for (int i = 0; i < n; i++)
		if (li_verify_pages(&imgs[i], err, sizeof(err))) {
			fprintf(stderr, "durun-restore: refusing to restore: %s\n", err);
			return -1;
		}
	return 0;
}

/* In the restored process, lazy mode: its own userfaultfd, sent to the outer
 * durun-restore as "UFFD..." (msg). -1 = eager after all (pages verified
 * here); -2 = failed (reported). */
int lazy_child_uffd(int sock, const char *msg, const struct loaded_image *imgs, int n)
{
	int uffd = lazy_uffd_new();
	if (uffd < 0) {
		RINFO("eager restore: userfaultfd in the restored process: %s", strerror(errno));
		return verify_pages(imgs, n) ? -2 : -1;
	}
	if (lazy_send_fd(sock, msg, strlen(msg), uffd)) {
		RERR("lazy", errno, "pass the userfaultfd to durun-restore");
		return -2;
	}
	return uffd;
}

/* --stdout FD: an inherited fd becomes our stdout and stderr */
static int redirect_fd(const char *arg)
{
	char *end;
	long fd = strtol(arg, &end, 10);
	if (*end || fd < 0 || fd > 1 << 20 || fcntl((int)fd, F_GETFD) < 0) {
		RERR("restore", errno, "--stdout %s: not an open fd", arg);
		return -1;
	}
	if ((fd != 1 && dup2((int)fd, 1) < 0) || (fd != 2 && dup2((int)fd, 2) < 0)) {
		RERR("restore", errno, "--stdout %s", arg);
		return -1;
	}
	if (fd > 2)
		close((int)fd);
	return 0;
}

static int redirect_log(const char *file)
{
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
		RERR("restore", errno, "--log %s", file);
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct ropts o;
	struct loaded_image *li;
	struct rchain ch;
	char merged[4200];
	const char *log = NULL, *out_fd = NULL;
	int status_fd = -1, tree = 0;

	memset(&o, 0, sizeof(o));
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		o.t0_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pidfile") && i + 1 < argc)
			o.pidfile = argv[++i];
		else if (!strcmp(argv[i], "--pids") && i + 1 < argc)
			o.pidsfile = argv[++i];
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log = argv[++i];
		else if (!strcmp(argv[i], "--stdout") && i + 1 < argc)
			out_fd = argv[++i];
		else if (!strcmp(argv[i], "--net-unlock") && i + 1 < argc)
			o.net_unlock = argv[++i];
		else if (!strcmp(argv[i], "--no-pidns"))
			o.no_pidns = 1;
		else if (!strcmp(argv[i], "-v"))
			o.verbose = 1;
		else if (!strcmp(argv[i], "--tree") && i + 1 < argc && !o.image && !o.no_pidns) {
			tree = i + 1;
			break;
		} else if (argv[i][0] == '-' || o.image) {
			usage();
			return 2;
		} else
			o.image = argv[i];
	}
	if (!o.image && !tree) {
		usage();
		return 2;
	}
	rverbose = o.verbose;
	if (log && redirect_log(log))
		return 1;
	if (out_fd && redirect_fd(out_fd))
		return 1;
	o.lazy = lazy_wanted(&o);
	li_defer_page_crc = o.lazy;
	if (tree) {
		restore_tree(&o, argv + tree, argc - tree);
		return 1; /* returns only on failure, already reported */
	}
	if (load_single(o.image, &ch, merged, sizeof(merged)))
		return 1;
	li = &ch.img[0];
	if (check_files(li, ch.n > 1))
		return 1;
	if (o.lazy) {
		if (!(o.lz = lazy_new(1, o.t0_ns)) || lazy_plan(o.lz, 0, li, ch.n > 1 ? &ch : NULL, NULL))
			return 1;
		RINFO("lazy restore: %.1f MiB of private memory will come through userfaultfd", lazy_planned_bytes(o.lz) / 1048576.0);
	}
	if (ns_enter(li, &o, &status_fd))
		return 1;
	int uffd = -1;
	if (o.lazy && (uffd = lazy_child_uffd(status_fd, "UFFD", ch.img, ch.n)) == -2)
		_exit(1);
	{
		int keep[3 + MAX_CHAIN], nk = 1 + ch.n;
		keep[0] = status_fd;
		for (int i = 0; i < ch.n; i++)
			keep[1 + i] = ch.img[i].fd;
		if (uffd >= 0)
			keep[nk++] = uffd;
		if (restore_proc(li) || restore_files(li, keep, nk, NULL))
			_exit(1);
		status_fd = keep[0];
		for (int i = 0; i < ch.n; i++)
			ch.img[i].fd = keep[1 + i];
		if (uffd >= 0)
			uffd = keep[nk - 1];
	}
	/* every fd is in place: the connections of a move may receive again */
	if (o.net_unlock && tcp_net_unlock(o.net_unlock))
		_exit(1);
	restore_enter(li, status_fd, NULL, ch.n > 1 ? &ch : NULL, uffd);
	_exit(1); /* restore_enter returns only on failure, already reported */
}
