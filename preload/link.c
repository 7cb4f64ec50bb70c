/* The link: this process's one connection to the supervisor.
 *
 * The fd lives in one atomic int. Reconnecting (fork child, call-home
 * signal) opens the new socket first and swaps it in, then closes the old
 * one, so a sender on another thread uses either the old or the new link and
 * never blocks on a lock a signal handler might be waiting for. A message is
 * always one send() of one whole line, so lines of concurrent senders never
 * interleave. */
#include "preload.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int link_cur = -1;
/* A silent fork child's copy of its parent's link, kept (never read) only
 * to announce an exec on it; closed when the child registers, and by the
 * kernel at exec (close-on-exec). -1: none. */
static _Atomic int inherited = -1;

int link_fd(void)
{
	return atomic_load_explicit(&link_cur, memory_order_acquire);
}

/* Swaps in fd (or -1) and closes the previous link. */
static void link_replace(int fd)
{
	int old = atomic_exchange(&link_cur, fd);
	fdguard_forget();
	/* Our own fd: the raw call, which leaves errno alone (a fork child
	 * drops the inherited link here without touching libc). */
	if (old >= 0)
		sys1(SYS_close, old);
}

int link_reopen(void)
{
	int saved = errno;
	int fd = wire_connect_timeout(conf_value(SV_SOCK), DURUN_LINK_FD_MIN, DURUN_LINK_TIMEOUT_MS);
	link_replace(fd >= 0 ? fd : -1);
	errno = saved;
	return fd >= 0 ? 0 : -1;
}

void link_forget(void)
{
	atomic_store(&link_cur, -1);
	fdguard_forget();
}

int link_move_off(int fd)
{
	int cur = link_fd();
	if (cur < 0 || cur != fd)
		return cur;
	/* Out of fds: give the link up rather than send into the program's fd. */
	int moved = wire_high_fd(cur, DURUN_LINK_FD_MIN);
	if (atomic_compare_exchange_strong(&link_cur, &cur, moved < 0 ? -1 : moved)) {
		fdguard_forget();
		return moved;
	}
	/* Lost a race with a reconnect: cur is already gone, keep the new link. */
	if (moved >= 0)
		REAL(close)(moved);
	return link_fd();
}

/* One line on the link as it is now; a dead supervisor's link is replaced
 * (hello "callhome") and the line sent again. */
static void send_now(const char *line, size_t len)
{
	int fd = link_fd();
	if (fd < 0)
		return;
	int saved = errno;
	struct wbuf b = { (char *)line, len, len, 0 };
	int rc = wire_send(fd, &b);
	/* The supervisor that held this link died and another may be up: open a
	 * new link, introduce ourselves again, then resend, so a report (an exit,
	 * a child reaped) is not lost before the call-home signal arrives. Once
	 * only: the hello itself must not recurse. */
	static DURUN_TLS int resending;
	if ((rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN) && !resending) {
		resending = 1;
		if (link_reopen() == 0) {
			link_hello("callhome", 0);
			int nfd = link_fd();
			if (nfd >= 0)
				wire_send(nfd, &b);
		}
		resending = 0;
	}
	errno = saved;
}

void link_defer(pid_t parent)
{
	/* A child forked by a silent child gets no copy: its parent's link
	 * is not open yet, and the grandparent's would not prove it. */
	int older = atomic_exchange(&inherited, atomic_exchange(&link_cur, -1));
	if (older >= 0)
		sys1(SYS_close, older);
	atomic_store_explicit(&conf.lazy_parent, parent, memory_order_relaxed);
}

void link_drop_inherited(void)
{
	int fd = atomic_exchange(&inherited, -1);
	if (fd >= 0)
		sys1(SYS_close, fd);
}

int link_inherited_fd(void)
{
	return atomic_load_explicit(&inherited, memory_order_relaxed);
}

int link_announce(const char *line, size_t len)
{
	/* One raw send, errno untouched: a fork child about to exec should
	 * not fault in libc's send and errno pages for this. A short send
	 * (only with a full socket buffer) leaves a partial line: the
	 * supervisor drops the link's garbled line, and the new image
	 * registers itself. */
	int fd = atomic_load(&inherited);
	if (fd < 0)
		return -1;
	long n;
	do
		n = sys6(SYS_sendto, fd, (long)line, (long)len, MSG_NOSIGNAL, 0, 0);
	while (n == -EINTR);
	return n == (long)len ? 0 : -1;
}

