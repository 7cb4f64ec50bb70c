/* Pid fidelity. Log prefix "ns". The restored process must see the same
 * getpid() and getppid() as before. Its old pid is usually taken (or not ours
 * to take) in the current namespace, so durun-restore makes a new pid
 * namespace (inside a new user namespace when not root) and builds this tree:
 *
 *   durun-restore (outer: reports, waits, ends as the program ended)
 *     └─ init, pid 1 of the new namespace (reaps orphans)
 *          └─ parent stand-in, pid = old ppid (only if old ppid != 1)
 *               └─ restored program, pid = old pid (clone3 set_tid)
 *
 * clone3(set_tid) needs CAP_CHECKPOINT_RESTORE in the namespace's owner,
 * which the creator of a user namespace has. If clone3 is missing, writing
 * /proc/sys/kernel/ns_last_pid = pid-1 before fork() is the fallback. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "restore.h"
#include "lazy.h"

static pid_t target_outer_pid;

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

pid_t fork_as(pid_t want)
{
	struct clone_args ca;
	pid_t tid = want;
	long r;

	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r >= 0 || (errno != ENOSYS && errno != E2BIG))
		return (pid_t)r;
	/* fallback: ns_last_pid */
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", want - 1);
	if (write_file("/proc/sys/kernel/ns_last_pid", buf))
		return -1;
	r = fork();
	if (r == 0 && getpid() != want)
		_exit(113);
	return (pid_t)r;
}

int exit_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

/* The signal that killed the restored root, written by the stand-in or init
 * that reaped it, read by the outer durun-restore: a shared page set up
 * before init is forked (the restored process's own mappings are replaced,
 * so it never sees it). Without it the outer could only pass on 128+N, and
 * the runner would take a SIGKILL'ed program for a planned exit(137). */
static int *death_signal;

static int death_note_setup(void)
{
	void *p = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		RERR("ns", errno, "mmap the page that carries the program's death signal");
		return -1;
	}
	death_signal = p;
	return 0;
}

/* Ends the outer durun-restore as the program ended: by the same signal (no
 * core of our own), else with its exit code. */
static void __attribute__((noreturn)) end_like_program(int st)
{
	int sig = death_signal ? __atomic_load_n(death_signal, __ATOMIC_SEQ_CST) : 0;
	if (sig > 0 && sig < NSIG) {
		struct rlimit none = { 0, 0 };
		sigset_t set;
		setrlimit(RLIMIT_CORE, &none);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
	}
	exit(exit_code(st));
}

