/* The short messages: exit, reaped, exec, exec-failed. Each is built on the
 * stack, sized to its content, and sent as one line; errno is preserved. */
#include "preload.h"
#include "wire.h"

#include <errno.h>
#include <unistd.h>

static void send_built(pid_t pid, struct wbuf *b)
{
	if (wb_end(b) == 0)
		link_send(pid, b->mem, b->len);
}

/* {"op":op,"pid":getpid(),k1:v1[,k2:v2]}: the shape of every small message. */
static void send_pid_ints(const char *op, const char *k1, long long v1, const char *k2, long long v2)
{
	int saved = errno;
	char mem[192];
	struct wbuf b;
	wb_init(&b, mem, sizeof mem);
	pid_t pid = durun_getpid();
	wb_begin(&b, op);
	wb_int(&b, "pid", pid);
	wb_int(&b, k1, v1);
	if (k2)
		wb_int(&b, k2, v2);
	send_built(pid, &b);
	errno = saved;
}

void msg_exit(int status)
{
	send_pid_ints("exit", "status", status, NULL, 0);
}

void msg_fork(pid_t child)
{
	send_pid_ints("fork", "child", child, NULL, 0);
}

void msg_reaped(pid_t child, int is_signal, int value)
{
	send_pid_ints("reaped", "child", child, is_signal ? "signal" : "status", value);
}

void msg_exec_failed(int err)
{
	send_pid_ints("exec-failed", "errno", err, NULL, 0);
}

void msg_exec(const char *path, char *const argv[])
{
	int saved = errno;
	size_t need = 160 + wb_escaped_len(path ? path : "");
	for (size_t i = 0; argv && argv[i]; i++)
		need += wb_escaped_len(argv[i]) + 1;
	if (need > DURUN_MSG_MAX)
		need = DURUN_MSG_MAX;
	char mem[need];
	struct wbuf b;
	wb_init(&b, mem, need);
	pid_t pid = durun_getpid();
	wb_begin(&b, "exec");
	wb_int(&b, "pid", pid);
	wb_str(&b, "path", path);
	/* Room for ,"argvTruncated":true}\n when a huge argv is cut short. */
	wb_strv(&b, "argv", argv, 32);
	send_built(pid, &b);
	errno = saved;
}

/* errno is left alone without saving it: nothing here touches it (its
 * page would be one more fault in the fork child). */
int msg_exec_announce(const char *path, char *const argv[])
{
	size_t need = 192 + wb_escaped_len(path ? path : "");
	for (size_t i = 0; argv && argv[i] && need <= DURUN_ANNOUNCE_MAX; i++)
		need += wb_escaped_len(argv[i]) + 1;
	if (need > DURUN_ANNOUNCE_MAX)
		return -1; /* a long argv: the new image registers itself, with all of it */
	char mem[need];
	struct wbuf b;
	wb_init(&b, mem, need);
	wb_begin(&b, "exec");
	wb_int(&b, "pid", durun_getpid());
	wb_str(&b, "path", path);
	wb_int(&b, "execCount", conf.exec_count + 1);
	wb_bool(&b, "lazy", 1);
	wb_strv(&b, "argv", argv, 0);
	return wb_end(&b) == 0 ? link_announce(b.mem, b.len) : -1;
}

void msg_exec_failed_announced(int err)
{
	char mem[128];
	struct wbuf b;
	wb_init(&b, mem, sizeof mem);
	wb_begin(&b, "exec-failed");
	wb_int(&b, "pid", durun_getpid());
	wb_int(&b, "errno", err);
	if (wb_end(&b) == 0)
		link_announce(b.mem, b.len);
}
