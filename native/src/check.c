/* durun-ckpt check: probe the kernel features the engine can use, each with
 * a plain verdict saying what it enables or what its absence costs. Every
 * probe runs for real (no version guessing); the risky ones in a child. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "jsonout.h"
#include "track.h"

int ckpt_check(int json);

struct probe {
	const char *name;
	int ok;
	char detail[200];
	const char *verdict;
};

static int open_uffd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | DURUN_UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	return fd;
}

static void probe_uffd(struct probe *p)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int fd = open_uffd();
	p->name = "userfaultfd-wp-async";
	if (fd < 0) {
		snprintf(p->detail, sizeof(p->detail), "userfaultfd: %s", strerror(errno));
		goto no;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		snprintf(p->detail, sizeof(p->detail), "UFFDIO_API: %s", strerror(errno));
		close(fd);
		goto no;
	}
	close(fd);
	snprintf(p->detail, sizeof(p->detail), "features %#llx", (unsigned long long)api.features);
	if ((api.features & DURUN_UFFD_FEATURE_WP_ASYNC) && (api.features & DURUN_UFFD_FEATURE_WP_UNPOPULATED)) {
		p->ok = 1;
		p->verdict = "Dirty tracking is ON: after a full image, later images carry only written pages (incl. writes by system calls).";
		return;
	}
no:
	p->verdict = "Dirty tracking is OFF: every checkpoint writes a full image (more I/O, longer stalls).";
}

static void probe_pagemap_scan(struct probe *p)
{
	size_t len = 16 * 4096;
	struct uffdio_api api = { .api = UFFD_API, .features = DURUN_UFFD_FEATURE_WP_ASYNC | DURUN_UFFD_FEATURE_WP_UNPOPULATED };
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;
	struct page_region r[4];
	struct pm_scan_arg a;
	char *m = MAP_FAILED;
	int fd = -1, pm = -1;
	long n;

	p->name = "pagemap-scan";
	p->verdict = "PAGEMAP_SCAN is missing or wrong: written pages cannot be listed, so every checkpoint is full.";
	fd = open_uffd();
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || pm < 0 || m == MAP_FAILED || ioctl(fd, UFFDIO_API, &api)) {
		snprintf(p->detail, sizeof(p->detail), "setup: %s", strerror(errno));
		goto out;
	}
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)m;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	memset(&wp, 0, sizeof(wp));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) || ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		snprintf(p->detail, sizeof(p->detail), "register/write-protect: %s", strerror(errno));
		goto out;
	}
	m[3 * 4096] = 1;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	a.start = (uintptr_t)m;
	a.end = (uintptr_t)m + len;
	a.vec = (uintptr_t)r;
	a.vec_len = 4;
	a.category_mask = PAGE_IS_WRITTEN;
	a.return_mask = PAGE_IS_WRITTEN;
	n = ioctl(pm, PAGEMAP_SCAN, &a);
	if (n < 0) {
		snprintf(p->detail, sizeof(p->detail), "PAGEMAP_SCAN: %s", strerror(errno));
		goto out;
	}
	if (n == 1 && r[0].start == (uintptr_t)m + 3 * 4096 && r[0].end == r[0].start + 4096) {
		p->ok = 1;
		snprintf(p->detail, sizeof(p->detail), "1 written page of 16 reported exactly");
		p->verdict = "PAGEMAP_SCAN works: written pages are listed and re-protected in one call.";
	} else
		snprintf(p->detail, sizeof(p->detail), "expected page 3 only, got %ld regions", n);
out:
	if (m != MAP_FAILED)
		munmap(m, len);
	if (fd >= 0)
		close(fd);
	if (pm >= 0)
		close(pm);
}

static void probe_soft_dirty(struct probe *p)
{
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC), pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	p->name = "soft-dirty";
	p->verdict = "Soft-dirty bits are unavailable (CONFIG_MEM_SOFT_DIRTY off); not needed when userfaultfd WP async works.";
	if (m != MAP_FAILED && cr >= 0 && pm >= 0) {
		m[0] = 1;
		if (write(cr, "4", 1) == 1) {
			m[0] = 2;
			if (pread(pm, &e, 8, (off_t)((uintptr_t)m / 4096 * 8)) == 8 && (e & PM_SOFT_DIRTY)) {
				p->ok = 1;
				p->verdict = "Soft-dirty works: an alternative dirty-page source (durun uses userfaultfd first).";
			}
		}
		snprintf(p->detail, sizeof(p->detail), "pagemap bit 55 after clear_refs=4 and a write: %d", (int)!!(e & PM_SOFT_DIRTY));
	} else
		snprintf(p->detail, sizeof(p->detail), "setup: %s", strerror(errno));
	if (m != MAP_FAILED)
		munmap(m, 4096);
	if (cr >= 0)
		close(cr);
	if (pm >= 0)
		close(pm);
}

static void probe_tcp_repair(struct probe *p)
{
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	p->name = "tcp-repair";
	if (s >= 0 && setsockopt(s, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one)) == 0) {
		p->ok = 1;
		snprintf(p->detail, sizeof(p->detail), "setsockopt(TCP_REPAIR) accepted");
		p->verdict = "TCP_REPAIR works here: durun migrate carries established TCP connections live (needs nft from nftables for the freeze); after a crash a restored program's connections come back closed (its clients reconnect); listening and bound sockets come back as they were.";
	} else {
		snprintf(p->detail, sizeof(p->detail), "setsockopt(TCP_REPAIR): %s", strerror(errno));
		p->verdict = "TCP_REPAIR unavailable (needs CAP_NET_ADMIN, i.e. root): durun migrate refuses a group with live TCP connections, and a restored program's connections come back closed (its clients reconnect); listening and bound sockets come back as they were.";
	}
	if (s >= 0)
		close(s);
}

/* linux/prctl.h of kernels >= 6.15 (the installed headers are older) */
#define CHECK_PR_TIMER_CREATE_RESTORE_IDS 77
#define CHECK_PR_TIMER_CREATE_RESTORE_IDS_GET 2

