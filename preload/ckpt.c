/* Checkpoint requests (ARCHITECTURE.md, "Checkpoint barrier"). They ride on
 * the call-home signal, so loading the library costs no extra syscall: the
 * supervisor writes a `ckpt` line on this process's link and then sends the
 * signal. The handler (callhome.c) finds the line waiting on the link and
 * runs the barrier here; with nothing waiting it calls home as before.
 *
 * Barrier, all on the link, each wait bounded so a dead supervisor never
 * hangs the program:
 *   <- ckpt{id,image,full,snapshot,liveTcp,timeoutMs,goTimeoutMs}
 *                                     -> ckpt-stopped{pid,id}   (all threads parked)
 *   <- ckpt-go                        -> ckpt-captured{stallNs} (snapshot)
 *                                        | ckpt-done{bytes,kind,stallNs} | ckpt-failed{error}
 *   <- ckpt-resume | ckpt-abort       (threads run again, -> ckpt-resumed{pausedNs}; abort of an image
 *                                      written in place deletes it)
 * A snapshot's writer reports on its own link: hello{role:writer,pid,group,id}
 * then ckpt-done{pid,id,bytes,...} | ckpt-failed{error,retryInPlace}.
 * A restored process comes back inside durun_ckpt_dump(): it drops the old
 * link (not in the image), opens a new one and says hello reason "restore".
 *
 * Async-signal-safe: stack buffers, no malloc, errno saved by the caller. */
#include "preload.h"
#include "wire.h"
#include "durun_ckpt.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* An image path plus the small fields of a ckpt line. */
#define CKPT_LINE_MAX (PATH_MAX + 512)
/* How long we wait for the next word when the command gives no timeout. */
#define CKPT_DEFAULT_WAIT_MS 10000

static atomic_int busy;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line from the link into buf (NUL-terminated, newline dropped).
 * 1: a line; 0: none within timeout_ms; -1: link closed or broken. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	for (;;) {
		ssize_t n = recv(fd, buf, cap - 1, MSG_PEEK | MSG_DONTWAIT);
		if (n > 0) {
			char *nl = memchr(buf, '\n', (size_t)n);
			if (nl) {
				size_t len = (size_t)(nl - buf) + 1;
				if (recv(fd, buf, len, MSG_DONTWAIT) != (ssize_t)len)
					return -1;
				buf[len - 1] = '\0';
				return 1;
			}
			if ((size_t)n >= cap - 1)
				return -1; /* longer than any line we expect */
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			return -1;
		}
		long long left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		/* A partial line is ready for POLLIN at once: nap instead of spinning. */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (n > 0)
			poll(NULL, 0, 2);
		else
			poll(&p, 1, (int)left);
	}
}

static int op_is(const char *line, const char *op)
{
	char got[32];
	return json_get_str(line, "op", got, sizeof got) == 0 && strcmp(got, op) == 0;
}

/* Waits for one of ops[] for checkpoint id; returns its index, or -1 when the
 * link broke or nothing came in time (counted as abort). */
static int wait_word(int fd, const char *id, const char *const *ops, int nops, int timeout_ms, char *buf, size_t cap)
{
	long long deadline = mono_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - mono_ms();
		if (left <= 0 || read_line(fd, buf, cap, (int)left) != 1)
			return -1;
		char got[64];
		if (json_get_str(buf, "id", got, sizeof got) < 0 || strcmp(got, id) != 0)
			continue; /* a stale word of an earlier checkpoint */
		for (int i = 0; i < nops; i++)
			if (op_is(buf, ops[i]))
				return i;
	}
}