void wait_and_exit(pid_t child)
{
	for (;;) {
		int st;
		pid_t p = wait(&st);
		if (p == child && WIFSIGNALED(st) && death_signal) {
			int none = 0;
			__atomic_compare_exchange_n(death_signal, &none, WTERMSIG(st), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		}
		if (p == child)
			_exit(exit_code(st));
		if (p < 0 && errno != EINTR)
			_exit(1);
	}
}

static void forward(int sig)
{
	if (target_outer_pid > 0)
		kill(target_outer_pid, sig);
}

const char *rst_step_name(int step)
{
	static const char *names[] = { "?", "unmap", "vdso move", "mmap", "read pages", "mprotect", "start thread", "itimer",
				       "userfaultfd register" };
	return step > 0 && step < 9 ? names[step] : "?";
}

/* The outer durun-restore: learns the program's outer pid (SCM_CREDENTIALS
 * translates it), reports the blob's verdict, waits. */
/* lazy restore: the tree or process failed while its memory streamed in */
void kill_and_exit(pid_t init)
{
	kill(init, SIGKILL);
	while (waitpid(init, NULL, 0) < 0 && errno == EINTR)
		;
	exit(1);
}

/* The outer durun-restore: learns the program's outer pid (SCM_CREDENTIALS
 * translates it), takes its userfaultfd (lazy restore) and serves its page
 * faults from then on, reports the blob's verdict, fills the rest, waits. */
static void __attribute__((noreturn)) outer(const struct loaded_image *li, const struct ropts *o, int sock, pid_t init)
{
	char msg[128];
	struct msghdr mh;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	int have_pid = 0, ok = 0;

	for (;;) {
		int fd, r;
		if (o->lz && (r = lazy_wait_fd(o->lz, sock, 1000)) <= 0) {
			if (r < 0)
				kill_and_exit(init);
			continue;
		}
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = msg;
		iov.iov_len = sizeof(msg) - 1;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		msg[n] = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && !have_pid) {
				struct ucred uc;
				memcpy(&uc, CMSG_DATA(c), sizeof(uc));
				target_outer_pid = uc.pid;
				have_pid = 1;
			}
		fd = lazy_cmsg_fd(&mh);
		if (fd >= 0 && o->lz && !strncmp(msg, "UFFD", 4)) {
			if (lazy_attach(o->lz, 0, fd))
				kill_and_exit(init);
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (!strncmp(msg, "OK", 2)) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			fprintf(stderr, "durun-restore: restored pid %d (pid %d outside its namespace) from %s in %llu ms\n",
				li->h.pid, target_outer_pid, o->image,
				(unsigned long long)(((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - o->t0_ns) / 1000000ull));
			if (o->pidfile) {
				FILE *f = fopen(o->pidfile, "w");
				if (!f || fprintf(f, "%d\n", target_outer_pid) < 0 || fclose(f))
					RERR("ns", errno, "write pidfile %s", o->pidfile);
			}
			ok = 1;
			break;
		}
		if (!strncmp(msg, "ERR ", 4)) {
			int step = 0, e = 0;
			sscanf(msg + 4, "%d %d", &step, &e);
			RERR("ns", e, "restorer failed at step \"%s\" (the address space was already replaced)", rst_step_name(step));
			break;
		}
	}
	close(sock);
	if (ok && o->lz) {
		forward_to(target_outer_pid);
		if (lazy_fill(o->lz))
			kill_and_exit(init);
	}
	forward_and_wait(target_outer_pid, init);
}

void forward_to(pid_t target)
{
	target_outer_pid = target;
	signal(SIGTERM, forward);
	signal(SIGINT, forward);
	signal(SIGHUP, forward);
	signal(SIGQUIT, forward);
}

void forward_and_wait(pid_t target, pid_t init)
{
	int st;
	forward_to(target);
	for (;;) {
		pid_t p = waitpid(init, &st, 0);
		if (p == init)
			end_like_program(st);
		if (p < 0 && errno != EINTR)
			exit(1);
	}
}

int ns_unshare(void)
{
	if (death_note_setup())
		return -1;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];

	if (uid != 0) {
		if (unshare(CLONE_NEWUSER)) {
			RERR("ns", errno, "unshare(CLONE_NEWUSER) (unprivileged user namespaces disabled? use --no-pidns)");
			return -1;
		}
		snprintf(map, sizeof(map), "%u %u 1", uid, uid);
		if (write_file("/proc/self/setgroups", "deny") || write_file("/proc/self/uid_map", map)) {
			RERR("ns", errno, "write uid_map");
			return -1;
		}
		snprintf(map, sizeof(map), "%u %u 1", gid, gid);
		if (write_file("/proc/self/gid_map", map)) {
			RERR("ns", errno, "write gid_map");
			return -1;
		}
	}
	if (unshare(CLONE_NEWPID)) {
		RERR("ns", errno, "unshare(CLONE_NEWPID)");
		return -1;
	}
	return 0;
}

int ns_enter(const struct loaded_image *li, const struct ropts *o, int *status_fd)
{
	int sv[2], one = 1;
	pid_t init, p;

	if (o->no_pidns) {
		fprintf(stderr, "durun-restore: --no-pidns: the restored process gets pid %d instead of %d\n",
			getpid(), li->h.pid);
		*status_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
		return 0;
	}
	if (ns_unshare())
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		RERR("ns", errno, "socketpair");
		return -1;
	}
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one))) {
		RERR("ns", errno, "SO_PASSCRED");
		return -1;
	}
	fflush(NULL);
	init = fork();
	if (init < 0) {
		RERR("ns", errno, "fork namespace init");
		return -1;
	}
	if (init > 0) {
		close(sv[1]);
		outer(li, o, sv[0], init);
	}
	/* pid 1 of the new namespace */
	close(sv[0]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "durun-nsinit");
	if (li->h.ppid > 1 && li->h.ppid != li->h.pid) {
		p = fork_as(li->h.ppid);
		if (p < 0) {
			RERR("ns", errno, "clone3(set_tid=%d) for the parent stand-in", li->h.ppid);
			_exit(1);
		}
		if (p > 0)
			wait_and_exit(p);
		prctl(PR_SET_NAME, "durun-parent");
	}
	p = li->h.pid == 1 ? 0 : fork_as(li->h.pid);
	if (p < 0) {
		RERR("ns", errno, "clone3(set_tid=%d) for the restored process", li->h.pid);
		_exit(1);
	}
	if (p > 0)
		wait_and_exit(p);
	/* the restored process: tell the outer one who we are (credentials ride along) */
	if (send(sv[1], "PID", 3, 0) != 3) {
		RERR("ns", errno, "send status");
		_exit(1);
	}
	*status_fd = sv[1];
	return 0;
}