static void probe_posix_timers(struct probe *p)
{
	int fd = open("/proc/self/timers", O_RDONLY | O_CLOEXEC);
	int by_id = prctl(CHECK_PR_TIMER_CREATE_RESTORE_IDS, CHECK_PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0) >= 0;
	p->name = "posix-timers";
	p->ok = fd >= 0;
	snprintf(p->detail, sizeof(p->detail), "/proc/self/timers: %s; prctl(PR_TIMER_CREATE_RESTORE_IDS): %s",
		 fd >= 0 ? "readable" : strerror(errno), by_id ? "yes (ids given back directly)" : "no (ids reached by filling the holes)");
	if (fd >= 0)
		close(fd);
	p->verdict = p->ok ? "POSIX timers (timer_create) are carried: same id, clock, signal or thread notification, value, time left and interval. "
			     "Their overrun count is not; a timer's signal pending at the checkpoint comes back as an ordinary queued signal. "
			     "SIGEV_THREAD timers are refused (glibc's helper thread for them blocks every signal, so it cannot be stopped)."
			   : "No /proc/self/timers (a kernel without CONFIG_CHECKPOINT_RESTORE): a process holding a POSIX timer is refused at checkpoint time.";
}

/* What the image carries behind fds and in the process, beyond memory and
 * threads: engine facts, no kernel feature to probe (timers and TCP have
 * their own lines). */
static void probe_kernel_objects(struct probe *p)
{
	p->name = "kernel-objects";
	p->ok = 1;
	snprintf(p->detail, sizeof(p->detail), "read from /proc/self/fdinfo, getsockopt and /proc/thread-self/status; inotify paths recorded by the interceptor");
	p->verdict = "Carried: sockets (listening, bound, unbound), epoll, eventfd, timerfd, signalfd, file locks, named FIFOs, memfds (contents, seals; "
		     "one object across fds, mappings and processes), inotify watches (paths recorded as libc adds them, else from the file handle "
		     "for root; same paths and watch descriptors; events queued but unread are lost), pending signals of the process and of each thread with their siginfo. Refused at checkpoint time: "
		     "an inotify watch added by a raw system call without CAP_DAC_READ_SEARCH (its path is then unknown), a memfd of 4 GiB or more, "
		     "other anon_inode objects, devices.";
}