static void say_on(int fd, pid_t pid, const char *op, const char *id, const struct durun_ckpt_result *res, const char *error)
{
	char mem[640];
	struct wbuf b;
	wb_init(&b, mem, sizeof mem);
	wb_begin(&b, op);
	wb_int(&b, "pid", pid);
	wb_str(&b, "id", id);
	if (res) {
		wb_int(&b, "bytes", (long long)res->bytes);
		wb_str(&b, "kind", res->kind == DURUN_CKPT_KIND_INCR ? "incremental" : "full");
		wb_int(&b, "stallNs", (long long)res->stall_ns);
		wb_int(&b, "pages", (long long)res->pages_written);
		wb_int(&b, "threads", res->nthreads);
		if (res->retry_in_place)
			wb_bool(&b, "retryInPlace", 1);
	}
	if (error)
		wb_str(&b, "error", error);
	if (wb_end(&b) != 0)
		return;
	if (fd < 0)
		link_send(pid, b.mem, b.len);
	else
		wire_send(fd, &b);
}

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* How long this process was held, as it saw it: from its signal to its threads running again. */
static void say_resumed(const char *id, long long paused_ns)
{
	char mem[160];
	struct wbuf b;
	wb_init(&b, mem, sizeof mem);
	wb_begin(&b, "ckpt-resumed");
	wb_int(&b, "pid", getpid());
	wb_str(&b, "id", id);
	wb_int(&b, "pausedNs", paused_ns);
	if (wb_end(&b) == 0)
		link_send(getpid(), b.mem, b.len);
}

static void say(const char *op, const char *id, const struct durun_ckpt_result *res, const char *error)
{
	say_on(-1, getpid(), op, id, res, error);
}

/* A snapshot's writer (a fork child holding the memory as of the barrier,
 * with no other fd than its image). Before it writes, it introduces itself
 * on a link of its own as writer of the member, so the supervisor knows it
 * at once and can tell if it dies; after, it reports there and ends without
 * running anything of the program. */
struct writer { const char *id; pid_t member; int fd; };

static void writer_start(void *arg)
{
	struct writer *w = arg;
	char mem[160 + 64 + PATH_MAX];
	struct wbuf b;
	w->fd = wire_connect_timeout(conf_value(SV_SOCK), DURUN_LINK_FD_MIN, DURUN_LINK_TIMEOUT_MS);
	wb_init(&b, mem, sizeof mem);
	wb_begin(&b, "hello");
	wb_str(&b, "role", "writer");
	wb_int(&b, "pid", w->member);
	wb_str(&b, "group", conf_value(SV_GROUP));
	wb_str(&b, "id", w->id);
	if (w->fd < 0 || wb_end(&b) != 0 || wire_send(w->fd, &b) != 0)
		syscall(SYS_exit_group, 1); /* nobody to report to: the checkpoint is aborted without us */
}

static void writer_end(const struct writer *w, int rc, const struct durun_ckpt_result *res)
{
	say_on(w->fd, w->member, rc == DURUN_CKPT_DUMPED ? "ckpt-done" : "ckpt-failed", w->id, res,
	       rc == DURUN_CKPT_DUMPED ? NULL : res->error[0] ? res->error : "the writer failed");
	syscall(SYS_exit_group, rc == DURUN_CKPT_DUMPED ? 0 : 1);
}

/* The barrier for one command line; fd is the link it came on. The other
 * threads are parked from the moment the command arrives until the group is
 * captured, so no thread of any member runs while another member is taken. */
