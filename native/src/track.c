/* Dirty-page tracking between dumps: userfaultfd write-protect in async mode
 * (UFFD_FEATURE_WP_ASYNC | WP_UNPOPULATED) + PAGEMAP_SCAN. Log prefix "track".
 * The installed headers (Linux 6.1) lack these, so they are declared here from
 * the kernel's uapi (linux/fs.h, linux/userfaultfd.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "dump.h"
#include "track.h"

int track_open(struct dump_ctx *d)
{
	struct dump_state *g = &durun_g;
	struct uffdio_api api;
	int fd, hi;

	if (g->uffd >= 0)
		return 0;
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | DURUN_UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ERR(&d->err, "track", "userfaultfd", "", errno);
		return -1;
	}
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = DURUN_UFFD_FEATURE_WP_ASYNC | DURUN_UFFD_FEATURE_WP_UNPOPULATED;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		ERR(&d->err, "track", "UFFDIO_API (WP_ASYNC|WP_UNPOPULATED)", "", errno);
		close(fd);
		return -1;
	}
	/* Keep it off the low numbers the program expects to get from open(). */
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 850);
	if (hi >= 0) {
		close(fd);
		fd = hi;
	}
	g->uffd = fd;
	g->uffd_pid = getpid();
	return 0;
}

int track_arm(struct dump_ctx *d, uint64_t start, uint64_t end)
{
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;
	(void)d;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = start;
	reg.range.len = end - start;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(durun_g.uffd, UFFDIO_REGISTER, &reg) < 0)
		return -1;
	memset(&wp, 0, sizeof(wp));
	wp.range.start = start;
	wp.range.len = end - start;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(durun_g.uffd, UFFDIO_WRITEPROTECT, &wp) < 0)
		return -1;
	return 0;
}

int track_is_armed(struct dump_ctx *d, uint64_t start, uint64_t end)
{
	struct page_region r;
	struct pm_scan_arg a;
	long n;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.start = start;
	a.end = end;
	a.vec = (uint64_t)(uintptr_t)&r;
	a.vec_len = 1;
	a.category_mask = PAGE_IS_WPALLOWED;
	a.return_mask = PAGE_IS_WPALLOWED;
	n = ioctl(d->pagemap_fd, PAGEMAP_SCAN, &a);
	return n == 1 && r.start == start && r.end == end;
}

int track_scan_written(struct dump_ctx *d, uint64_t start, uint64_t end, uint8_t *bits)
{
	struct page_region vec[256];
	uint64_t at = start;

	while (at < end) {
		struct pm_scan_arg a;
		long n;
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
		a.start = at;
		a.end = end;
		a.vec = (uint64_t)(uintptr_t)vec;
		a.vec_len = 256;
		a.category_mask = PAGE_IS_WRITTEN;
		a.return_mask = PAGE_IS_WRITTEN;
		n = ioctl(d->pagemap_fd, PAGEMAP_SCAN, &a);
		if (n < 0) {
			ERR(&d->err, "track", "PAGEMAP_SCAN (PAGE_IS_WRITTEN)", "", errno);
			return -1;
		}
		for (long i = 0; i < n; i++)
			for (uint64_t p = vec[i].start; p < vec[i].end; p += IMG_PAGE)
				bits[(p - start) / IMG_PAGE] = 1;
		if (a.walk_end <= at || a.walk_end > end) {
			ERR(&d->err, "track", "PAGEMAP_SCAN made no progress", "", 0);
			return -1;
		}
		at = a.walk_end;
	}
	return 0;
}