/* A deferred fork child (hello "fork", as its parent's child) or a lazy
 * image (hello "load", as it would have said at load) registers now. Two
 * threads (or a signal handler) racing here may both connect: the later
 * link replaces the earlier, and the supervisor takes the second hello for
 * the same process. */
int link_register_pending(void)
{
	pid_t parent = atomic_load(&conf.lazy_parent);
	int lazy = atomic_load(&conf.lazy_image);
	if (!parent && !lazy)
		return 0;
	int saved = errno;
	link_drop_inherited();
	if (parent)
		conf.started_ms = now_ms();
	if (link_reopen() == 0)
		link_hello(parent ? "fork" : "load", parent);
	atomic_compare_exchange_strong(&conf.lazy_parent, &parent, 0);
	atomic_store(&conf.lazy_image, 0);
	errno = saved;
	return 1;
}

void link_register_now(pid_t pid)
{
	if (pid != conf.pid)
		fork_child();
	else
		link_register_pending();
}

void link_send(pid_t pid, const char *line, size_t len)
{
	link_register_now(pid);
	send_now(line, len);
}

static size_t argv_len(char *const *argv)
{
	size_t n = 0;
	for (size_t i = 0; argv && argv[i]; i++)
		n += wb_escaped_len(argv[i]) + 1;
	return n;
}

void link_hello(const char *reason, pid_t ppid)
{
	/* Most cwds are short: a small buffer first keeps this frame within the
	 * stack pages already touched (each new page is a fault, dear in VMs).
	 * The raw syscall: glibc's getcwd may fall back to opendir + malloc. */
	char small[256];
	int saved = errno;
	int fits = syscall(SYS_getcwd, small, sizeof small) >= 0;
	errno = saved;
	char big[fits ? 1 : PATH_MAX];
	char *cwd = fits ? small : big;
	if (!fits && syscall(SYS_getcwd, big, sizeof big) < 0)
		big[0] = '\0';
	errno = saved;
	const char *exe = conf.exe;

	/* Sized to the message, not DURUN_MSG_MAX: this runs in signal
	 * handlers on whatever stack the interrupted thread has. */
	size_t need = 512 + wb_escaped_len(exe) + wb_escaped_len(cwd) + argv_len(conf.argv);
	need += conf_value(SV_GROUP) ? wb_escaped_len(conf_value(SV_GROUP)) : 4;
	if (need > DURUN_MSG_MAX)
		need = DURUN_MSG_MAX;
	char mem[need];
	struct wbuf b;
	wb_init(&b, mem, need);
	wb_begin(&b, "hello");
	wb_str(&b, "role", "proc");
	pid_t pid = durun_getpid();
	wb_int(&b, "pid", pid);
	wb_int(&b, "ppid", ppid ? ppid : durun_getppid());
	wb_str(&b, "group", conf_value(SV_GROUP));
	wb_int(&b, "program", conf.program);
	wb_int(&b, "instance", conf.instance);
	wb_int(&b, "execCount", conf.exec_count);
	wb_str(&b, "reason", reason);
	wb_int(&b, "startedAt", conf.started_ms);
	wb_str(&b, "exe", exe);
	wb_str(&b, "cwd", cwd);
	/* Last, so a huge argv is cut short instead of losing the message. */
	wb_strv(&b, "argv", conf.argv, 32);
	if (wb_end(&b) != 0)
		return;
	/* Registered now, whatever the reason: no longer a deferred fork child
	 * nor a lazy image. */
	if (link_deferred())
		atomic_store(&conf.lazy_parent, 0);
	if (atomic_load_explicit(&conf.lazy_image, memory_order_relaxed))
		atomic_store(&conf.lazy_image, 0);
	link_drop_inherited();
	if (pid != conf.pid)
		conf.pid = pid; /* a fork nobody saw, found by a signal handler's hello */
	send_now(b.mem, b.len);
}