static void run_barrier(int fd, const char *cmd, char *buf, size_t cap, long long signalled_ns)
{
	char id[64], image[PATH_MAX];
	long long timeout = CKPT_DEFAULT_WAIT_MS, go_timeout = -1;
	int full = 0, snapshot = 0, live_tcp = 0;
	if (json_get_str(cmd, "id", id, sizeof id) < 0)
		return;
	if (json_get_str(cmd, "image", image, sizeof image) < 0) {
		say("ckpt-failed", id, NULL, "ckpt command without an image path");
		return;
	}
	json_get_int(cmd, "timeoutMs", &timeout);
	json_get_int(cmd, "goTimeoutMs", &go_timeout);
	json_get_bool(cmd, "full", &full);
	json_get_bool(cmd, "snapshot", &snapshot);
	json_get_bool(cmd, "liveTcp", &live_tcp); /* a move: connections are carried, frozen until we end */
	if (timeout <= 0 || timeout > INT_MAX)
		timeout = CKPT_DEFAULT_WAIT_MS;
	if (go_timeout <= 0 || go_timeout > timeout)
		go_timeout = timeout;

	struct writer writer = { id, getpid(), -1 };
	struct durun_ckpt_req req = {
		.image_path = image,
		.thread_signal = conf.signo,
		.flags = DURUN_CKPT_TRACK | (full ? DURUN_CKPT_FORCE_FULL : 0) | (snapshot ? DURUN_CKPT_SNAPSHOT_WRITER : 0) |
			 (live_tcp ? DURUN_CKPT_TCP_LIVE : 0),
		.nskip_fds = 1,
		.skip_fds = { fd },
		.writer_start = writer_start,
		.writer_arg = &writer,
		.inotify_path = inotify_path_of,
	};
	struct durun_ckpt_result res;
	if (durun_ckpt_stop(&req, &res) != 0) {
		say("ckpt-failed", id, NULL, res.error[0] ? res.error : "could not stop the threads");
		return;
	}
	say("ckpt-stopped", id, NULL, NULL);
	static const char *const go_ops[] = { "ckpt-go", "ckpt-abort" };
	if (wait_word(fd, id, go_ops, 2, (int)go_timeout, buf, cap) != 0) {
		durun_ckpt_release(&res);
		return; /* aborted, or the supervisor is gone: run on, nothing written */
	}

	int rc = durun_ckpt_dump(&req, &res);
	if (res.in_writer)
		writer_end(&writer, rc, &res); /* does not return */
	switch (rc) {
	case DURUN_CKPT_RESTORED:
		/* The old link is not in the image: forget its number, do not close it. */
		link_forget();
		if (link_reopen() == 0)
			link_hello("restore", 0);
		return;
	case DURUN_CKPT_ERROR:
		durun_ckpt_release(&res);
		say("ckpt-failed", id, NULL, res.error[0] ? res.error : "dump failed");
		return;
	default:
		break;
	}
	/* Captured (its writer is at work) or written: the group runs on once every
	 * member is, on ckpt-resume. */
	say(rc == DURUN_CKPT_SNAPSHOT ? "ckpt-captured" : "ckpt-done", id, &res, NULL);
	static const char *const end_ops[] = { "ckpt-resume", "ckpt-abort" };
	int end = wait_word(fd, id, end_ops, 2, (int)timeout, buf, cap);
	if (durun_ckpt_release(&res) != 0)
		say("ckpt-failed", id, NULL, res.error); /* its writer never started */
	else if (end == 0)
		say_resumed(id, mono_ns() - signalled_ns);
	if (end != 0 && rc == DURUN_CKPT_DUMPED)
		unlink(image); /* aborted or no word: this image must not be used */
}

int ckpt_on_signal(int sig, siginfo_t *info, void *uctx)
{
	if (durun_ckpt_on_signal(sig, info, uctx))
		return 1;
	long long signalled_ns = mono_ns();
	int fd = link_fd();
	if (fd < 0)
		return 0;
	int idle = 0;
	if (!atomic_compare_exchange_strong(&busy, &idle, 1))
		return 1; /* another thread runs a barrier on this link */
	char buf[CKPT_LINE_MAX];
	int handled = 0;
	/* The command is written before the signal is sent, so it is already
	 * here; other lines (an error answer) are skipped. */
	while (read_line(fd, buf, sizeof buf, 0) == 1) {
		if (!op_is(buf, "ckpt"))
			continue;
		char cmd[CKPT_LINE_MAX];
		memcpy(cmd, buf, sizeof cmd);
		run_barrier(link_fd(), cmd, buf, sizeof buf, signalled_ns);
		handled = 1;
		break;
	}
	atomic_store(&busy, 0);
	return handled;
}