/* Runs fn in a child; returns its exit code (0 = success) and errno text via pipe. */
static int in_child(int (*fn)(void), char *detail, size_t n)
{
	int pp[2];
	pid_t c;
	int st = 0;
	if (pipe(pp))
		return -1;
	c = fork();
	if (c == 0) {
		close(pp[0]);
		dup2(pp[1], 2);
		_exit(fn());
	}
	close(pp[1]);
	ssize_t k = read(pp[0], detail, n - 1);
	detail[k > 0 ? k : 0] = 0;
	close(pp[0]);
	if (c < 0 || waitpid(c, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static int userns_child(void)
{
	if (geteuid() == 0)
		return unshare(CLONE_NEWPID) ? (dprintf(2, "unshare(CLONE_NEWPID): %s", strerror(errno)), 1) : 0;
	if (unshare(CLONE_NEWUSER)) {
		dprintf(2, "unshare(CLONE_NEWUSER): %s", strerror(errno));
		return 1;
	}
	dprintf(2, "unprivileged user namespace created");
	return 0;
}

static int set_tid_child(void)
{
	char map[64];
	uid_t uid = geteuid();
	if (uid != 0) {
		int fd;
		if (unshare(CLONE_NEWUSER)) {
			dprintf(2, "unshare(CLONE_NEWUSER): %s", strerror(errno));
			return 1;
		}
		snprintf(map, sizeof(map), "%u %u 1", uid, uid);
		fd = open("/proc/self/uid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0) {
			dprintf(2, "uid_map: %s", strerror(errno));
			return 1;
		}
		close(fd);
	}
	if (unshare(CLONE_NEWPID)) {
		dprintf(2, "unshare(CLONE_NEWPID): %s", strerror(errno));
		return 1;
	}
	pid_t init = fork();
	if (init < 0)
		return 1;
	if (init == 0) {
		struct clone_args ca;
		pid_t want = 4242, got;
		memset(&ca, 0, sizeof(ca));
		ca.exit_signal = SIGCHLD;
		ca.set_tid = (uintptr_t)&want;
		ca.set_tid_size = 1;
		got = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
		if (got == 0)
			_exit(getpid() == 4242 ? 0 : 1);
		if (got < 0) {
			dprintf(2, "clone3(set_tid=4242): %s", strerror(errno));
			_exit(1);
		}
		int st;
		waitpid(got, &st, 0);
		dprintf(2, "clone3(set_tid=4242) gave pid %d in a new pid namespace", got);
		_exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
	}
	int st;
	waitpid(init, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void probe_userns(struct probe *p)
{
	p->name = "user-namespaces";
	p->ok = in_child(userns_child, p->detail, sizeof(p->detail)) == 0;
	if (geteuid() == 0 && p->ok)
		snprintf(p->detail, sizeof(p->detail), "root: new pid namespace created directly");
	p->verdict = p->ok ? "Namespaces available: durun-restore can give the restored process its old pid without root."
			   : "No user namespaces: unprivileged restores run with --no-pidns and get a new pid (getpid() changes).";
}

static void probe_set_tid(struct probe *p)
{
	p->name = "clone3-set-tid";
	p->ok = in_child(set_tid_child, p->detail, sizeof(p->detail)) == 0;
	p->verdict = p->ok ? "clone3(set_tid) works: restored processes and threads keep their pid and thread ids."
			   : "clone3(set_tid) unavailable: pids/tids change on restore (ns_last_pid fallback needs the same privileges).";
}

static void probe_ptrace(struct probe *p)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
	p->name = "ptrace-scope";
	p->ok = 1;
	if (fd < 0) {
		snprintf(p->detail, sizeof(p->detail), "no Yama LSM: ptrace limited by uid and capabilities only");
	} else {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		if (n > 0 && buf[n - 1] == '\n')
			buf[n - 1] = 0;
		close(fd);
		snprintf(p->detail, sizeof(p->detail), "yama ptrace_scope=%s", buf);
	}
	p->verdict = "Not needed: durun dumps from inside the process (preloaded library), never by ptrace.";
}

int ckpt_check(int json)
{
	struct probe pr[9];
	const int n = (int)(sizeof(pr) / sizeof(pr[0]));
	memset(pr, 0, sizeof(pr));
	probe_uffd(&pr[0]);
	probe_pagemap_scan(&pr[1]);
	probe_soft_dirty(&pr[2]);
	probe_tcp_repair(&pr[3]);
	probe_set_tid(&pr[4]);
	probe_userns(&pr[5]);
	probe_ptrace(&pr[6]);
	probe_posix_timers(&pr[7]);
	probe_kernel_objects(&pr[8]);
	if (json) {
		printf("{\"uid\":%u,\"checks\":[", geteuid());
		for (int i = 0; i < n; i++) {
			printf("%s{\"name\":\"%s\",\"ok\":%s,\"detail\":", i ? "," : "", pr[i].name, pr[i].ok ? "true" : "false");
			json_str(stdout, pr[i].detail);
			printf(",\"verdict\":");
			json_str(stdout, pr[i].verdict);
			printf("}");
		}
		printf("]}\n");
	} else
		for (int i = 0; i < n; i++)
			printf("%-22s %-4s %s\n%22s      (%s)\n", pr[i].name, pr[i].ok ? "yes" : "no", pr[i].verdict, "", pr[i].detail);
	return 0;
}
