/* Kernel ABI for dirty tracking that the 6.1 headers lack (from the uapi of
 * Linux 6.7+: linux/fs.h PAGEMAP_SCAN, linux/userfaultfd.h features). */
#ifndef DURUN_TRACK_H
#define DURUN_TRACK_H

#include <stdint.h>
#include <sys/ioctl.h>

#define DURUN_UFFD_USER_MODE_ONLY          1
#define DURUN_UFFD_FEATURE_WP_UNPOPULATED  (1u << 13)
#define DURUN_UFFD_FEATURE_WP_ASYNC        (1u << 15)

struct page_region {
	uint64_t start, end, categories;
};

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PM_SCAN_WP_MATCHING    (1u << 0)
#define PM_SCAN_CHECK_WPASYNC  (1u << 1)

#define PAGE_IS_WPALLOWED  (1u << 0)
#define PAGE_IS_WRITTEN    (1u << 1)
#define PAGE_IS_FILE       (1u << 2)
#define PAGE_IS_PRESENT    (1u << 3)
#define PAGE_IS_SWAPPED    (1u << 4)
#define PAGE_IS_PFNZERO    (1u << 5)

/* /proc/PID/pagemap entry bits */
#define PM_PRESENT    (1ull << 63)
#define PM_SWAPPED    (1ull << 62)
#define PM_FILE       (1ull << 61)
#define PM_SOFT_DIRTY (1ull << 55)

#endif
